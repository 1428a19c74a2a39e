"""Vonage's side of the wire (``../shared/protocols.md`` §6).

Vonage opens with a ``websocket:connected`` JSON message carrying the content type and the
NCCO headers flattened, then sends the caller's audio as **binary** frames of raw PCM16 LE,
20 ms each. The app answers with binary frames of the same shape, ``{"action":"notify",
"payload":{...}}`` (echoed back as ``websocket:notify`` with the same payload once the audio
before it has played) and ``{"action":"clear"}`` (answered with ``websocket:cleared``; the
notifies it made moot are never echoed). Vonage has no stop message: it closes the socket.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import orjson

from ._validate import (
    HARMLESS,
    AppCommand,
    CheckedMessage,
    CheckpointCommand,
    ClearAudioCommand,
    PlayAudioCommand,
    Problem,
    ViolationKind,
    absent_or_wrong,
    check_pcm16_frame,
)
from ._wire import CommandWire, WireMessage, WireSetup

__all__ = ["VonageWire"]

_ACTION_KEYS = {"clear": frozenset({"action"}), "notify": frozenset({"action", "payload"})}


class VonageWire(CommandWire):
    """Vonage's side of one WebSocket call leg."""

    provider = "vonage"
    COMMAND_KEY = "action"
    COMMANDS = _ACTION_KEYS
    TITLE = "Vonage"

    def __init__(self, setup: WireSetup) -> None:
        super().__init__(setup)
        # Each notify's payload, by the name it is tracked under, to echo it verbatim.
        self._payloads: dict[str, deque[object]] = {}

    def opening(self) -> list[WireMessage]:
        setup = self.setup
        fmt = setup.format
        # Vonage flattens the NCCO endpoint's headers into this message; a "uuid" header is
        # how an app learns the call's id (the codec looks for it).
        connected: dict[str, object] = {
            "content-type": f"audio/l16;rate={fmt.sample_rate}",
            "uuid": setup.call_id,
            **setup.headers,
        }
        return [WireMessage("websocket:connected", connected, sequenced=False)]

    def media(self, chunk: int, at: float, payload: bytes) -> WireMessage:
        return WireMessage("media", payload)

    def dtmf(self, digit: str, at: float) -> WireMessage:
        return WireMessage("websocket:dtmf", {"digit": digit, "duration": 100})

    def played(self, name: str, at: float) -> WireMessage:
        return WireMessage("websocket:notify", {"payload": self._pop_payload(name)})

    def _pop_payload(self, name: str) -> object:
        queue = self._payloads[name]
        payload = queue.popleft()
        if not queue:
            del self._payloads[name]
        return payload

    def cleared(self, dropped: Sequence[str]) -> list[WireMessage]:
        for name in dropped:
            self._pop_payload(name)
        return [WireMessage("websocket:cleared", {})]

    def stop(self) -> WireMessage | None:
        return None

    def check_command(
        self, action: str, data: dict[str, object], problems: list[Problem]
    ) -> CheckedMessage:
        command: AppCommand | None = ClearAudioCommand()
        if action == "notify":
            command = None
            payload = data.get("payload")
            if not isinstance(payload, dict):
                problems.append(
                    Problem(absent_or_wrong(payload), "notify needs a 'payload' object")
                )
            elif not any(p.kind not in HARMLESS for p in problems):
                name = payload.get("name")
                if not isinstance(name, str) or not name:
                    name = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
                self._payloads.setdefault(name, deque()).append(payload)
                command = CheckpointCommand(name)
        if any(p.kind not in HARMLESS for p in problems):
            command = None
        return CheckedMessage(event=action, data=data, command=command, problems=tuple(problems))

    def check_audio(self, audio: bytes) -> CheckedMessage:
        fmt = self.setup.format
        problems: list[Problem] = []
        if (rejection := check_pcm16_frame(audio, "media")) is not None:
            return rejection
        frame = fmt.bytes_for(self.frame_ms)
        if len(audio) != frame:
            problems.append(
                Problem(
                    ViolationKind.WRONG_CHUNK_SIZE,
                    f"binary frame of {len(audio)} bytes: Vonage takes 20 ms frames "
                    f"({frame} bytes at {fmt.sample_rate} Hz)",
                )
            )
        return CheckedMessage(
            event="media", data=None, command=PlayAudioCommand(audio), problems=tuple(problems)
        )
