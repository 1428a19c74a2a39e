"""The event model: what a provider tells us, and what we tell it.

Names follow Plivo's wire protocol (the first provider); other providers' codecs map their
messages onto the same classes (a Twilio ``mark`` echo is a :class:`PlayedStream`, ...), so the
call layer never sees a provider's wire format.

Every class is frozen, slotted and keyword-only. Don't subclass them: codecs dispatch on the
exact type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from .._exceptions import LocalProtocolError
from .._format import AudioFormat

# The public list is trio_plivo.protocol's __all__.


# --- inbound: provider -> application ------------------------------------------------------


@attrs.frozen(kw_only=True)
class Start:
    """The stream began (always the first event). Carries the call's identity and format."""

    call_id: str
    stream_id: str
    account_id: str | None = None
    tracks: tuple[str, ...] = ("inbound",)
    media_format: AudioFormat
    #: ``extra_headers`` parsed into a dict (from ``k=v;k=v``, ``k=v,k=v`` or a JSON object).
    extra_headers: Mapping[str, str] = attrs.field(factory=dict)
    #: The ``extra_headers`` string exactly as received (``None`` when absent).
    extra_headers_raw: str | None = None
    #: Provider-specific parameters (Twilio ``customParameters`` ...); empty for Plivo.
    custom_parameters: Mapping[str, str] = attrs.field(factory=dict)
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class Media:
    """One chunk of audio (about 20 ms) in the stream's negotiated format."""

    payload: bytes
    track: str = "inbound"
    #: Provider timestamp in milliseconds (Plivo sends a string; kept as an int).
    timestamp: int | None = None
    #: Per-track chunk counter.
    chunk: int | None = None
    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class Dtmf:
    """The caller pressed a key."""

    digit: str
    track: str = "inbound"
    timestamp: int | None = None
    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class PlayedStream:
    """Everything queued before the checkpoint ``name`` has played to the caller."""

    name: str
    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class ClearedAudio:
    """The provider emptied its playback buffer (the reply to :class:`ClearAudio`)."""

    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class Stop:
    """The provider says the stream ended (optional for Plivo: the socket close is what counts)."""

    reason: str | None = None
    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class PlayFailed:
    """Queued audio could not be played (undocumented Plivo event)."""

    reason: str | None = None
    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class StreamError:
    """A stream-level error reported by the provider (undocumented Plivo ``error`` event)."""

    reason: str | None = None
    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class MuteStream:
    """The stream was muted (undocumented Plivo event)."""

    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class UnmuteStream:
    """The stream was unmuted (undocumented Plivo event)."""

    stream_id: str | None = None
    sequence_number: int | None = None


@attrs.frozen(kw_only=True)
class SpeechStarted:
    """The client's own voice detector heard the caller start speaking (a hint: the browser
    page sends it; turn-taking may use it, nothing requires it)."""

    stream_id: str | None = None


@attrs.frozen(kw_only=True)
class SpeechStopped:
    """The client's own voice detector heard the caller stop speaking (a hint, as
    :class:`SpeechStarted`)."""

    stream_id: str | None = None


@attrs.frozen(kw_only=True)
class UnknownEvent:
    """A well-formed message we have no class for; ``raw`` is the decoded JSON object."""

    event: str
    raw: Mapping[str, Any]
    stream_id: str | None = None


InboundEvent = (
    Start
    | Media
    | Dtmf
    | PlayedStream
    | ClearedAudio
    | Stop
    | PlayFailed
    | StreamError
    | MuteStream
    | UnmuteStream
    | SpeechStarted
    | SpeechStopped
    | UnknownEvent
)

# --- outbound: application -> provider -----------------------------------------------------


@attrs.frozen(kw_only=True)
class PlayAudio:
    """Queue ``payload`` for playback.

    ``payload`` must already be in the wire format; ``audio_format`` defaults to the stream's
    negotiated one (providers reject a codec switch mid-stream, so a different one is refused).
    """

    payload: bytes
    audio_format: AudioFormat | None = None


@attrs.frozen(kw_only=True)
class Checkpoint:
    """A named marker in the playback queue, acknowledged once everything before it played."""

    name: str


@attrs.frozen(kw_only=True)
class ClearAudio:
    """Discard all audio the provider has buffered (barge-in)."""


@attrs.frozen(kw_only=True)
class SendDtmf:
    """Play DTMF ``digits`` (``0-9``, ``A-D``, ``*``, ``#``) into the call."""

    digits: str


@attrs.frozen(kw_only=True)
class Hangup:
    """End the phone call (only for providers with an in-stream hang-up message)."""


#: What a line of conversation text is: the caller's words as understood, the assistant's
#: words as it starts saying them, or the assistant's last line withdrawn after a barge-in.
ConversationKind = Literal["userMessage", "assistantMessage", "cancelLastAssistantMessage"]
CONVERSATION_KINDS: Final[tuple[ConversationKind, ...]] = (
    "userMessage",
    "assistantMessage",
    "cancelLastAssistantMessage",
)


def _check_kind(_: object, __: object, kind: str) -> None:
    if kind not in CONVERSATION_KINDS:
        raise LocalProtocolError(
            f"unknown conversation message kind {kind!r} (one of {', '.join(CONVERSATION_KINDS)})"
        )


def _check_text(_: object, __: object, text: Any) -> None:
    if not isinstance(text, str):
        raise LocalProtocolError(f"conversation text must be a str, not {type(text).__name__}")


@attrs.frozen(kw_only=True)
class ConversationText:
    """A line of the conversation, for clients that show one (the browser page).

    ``kind`` is one of :data:`CONVERSATION_KINDS`; for ``cancelLastAssistantMessage``,
    ``text`` is what the caller actually heard of the withdrawn line (may be empty).
    """

    kind: ConversationKind = attrs.field(validator=_check_kind)
    text: str = attrs.field(validator=_check_text)


OutboundCommand = PlayAudio | Checkpoint | ClearAudio | SendDtmf | Hangup | ConversationText
