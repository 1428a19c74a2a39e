"""The simulator's provider seam: a provider's side of the wire, sans-IO.

The codecs in :mod:`trio_plivo.protocol` are the *application's* side of each provider's
protocol; a :class:`ProviderWire` is the mirror image, what the simulated provider sends and
what it accepts. The session (``_session.py``) owns the clock, the socket and the playout
model and asks the wire only to build messages and to judge the app's: one implementation per
provider (``_wire_plivo.py``, ``_wire_twilio.py``, ``_wire_vonage.py``, ``_wire_kookoo.py``),
no sockets and no trio here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Protocol

import attrs

from ..._format import AudioFormat
from ...transport import Message
from ._validate import CheckedMessage, Problem, decode_command

__all__ = [
    "CommandWire",
    "JsonWire",
    "ProviderWire",
    "WireMessage",
    "WireSetup",
    "epoch_ms",
]


@attrs.frozen
class WireSetup:
    """What a wire needs to know about the stream it speaks for."""

    format: AudioFormat
    call_id: str
    stream_id: str
    account_id: str
    tracks: tuple[str, ...]
    #: Custom headers / parameters as a mapping (every provider but Plivo sends them so).
    headers: Mapping[str, str]
    #: Plivo's ``extra_headers`` string as it goes on the wire.
    headers_text: str | None
    #: Epoch milliseconds of the stream's start (Plivo and KooKoo timestamps are epoch ms).
    timestamp_origin_ms: int


@attrs.frozen
class WireMessage:
    """One message the simulated provider sends, before the session numbers it.

    ``event`` is the name recorded in the report; ``body`` the rest of a JSON object (the
    wire adds ``event`` and the sequence number) or a binary frame. ``sequenced=False`` for
    messages the provider does not number (Twilio's ``connected``).
    """

    event: str
    body: Mapping[str, object] | bytes
    sequenced: bool = True


class ProviderWire(Protocol):
    """A provider's side of one stream: message builders, and the judge of the app's messages.

    Stateful per stream (sequence numbers, KooKoo's and Vonage's pending acknowledgements),
    so the session makes one per run.
    """

    #: Registry name of the provider (``"plivo"``, ``"twilio"`` ...).
    provider: str
    #: Caller audio goes out in packets of this many milliseconds.
    frame_ms: int
    #: The provider reports key presses as events; when False the caller's key presses are
    #: DTMF tones in the audio.
    has_dtmf_events: bool
    #: The event name of the app's audio messages (only recorded with ``record_media_events``).
    play_event: str
    #: Marks pending when the app clears audio are acknowledged at once (Twilio echoes them)
    #: rather than never.
    acks_cleared_marks: bool

    def opening(self) -> list[WireMessage]:
        """The messages that open the stream (``connected``, ``start`` ...)."""
        ...

    def media(self, chunk: int, at: float, payload: bytes) -> WireMessage:
        """Caller audio packet number ``chunk`` (from 1), starting ``at`` seconds in."""
        ...

    def dtmf(self, digit: str, at: float) -> WireMessage:
        """A key press event (only called when :attr:`has_dtmf_events`)."""
        ...

    def played(self, name: str, at: float) -> WireMessage:
        """The acknowledgement that everything before mark/packet ``name`` has played."""
        ...

    def cleared(self, dropped: Sequence[str]) -> list[WireMessage]:
        """The reply to a clear that dropped the pending marks ``dropped`` (in order); the
        session sends the marks' echoes itself first when :attr:`acks_cleared_marks`."""
        ...

    def stop(self) -> WireMessage | None:
        """The end-of-stream message, ``None`` for providers that just close."""
        ...

    def encode(self, message: WireMessage) -> dict[str, object] | bytes:
        """The complete wire object for ``message`` (numbered, when it is sequenced)."""
        ...

    def check(self, message: Message) -> CheckedMessage:
        """Judge one message from the app: the command to apply and every problem."""
        ...


def epoch_ms(setup: WireSetup, at: float) -> int:
    """``at`` seconds into the stream as epoch milliseconds."""
    return setup.timestamp_origin_ms + round(at * 1000)


class JsonWire:
    """What the providers share: the usual packet and acknowledgement behaviour (subclasses
    say where they differ) and the numbering of JSON messages (subclasses say where the
    number goes)."""

    frame_ms: int = 20
    has_dtmf_events: bool = True
    play_event: str = "media"
    acks_cleared_marks: bool = False

    #: The key of the per-stream message counter (``None``: the provider numbers nothing).
    SEQUENCE_KEY: ClassVar[str | None] = None
    #: Twilio-shaped providers send the counter as a string.
    SEQUENCE_AS_TEXT: ClassVar[bool] = True

    def __init__(self, setup: WireSetup) -> None:
        self.setup = setup
        self._sequence = 0

    def encode(self, message: WireMessage) -> dict[str, object] | bytes:
        body = message.body
        if isinstance(body, bytes):
            return body
        out: dict[str, object] = {"event": message.event}
        if message.sequenced and self.SEQUENCE_KEY is not None:
            self._sequence += 1
            out[self.SEQUENCE_KEY] = (
                str(self._sequence) if self.SEQUENCE_AS_TEXT else self._sequence
            )
        out.update(body)
        return out


class CommandWire(JsonWire):
    """A provider whose app sends binary audio frames and JSON commands named under one key
    (Vonage's ``action``, the browser page's ``type``): the shared decoding, then
    :meth:`check_command` for the command's own fields."""

    COMMAND_KEY: ClassVar[str]
    #: The fields each command may have, by command name.
    COMMANDS: ClassVar[Mapping[str, frozenset[str]]]
    #: The provider as error messages name it.
    TITLE: ClassVar[str]

    def check(self, message: Message) -> CheckedMessage:
        decoded = decode_command(
            message, self.COMMAND_KEY, self.COMMANDS, provider=self.TITLE, audio=self.check_audio
        )
        if isinstance(decoded, CheckedMessage):
            return decoded
        return self.check_command(*decoded)

    def check_audio(self, audio: bytes) -> CheckedMessage:
        """Judge one binary audio frame."""
        raise NotImplementedError

    def check_command(
        self, name: str, data: dict[str, object], problems: list[Problem]
    ) -> CheckedMessage:
        """Judge a decoded command (``problems`` holds its unknown fields so far)."""
        raise NotImplementedError
