"""``FakePlivo``: the configuration of a simulated Plivo stream, and the ways to run it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, Literal

import attrs
import trio

from .._exceptions import CallClosed, ConfigurationError
from .._format import L16_8K, L16_16K, MULAW_8K, AudioFormat
from ..transport import MessageTransport, memory_transport_pair
from ._caller_audio import CallerAudio
from ._faults import Faults
from ._report import CallReport
from ._session import Session

__all__ = ["App", "FakePlivo"]

#: An application under test: it is handed its end of the stream and runs the call.
App = Callable[[MessageTransport], Awaitable[None]]

_PLIVO_FORMATS: Final = (MULAW_8K, L16_8K, L16_16K)
_DTMF_DIGIT: Final = re.compile(r"[0-9A-D*#]")
_TRACKS: Final = frozenset({"inbound", "outbound"})


def _check_format(
    instance: object, attribute: attrs.Attribute[AudioFormat], value: AudioFormat
) -> None:
    if value not in _PLIVO_FORMATS:
        raise ConfigurationError(
            f"Plivo streams µ-law 8 kHz, L16 8 kHz or L16 16 kHz, not {value.to_content_type()}"
        )


def _dtmf_schedule(value: Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    schedule = tuple((str(digit), float(at)) for digit, at in value)
    for digit, at in schedule:
        if not _DTMF_DIGIT.fullmatch(digit):
            raise ConfigurationError(f"DTMF digit {digit!r} is not one of 0-9 A-D * #")
        if at < 0:
            raise ConfigurationError(f"DTMF time {at} is before the stream starts")
    return schedule


def _floats(value: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in value)


def _tracks(value: Sequence[str]) -> tuple[str, ...]:
    tracks = tuple(value)
    if not tracks or not set(tracks) <= _TRACKS:
        raise ConfigurationError(f"tracks must be 'inbound' and/or 'outbound', got {tracks!r}")
    return tracks


@attrs.frozen(kw_only=True)
class FakePlivo:
    """Plivo's side of one audio stream, for tests and load runs.

    It sends ``start`` then the caller's audio as 20 ms ``media`` frames paced on the Trio
    clock (real time normally, instant under ``trio.testing.MockClock``), plays whatever the
    app sends through a model of Plivo's playout buffer, answers checkpoints and clears as
    Plivo does, checks every message strictly, and returns a :class:`CallReport`.

    The same instance can run many calls; each run gets fresh ids unless ``call_id`` /
    ``stream_id`` are fixed.

    How long the call lasts: ``duration`` seconds if given (caller audio is padded with
    silence or cut); otherwise as long as ``audio`` (no ``audio``: an open, silent line
    until the app hangs up, which is also what ``duration=math.inf`` gives). The app closing
    the socket, or an injected disconnect, ends it early.
    """

    #: The negotiated media format (``start.mediaFormat``).
    format: AudioFormat = attrs.field(default=MULAW_8K, validator=_check_format)
    #: What the caller says; ``None`` streams silence.
    audio: CallerAudio | None = None
    #: Call length in seconds, see above.
    duration: float | None = None
    #: ``(digit, seconds)`` pairs: the caller presses ``digit`` at that time.
    dtmf: tuple[tuple[str, float], ...] = attrs.field(default=(), converter=_dtmf_schedule)
    #: How the simulator ends the call: ``"stop"`` sends a ``stop`` message, waits up to
    #: ``stop_linger`` seconds for the app to close, then closes; ``"close"`` just closes
    #: (what Plivo's documentation describes).
    end: Literal["stop", "close"] = attrs.field(
        default="close", validator=attrs.validators.in_(("stop", "close"))
    )
    stop_linger: float = 0.5
    call_id: str | None = None
    stream_id: str | None = None
    account_id: str = "MAFAKEPLIVO000000001"
    tracks: tuple[str, ...] = attrs.field(default=("inbound",), converter=_tracks)
    #: The ``extra_headers`` string (``k=v;k=v``), or a mapping to format as one.
    extra_headers: Mapping[str, str] | str | None = None
    #: Fault injection (nothing by default).
    faults: Faults = attrs.field(factory=Faults)
    #: Seconds audio keeps playing after a ``clearAudio`` arrives (Plivo's processing time).
    clear_latency: float = 0.0
    #: Silences at least this long are pauses between phrases, not audible gaps.
    phrase_gap: float = 0.5
    #: Times the caller starts talking over the bot; the report says how long the bot went on.
    barge_in_at: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    #: Record every ``media``/``playAudio`` in :attr:`CallReport.events` (off for load runs).
    record_media_events: bool = True
    #: ``media.timestamp`` of the first frame, in ms (Plivo sends epoch milliseconds).
    timestamp_origin_ms: int = 1_700_000_000_000
    #: After the call, how long :meth:`run` waits for the app to return before cancelling it.
    app_exit_timeout: float = 5.0

    @property
    def extra_headers_text(self) -> str | None:
        """``extra_headers`` as it goes on the wire."""
        if self.extra_headers is None or isinstance(self.extra_headers, str):
            return self.extra_headers
        return ";".join(f"{key}={value}" for key, value in self.extra_headers.items())

    async def run_on(self, transport: MessageTransport) -> CallReport:
        """Run one stream over ``transport`` (already connected to the app) and report.

        The transport is always closed when this returns.
        """
        session = Session(
            fake=self,
            transport=transport,
            call_id=self.call_id or str(uuid.uuid4()),
            stream_id=self.stream_id or str(uuid.uuid4()),
        )
        return await session.run()

    async def run(self, app: App) -> CallReport:
        """Run ``app`` against this simulator in memory and report.

        ``app`` gets its end of an in-memory transport. When it returns, its end is closed
        (as a WebSocket server would); ``CallClosed`` raised by it after the call ended is the
        normal way a raw app notices the hang-up and is not an error. Any other exception
        propagates.
        """
        ours, theirs = memory_transport_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_run_app, app, theirs)
            report = await self.run_on(ours)
            nursery.cancel_scope.deadline = trio.current_time() + self.app_exit_timeout
        return report

    async def run_url(
        self, url: str, *, headers: Mapping[str, str] | Sequence[tuple[str, str]] = ()
    ) -> CallReport:
        """Connect to the app's WebSocket ``url`` as Plivo does (Plivo is the client) and run
        one stream over it. ``headers`` go on the upgrade request."""
        from ..ws import connect_websocket  # the I/O driver only when it is used

        return await self.run_on(await connect_websocket(url, headers=headers))


async def _run_app(app: App, transport: MessageTransport) -> None:
    try:
        await app(transport)
    except* CallClosed:
        pass  # the hang-up reached the app (maybe through its own nursery); the report has it
    finally:
        with trio.CancelScope(shield=True):
            await transport.aclose()
