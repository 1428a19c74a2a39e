"""``FakeProvider`` (alias ``FakePlivo``): the configuration of a simulated provider stream,
and the ways to run it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, Literal

import attrs
import trio

from ..._exceptions import CallClosed, ConfigurationError
from ..._format import AudioFormat
from ...protocol import parse_extra_headers
from ...transport import MessageTransport, memory_transport_pair
from ._caller_audio import CallerAudio
from ._faults import Faults
from ._providers import ProviderSpec, provider_spec
from ._report import CallReport
from ._session import Session

__all__ = ["App", "FakePlivo", "FakeProvider"]

#: An application under test: it is handed its end of the stream and runs the call.
App = Callable[[MessageTransport], Awaitable[None]]

_DTMF_DIGIT: Final = re.compile(r"[0-9A-D*#]")
_TRACKS: Final = frozenset({"inbound", "outbound"})


def _provider_name(value: str) -> str:
    return provider_spec(value).name


def _default_format(instance: FakeProvider) -> AudioFormat:
    return provider_spec(instance.provider).default_format


def _default_end(instance: FakeProvider) -> Literal["stop", "close"]:
    return provider_spec(instance.provider).default_end


def _check_format(
    instance: FakeProvider, attribute: attrs.Attribute[AudioFormat], value: AudioFormat
) -> None:
    provider_spec(instance.provider).check_format(value)


def _check_end(instance: FakeProvider, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("stop", "close"):
        raise ValueError(f"end must be 'stop' or 'close', got {value!r}")
    spec = provider_spec(instance.provider)
    if value == "stop" and not spec.can_stop:
        raise ConfigurationError(
            f"{spec.title} has no stop message (it closes the socket): use end='close'"
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
class FakeProvider:
    """A telephony provider's side of one audio stream, for tests and load runs.

    ``provider`` picks whose protocol it speaks (any name of
    :data:`trio_plivo.protocol.PROVIDERS` but ``"auto"``; default ``"plivo"``, and
    :data:`FakePlivo` is this same class). It sends the provider's opening messages, then the
    caller's audio in the provider's packets (20 ms; Exotel 100 ms; KooKoo 10 ms sample
    arrays; Vonage binary frames) paced on the Trio clock (real time normally, instant under
    ``trio.testing.MockClock``), presses keys as DTMF events (KooKoo: as tones in the audio),
    plays whatever the app sends through a model of the provider's playout buffer,
    acknowledges marks and clears with that provider's semantics, checks every message
    strictly, and returns a :class:`CallReport`.

    The same instance can run many calls; each run gets fresh ids unless ``call_id`` /
    ``stream_id`` are fixed (KooKoo's ``ucid`` is both: ``call_id`` wins).

    How long the call lasts: ``duration`` seconds if given (caller audio is padded with
    silence or cut); otherwise as long as ``audio`` (no ``audio``: an open, silent line
    until the app hangs up, which is also what ``duration=math.inf`` gives). The app closing
    the socket or hanging up in-stream (KooKoo), or an injected disconnect, ends it early.
    """

    #: Whose protocol to speak (case-insensitive; ``ozonetel`` and ``nexmo`` are aliases).
    provider: str = attrs.field(default="plivo", converter=_provider_name)
    #: The negotiated media format (Plivo's ``start.mediaFormat``); must be one the provider
    #: streams. Default: µ-law 8 kHz, or L16 8 kHz (Exotel, KooKoo), 16 kHz (Vonage).
    format: AudioFormat = attrs.field(
        default=attrs.Factory(_default_format, takes_self=True), validator=_check_format
    )
    #: What the caller says; ``None`` streams silence.
    audio: CallerAudio | None = None
    #: Call length in seconds, see above.
    duration: float | None = None
    #: ``(digit, seconds)`` pairs: the caller presses ``digit`` at that time.
    dtmf: tuple[tuple[str, float], ...] = attrs.field(default=(), converter=_dtmf_schedule)
    #: How the simulator ends the call: ``"stop"`` sends the provider's ``stop`` message,
    #: waits up to ``stop_linger`` seconds for the app to close, then closes; ``"close"`` just
    #: closes. Default: ``"close"`` for Plivo (what its documentation describes) and Vonage
    #: (which has no stop message), ``"stop"`` for the others.
    end: Literal["stop", "close"] = attrs.field(
        default=attrs.Factory(_default_end, takes_self=True), validator=_check_end
    )
    stop_linger: float = 0.5
    #: Messages arriving up to this long after ``stop`` was sent were already on their way
    #: (the app cannot stop what it sent before the ``stop`` reached it): they are dropped,
    #: not reported as violations. Later ones are ``after_stop`` violations.
    stop_grace: float = 0.1
    call_id: str | None = None
    stream_id: str | None = None
    account_id: str = "MAFAKEPLIVO000000001"
    tracks: tuple[str, ...] = attrs.field(default=("inbound",), converter=_tracks)
    #: Plivo's ``extra_headers`` string (``k=v;k=v``), or a mapping to format as one; for
    #: the other providers, the custom parameters / headers they carry (a string is parsed).
    extra_headers: Mapping[str, str] | str | None = None
    #: Fault injection (nothing by default).
    faults: Faults = attrs.field(factory=Faults)
    #: Seconds audio keeps playing after a clear arrives (the provider's processing time).
    clear_latency: float = 0.0
    #: Silences at least this long are pauses between phrases, not audible gaps.
    phrase_gap: float = 0.5
    #: Times the caller starts talking over the bot; the report says how long the bot went on.
    barge_in_at: tuple[float, ...] = attrs.field(default=(), converter=_floats)
    #: Record every audio message, both ways, in :attr:`CallReport.events` (off for load runs).
    record_media_events: bool = True
    #: Epoch ms of the first frame (Plivo's ``media.timestamp``, KooKoo's ack timestamps).
    timestamp_origin_ms: int = 1_700_000_000_000
    #: After the call, how long :meth:`run` waits for the app to return before cancelling it.
    app_exit_timeout: float = 5.0

    @property
    def extra_headers_text(self) -> str | None:
        """``extra_headers`` as it goes on the wire."""
        if self.extra_headers is None or isinstance(self.extra_headers, str):
            return self.extra_headers
        return ";".join(f"{key}={value}" for key, value in self.extra_headers.items())

    @property
    def extra_headers_map(self) -> dict[str, str]:
        """``extra_headers`` as a mapping (how providers other than Plivo send them)."""
        return parse_extra_headers(self.extra_headers)

    @property
    def spec(self) -> ProviderSpec:
        """What the simulator knows about :attr:`provider` (formats, defaults, wire)."""
        return provider_spec(self.provider)

    async def run_on(self, transport: MessageTransport) -> CallReport:
        """Run one stream over ``transport`` (already connected to the app) and report.

        The transport is always closed when this returns.
        """
        spec = self.spec
        call_id = self.call_id
        if call_id is None and spec.stream_is_call:
            call_id = self.stream_id
        call_id = call_id or spec.new_call_id()
        stream_id = call_id if spec.stream_is_call else self.stream_id or spec.new_stream_id()
        session = Session(fake=self, transport=transport, call_id=call_id, stream_id=stream_id)
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
        """Connect to the app's WebSocket ``url`` as the provider does (it is the client) and
        run one stream over it. ``headers`` go on the upgrade request."""
        from ...ws import connect_websocket  # the I/O driver only when it is used

        return await self.run_on(await connect_websocket(url, headers=headers))


async def _run_app(app: App, transport: MessageTransport) -> None:
    try:
        await app(transport)
    except* CallClosed:
        pass  # the hang-up reached the app (maybe through its own nursery); the report has it
    finally:
        with trio.CancelScope(shield=True):
            await transport.aclose()


#: The name the simulator had when it spoke Plivo only: the same class, ``provider="plivo"``
#: by default.
FakePlivo = FakeProvider
