"""The caller's half of a simulated stream: the opening, the media clock, scripted key
presses and the scripted end. :class:`~._session.Session` adds the app's half (reading and
checking the app's messages, acknowledging what played) and the report."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Literal

import trio

from ._caller_audio import CallerAudio
from ._faults import MediaScheduler
from ._packets import InbandDtmf, Packetizer
from ._pcm import FRAME_SECONDS, frame_bytes, silence
from ._report import Direction, SentDtmf
from ._script import CallScript
from ._session_report import Counters
from ._wire import ProviderWire, WireMessage

if TYPE_CHECKING:
    from ...transport import Message

__all__ = ["CallerSide", "EndReason"]

_MALFORMED = '{"event": "media", "sequenceNumber": '  # cut short: not JSON
_BINARY = b"\x00\x01\x02\x03"

EndReason = Literal["caller_done", "duration", "app_closed", "app_hangup", "disconnect"]


class CallerSide:
    """Mixed into :class:`~._session.Session`, whose state and sending it uses."""

    if TYPE_CHECKING:
        fake: CallScript
        _wire: ProviderWire
        _tones: InbandDtmf | None
        _t0: float
        _counters: Counters
        _sent_dtmf: list[SentDtmf]

        def _now(self) -> float: ...
        def _end(self, reason: EndReason) -> None: ...
        async def _send(self, message: WireMessage, *, record: bool = True) -> bool: ...
        async def _send_raw(self, message: Message, label: str) -> None: ...
        def _record(self, at: float, direction: Direction, event: str, message: object) -> None: ...

    async def _send_start(self) -> bool:
        for message in self._wire.opening():
            if not await self._send(message):
                return False
        return True

    # ---------------------------------------------------------------- caller side

    async def _media(self) -> None:
        fake = self.fake
        fmt = fake.format
        sends_media = "inbound" in fake.tracks
        # No caller audio given: an open line, silent until someone hangs up.
        cursor = (fake.audio or CallerAudio.silence(math.inf)).open(fmt)
        scheduler = MediaScheduler[tuple[int, bytes]](fake.faults)
        packetizer = Packetizer(fmt, self._wire.frame_ms)
        packet_seconds = self._wire.frame_ms / 1000
        blank = silence(fmt, frame_bytes(fmt))
        chunk = 0
        ideal = 0.0
        try:
            while fake.duration is None or chunk * FRAME_SECONDS < fake.duration - 1e-9:
                frame = await cursor.next_frame()
                if frame is None:
                    if fake.duration is None:
                        break
                    frame = blank
                chunk += 1
                ideal = (chunk - 1) * FRAME_SECONDS
                if not sends_media:
                    await trio.sleep_until(self._t0 + ideal)
                    continue
                if self._tones is not None:
                    frame = self._tones.apply(frame, ideal)
                for number, packet in packetizer.push(frame):
                    # A packet goes out once its audio exists: a 100 ms one with its last
                    # frame, the second 10 ms half of a frame 10 ms after the first.
                    when = max(ideal, (number - 1) * packet_seconds)
                    for at, item in scheduler.schedule((number, packet), when):
                        await self._send_media_at(at, *item)
            for number, packet in packetizer.flush():
                for at, item in scheduler.schedule((number, packet), ideal):
                    await self._send_media_at(at, *item)
            for when, (number, payload) in scheduler.flush():
                await self._send_media_at(when, number, payload)
        finally:
            with trio.CancelScope(shield=True):
                await cursor.aclose()
        # The caller is done once their last frame has had its 20 ms.
        await trio.sleep_until(self._t0 + chunk * FRAME_SECONDS)
        if fake.duration is None:
            self._end("caller_done")

    async def _send_media_at(self, when: float, chunk: int, frame: bytes) -> None:
        await trio.sleep_until(self._t0 + when)
        message = self._wire.media(chunk, (chunk - 1) * self._wire.frame_ms / 1000, frame)
        if await self._send(message, record=self.fake.record_media_events):
            self._counters.media_sent += 1

    async def _timers(self) -> None:
        fake = self.fake
        faults = fake.faults
        async with trio.open_nursery() as nursery:
            if fake.duration is not None:
                nursery.start_soon(self._at, fake.duration, partial(self._end_now, "duration"))
            if faults.disconnect_at is not None:
                nursery.start_soon(
                    self._at, faults.disconnect_at, partial(self._end_now, "disconnect")
                )
            for digit, at in fake.dtmf:
                nursery.start_soon(self._at, at, partial(self._send_dtmf, digit))
            for at in faults.malformed_at:
                nursery.start_soon(self._at, at, partial(self._send_raw, _MALFORMED, "<invalid>"))
            for at in faults.binary_at:
                nursery.start_soon(self._at, at, partial(self._send_raw, _BINARY, "<binary>"))

    async def _at(self, at: float, action: Callable[[], Awaitable[object]]) -> None:
        await trio.sleep_until(self._t0 + at)
        await action()

    async def _end_now(self, reason: EndReason) -> None:
        self._end(reason)
        await trio.lowlevel.checkpoint()

    async def _send_dtmf(self, digit: str) -> None:
        if self._tones is not None:
            # The tone is already in the caller's audio; the report still shows the press.
            self._record(self._now(), "to_app", "<dtmf tone>", {"digit": digit})
            self._counters.dtmf_sent += 1
            self._counters.keys_pressed += digit
            await trio.lowlevel.checkpoint()
        elif await self._send(self._wire.dtmf(digit, self._now())):
            self._counters.dtmf_sent += 1
            self._counters.keys_pressed += digit

    # ---------------------------------------------------------------- app side
