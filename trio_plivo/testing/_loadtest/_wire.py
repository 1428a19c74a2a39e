"""The load generator's side of each provider's wire: cheap builders, a cheap reply parser.

The simulator's :class:`~._wire.ProviderWire` (``_wire_*.py``) already knows every
provider's messages; :class:`CallWire` reuses it for all that is off the hot path -- the
opening messages, the key press, the acknowledgements, and judging the app's control
messages (:meth:`CallWire.control` is the wire's own ``check``) -- so no message shape is
written twice. The one message sent per call per tick is not rebuilt by the wire each time:
the wire's own media message is encoded once per call and only the frame's sequence
number, chunk, timestamp and payload header are filled in (the silence after the header is
pre-encoded, base64 included). Replies are read with string searches, not a JSON parser:
:meth:`CallWire.audio` finds the payload (base64 ``payload``, KooKoo's ``samples``, Vonage's
binary frame) and reads the header in its first 6 bytes.

Every call streams its provider's default format (``_providers.py``) in its provider's
packets: Plivo, Twilio, SignalWire and Telnyx µ-law 8 kHz 20 ms; Exotel L16 8 kHz 100 ms;
Vonage binary L16 16 kHz 20 ms; KooKoo 10 ms arrays of 80 int16 samples. Each payload starts
with the 6-byte :data:`HEADER` (frame counter, call tag), which comes back unchanged from an
app that echoes in the stream's format and frame size (the built-in echo app does).
"""

from __future__ import annotations

import base64
import struct
from typing import Final, Literal, NamedTuple

import orjson

from ..._exceptions import ConfigurationError
from ...transport import Message
from .._simulator._pcm import silence
from .._simulator._providers import PHONE_PROVIDERS, provider_spec
from .._simulator._validate import CheckpointCommand, ClearAudioCommand
from .._simulator._wire import WireMessage, WireSetup

__all__ = [
    "HEADER",
    "AudioReply",
    "CallWire",
    "Control",
    "frame_payload",
    "read_payload_header",
]

#: Frame counter and call tag at the start of every payload: 6 bytes, 8 base64 characters.
HEADER: Final = struct.Struct("!IH")
#: The header read as KooKoo's first three little-endian int16 samples.
_HEADER_SAMPLES: Final = struct.Struct("<3h")
_PAYLOAD_KEY: Final = '"payload":"'
_SAMPLES_KEY: Final = '"samples":['
_SEQID_KEY: Final = '"seqid":"'
_ACCOUNT_ID: Final = "MAXXXXXXXXXXXXXXXXXX"
#: µ-law silence after the header of a Plivo frame (what :func:`frame_payload` appends).
_MULAW_TAIL: Final = base64.b64encode(b"\xff" * (160 - HEADER.size)).decode()

Kind = Literal["checkpoint", "clear", "bad_checkpoint", "other"]
#: App events that carry a checkpoint (a malformed one is counted, not ignored).
_CHECKPOINT_EVENTS: Final = frozenset({"checkpoint", "mark", "notify"})


class AudioReply(NamedTuple):
    """Audio the app sent: our header when it is an echo, its length, KooKoo's packet id."""

    header: tuple[int, int] | None
    seconds: float
    ack: str | None


class Control(NamedTuple):
    """A control message from the app: a checkpoint (with its name), a clear, or neither."""

    kind: Kind
    name: str | None = None


_OTHER: Final = Control("other")
_CLEAR: Final = Control("clear")
_BAD_CHECKPOINT: Final = Control("bad_checkpoint")


def frame_payload(counter: int, tag: int) -> str:
    """Base64 payload of a 20 ms µ-law frame ``counter`` of call ``tag`` (header + silence)."""
    return base64.b64encode(HEADER.pack(counter, tag & 0xFFFF)).decode() + _MULAW_TAIL


def _read_base64_header(text: str, at: int) -> tuple[int, int] | None:
    try:
        counter, tag = HEADER.unpack(base64.b64decode(text[at : at + 8]))
    except (ValueError, struct.error):
        return None
    return counter, tag


def read_payload_header(message: str | bytes) -> tuple[int, int] | None:
    """(counter, tag) from a JSON message with a base64 ``payload`` (``media``, ``playAudio``);
    ``None`` for others."""
    text = message if isinstance(message, str) else message.decode()
    at = text.find(_PAYLOAD_KEY)
    return None if at < 0 else _read_base64_header(text, at + len(_PAYLOAD_KEY))


class CallWire:
    """One simulated call's side of its provider's wire, for the load generator.

    ``provider`` is a simulator name (``_providers.SIMULATED``; aliases work). The stream
    gets fresh ids in the provider's style unless ``stream_id``/``call_id`` are given;
    timestamps count from ``timestamp_origin_ms`` (Plivo's are epoch milliseconds).
    Messages are numbered by the call, in the order they are built.
    """

    def __init__(
        self,
        provider: str = "plivo",
        *,
        stream_id: str | None = None,
        call_id: str | None = None,
        timestamp_origin_ms: int = 0,
    ) -> None:
        spec = provider_spec(provider)
        if spec.name not in PHONE_PROVIDERS:
            raise ConfigurationError(
                f"the load tester places phone calls, not {spec.name!r} conversations "
                f"(it dials {', '.join(PHONE_PROVIDERS)})"
            )
        fmt = spec.default_format
        call_id = spec.new_call_id() if call_id is None else call_id
        if stream_id is None:
            stream_id = call_id if spec.stream_is_call else spec.new_stream_id()
        self.setup = WireSetup(
            format=fmt,
            call_id=call_id,
            stream_id=stream_id,
            account_id=_ACCOUNT_ID,
            tracks=("inbound",),
            headers={},
            headers_text="",  # Plivo repeats extra_headers on start, media and dtmf
            timestamp_origin_ms=timestamp_origin_ms,
        )
        wire = spec.wire(self.setup)
        self._wire = wire
        self.provider = spec.name
        self.format = fmt
        #: Milliseconds of audio per media message, both ways.
        self.frame_ms = wire.frame_ms
        #: The provider echoes marks still pending when the app clears (Twilio, SignalWire).
        self.acks_cleared_marks = wire.acks_cleared_marks
        #: The provider reports key presses as events (KooKoo has only in-band tones).
        self.has_dtmf_events = wire.has_dtmf_events
        self._bytes_per_second = fmt.bytes_for(1000)
        self._sequence_key: str | None = getattr(wire, "SEQUENCE_KEY", None)
        self._sequence_text: bool = getattr(wire, "SEQUENCE_AS_TEXT", True)
        self._sequence = 0
        # The media template: the wire's own message, encoded once; frames refill it.
        frame_bytes = fmt.bytes_for(self.frame_ms)
        tail = silence(fmt, frame_bytes - HEADER.size)
        self._tail = tail
        self._tail64 = base64.b64encode(tail).decode()
        encoded = wire.encode(wire.media(1, 0.0, silence(fmt, frame_bytes)))
        self._template: dict[str, object] | None = None
        self._media: dict[str, object] | None = None
        self._samples: list[int] | None = None
        if isinstance(encoded, dict):
            self._template = encoded
            media = encoded.get("media")
            data = encoded.get("data")
            if isinstance(media, dict):
                self._media = media
            elif isinstance(data, dict) and isinstance(data.get("samples"), list):
                self._samples = data["samples"]
        media = self._media or {}
        self._chunk_text = isinstance(media.get("chunk"), str)
        self._has_chunk = "chunk" in media
        self._timestamp_base = int(str(media["timestamp"])) if "timestamp" in media else None
        self._read_audio = (
            self._binary_audio
            if self._template is None
            else self._sample_audio
            if self._samples is not None
            else self._base64_audio
        )

    @property
    def stream_id(self) -> str:
        return self.setup.stream_id

    # --- what the caller sends ------------------------------------------------------------

    def _number(self, sequence: int | None) -> int | str:
        self._sequence = self._sequence + 1 if sequence is None else sequence
        return str(self._sequence) if self._sequence_text else self._sequence

    def _encode(self, message: WireMessage, sequence: int | None = None) -> Message:
        out = self._wire.encode(message)
        if isinstance(out, bytes):
            return out
        if message.sequenced and self._sequence_key is not None:
            out[self._sequence_key] = self._number(sequence)
        return orjson.dumps(out).decode()

    def opening(self) -> list[Message]:
        """The messages that open the stream (``connected``, ``start``, KooKoo's stray
        16 kHz packet ...)."""
        return [self._encode(message) for message in self._wire.opening()]

    def media(self, counter: int, tag: int, ms: int, sequence: int | None = None) -> Message:
        """Media message number ``counter`` (from 0) of call ``tag``, ``ms`` milliseconds into
        the stream: the hot path (one per call per tick)."""
        header = HEADER.pack(counter, tag & 0xFFFF)
        template = self._template
        if template is None:
            return header + self._tail  # Vonage: a binary frame
        if self._sequence_key is not None:
            template[self._sequence_key] = self._number(sequence)
        samples = self._samples
        if samples is not None:
            samples[0], samples[1], samples[2] = _HEADER_SAMPLES.unpack(header)
        else:
            media = self._media
            assert media is not None
            if self._has_chunk:
                media["chunk"] = str(counter + 1) if self._chunk_text else counter + 1
            if self._timestamp_base is not None:
                media["timestamp"] = str(self._timestamp_base + ms)
            media["payload"] = base64.b64encode(header).decode() + self._tail64
        return orjson.dumps(template).decode()

    def dtmf(self, digit: str, ms: int, sequence: int | None = None) -> Message | None:
        """The key press event; ``None`` for a provider without DTMF events (KooKoo)."""
        if not self.has_dtmf_events:
            return None
        return self._encode(self._wire.dtmf(digit, ms / 1000), sequence)

    def ack(self, name: str, ms: int = 0, sequence: int | None = None) -> Message:
        """The acknowledgement that the audio before checkpoint/mark/packet ``name`` played
        (``playedStream``, a ``mark`` echo, ``websocket:notify``, KooKoo's packet ``mark``)."""
        return self._encode(self._wire.played(name, ms / 1000), sequence)

    def cleared(self) -> list[Message]:
        """The provider's reply to the app's clear (``clearedAudio``, ``websocket:cleared``;
        none for the others)."""
        return [self._encode(message) for message in self._wire.cleared(())]

    # --- what the app sends ---------------------------------------------------------------

    def audio(self, message: Message) -> AudioReply | None:
        """The app's message as audio, or ``None`` when it is something else. Cheap: a few
        string searches, no JSON parsing."""
        return self._read_audio(message)

    def _base64_audio(self, message: Message) -> AudioReply | None:
        if type(message) is not str:
            return None
        at = message.find(_PAYLOAD_KEY)
        if at < 0:
            return None
        at += len(_PAYLOAD_KEY)
        end = message.find('"', at)
        length = (end - at) * 3 // 4 - message.count("=", end - 2, end)
        header = _read_base64_header(message, at)
        return AudioReply(header, length / self._bytes_per_second, None)

    def _sample_audio(self, message: Message) -> AudioReply | None:
        if type(message) is not str:
            return None
        at = message.find(_SAMPLES_KEY)
        if at < 0:
            return None
        at += len(_SAMPLES_KEY)
        end = message.find("]", at)
        count = message.count(",", at, end) + 1
        first = message[at : min(end, at + 24)].split(",", 3)[:3]
        header: tuple[int, int] | None = None
        if len(first) == 3:
            try:
                counter, tag = HEADER.unpack(_HEADER_SAMPLES.pack(*map(int, first)))
            except (ValueError, struct.error):
                pass
            else:
                header = (counter, tag)
        ack = None
        seq = message.find(_SEQID_KEY)
        if seq >= 0:
            seq += len(_SEQID_KEY)
            ack = message[seq : message.find('"', seq)]
        return AudioReply(header, count / self.format.sample_rate, ack)

    def _binary_audio(self, message: Message) -> AudioReply | None:
        if type(message) is not bytes:
            return None
        header: tuple[int, int] | None = None
        if len(message) >= HEADER.size:
            counter, tag = HEADER.unpack_from(message)
            header = (counter, tag)
        return AudioReply(header, len(message) / self._bytes_per_second, None)

    def control(self, message: Message) -> Control:
        """A message that is not audio, judged by the provider's wire: a checkpoint (Plivo
        ``checkpoint``, a Twilio-shaped ``mark``, Vonage ``notify``), a clear, or other."""
        checked = self._wire.check(message)
        command = checked.command
        if type(command) is CheckpointCommand:
            return Control("checkpoint", command.name)
        if type(command) is ClearAudioCommand:
            return _CLEAR
        return _BAD_CHECKPOINT if checked.event in _CHECKPOINT_EVENTS else _OTHER
