"""The Twilio-shaped providers' side of the wire: Twilio (§2), SignalWire (§3), Exotel (§4)
and Telnyx (§5) of ``../shared/protocols.md``.

They share one message set -- ``connected``/``start``/``media``/``dtmf``/``mark``/``stop``
out, ``media``/``mark``/``clear`` in -- and differ in key spellings, in where the stream id
goes, in their ``start`` and in a few rules, which the subclasses state as class attributes
(as the codecs in :mod:`trio_plivo.protocol.twilio` do):

* Twilio and SignalWire require ``streamSid`` on every message from the app and echo every
  pending mark at once when the app sends ``clear``;
* Exotel reads ``stream_sid`` (or ``streamSid``: its bridges send camelCase), plays audio in
  units of 320 bytes up to 100 kB and sends ~100 ms media; pending marks die with a clear;
* Telnyx wants no stream id from the app at all; pending marks die with a clear.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final

from ..._format import Encoding
from ...transport import Message
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
    check_nested,
    decode_base64_audio,
    decode_event,
    rejected,
)
from ._wire import JsonWire, WireMessage

__all__ = ["ExotelWire", "SignalWireWire", "TelnyxWire", "TwilioShapedWire", "TwilioWire"]

#: Exotel plays outbound audio in units of this many bytes, at most ``_EXOTEL_MAX`` at once.
_EXOTEL_UNIT: Final = 320
_EXOTEL_MAX: Final = 100_000


class TwilioShapedWire(JsonWire):
    """The shared builders and checks; subclasses spell the keys and build ``start``."""

    provider = "twilio"
    acks_cleared_marks = True
    SEQUENCE_KEY: ClassVar[str | None] = "sequenceNumber"
    #: The stream id key on the provider's messages.
    STREAM_KEY: ClassVar[str] = "streamSid"
    #: Keys that may carry the stream id on the app's messages (empty: none allowed).
    APP_STREAM_KEYS: ClassVar[tuple[str, ...]] = ("streamSid",)
    #: Keys allowed inside the app's ``media`` object.
    APP_MEDIA_KEYS: ClassVar[frozenset[str]] = frozenset({"payload"})
    #: ``media.track`` on caller audio (``None``: the provider sends no track).
    MEDIA_TRACK: ClassVar[str | None] = "inbound"

    # --- the provider's messages ----------------------------------------------------------

    def _stream(self) -> dict[str, object]:
        return {self.STREAM_KEY: self.setup.stream_id}

    def opening(self) -> list[WireMessage]:
        return [self._connected(), WireMessage("start", {**self._stream(), **self._start()})]

    def _connected(self) -> WireMessage:
        return WireMessage("connected", {"protocol": "Call", "version": "1.0.0"}, sequenced=False)

    def _start(self) -> dict[str, object]:
        setup = self.setup
        fmt = setup.format
        return {
            "start": {
                "streamSid": setup.stream_id,
                "accountSid": setup.account_id,
                "callSid": setup.call_id,
                "tracks": list(setup.tracks),
                "customParameters": dict(setup.headers),
                "mediaFormat": {
                    "encoding": "audio/x-mulaw" if fmt.encoding is Encoding.MULAW else "audio/l16",
                    "sampleRate": fmt.sample_rate,
                    "channels": 1,
                },
            }
        }

    def media(self, chunk: int, at: float, payload: bytes) -> WireMessage:
        media: dict[str, object] = {} if self.MEDIA_TRACK is None else {"track": self.MEDIA_TRACK}
        media["chunk"] = str(chunk)
        # Milliseconds since the stream started, as text (Twilio's documented meaning).
        media["timestamp"] = str(round(at * 1000))
        media["payload"] = base64.b64encode(payload).decode("ascii")
        return WireMessage("media", {**self._stream(), "media": media})

    def dtmf(self, digit: str, at: float) -> WireMessage:
        return WireMessage("dtmf", {**self._stream(), "dtmf": self._dtmf_body(digit)})

    def _dtmf_body(self, digit: str) -> dict[str, object]:
        return {"track": "inbound_track", "digit": digit}

    def played(self, name: str, at: float) -> WireMessage:
        return WireMessage("mark", {**self._stream(), "mark": {"name": name}})

    def cleared(self, dropped: Sequence[str]) -> list[WireMessage]:
        # No reply of its own: Twilio's answer is the echo of the marks (acks_cleared_marks).
        return []

    def stop(self) -> WireMessage | None:
        setup = self.setup
        return WireMessage(
            "stop",
            {**self._stream(), "stop": {"accountSid": setup.account_id, "callSid": setup.call_id}},
        )

    # --- the app's messages ---------------------------------------------------------------

    def check(self, message: Message) -> CheckedMessage:
        decoded = decode_event(message, provider=self.provider)
        if isinstance(decoded, CheckedMessage):
            return decoded
        event, data = decoded
        if event not in ("media", "mark", "clear"):
            return rejected(
                ViolationKind.UNKNOWN_EVENT,
                f"unknown event {event!r} ({self.provider} takes media, mark and clear)",
                event=event,
                data=data,
            )
        allowed = {"event", *self.APP_STREAM_KEYS, *({event} - {"clear"})}
        problems = [
            Problem(ViolationKind.UNKNOWN_FIELD, f"unknown field {key!r}")
            for key in sorted(data.keys() - allowed)
        ]
        self._check_stream_id(data, problems)
        command: AppCommand | None
        if event == "media":
            command = self._check_media(data.get("media"), problems)
        elif event == "mark":
            command = _check_mark(data.get("mark"), problems)
        else:
            command = ClearAudioCommand()
        if any(p.kind not in HARMLESS for p in problems):
            command = None
        return CheckedMessage(event=event, data=data, command=command, problems=tuple(problems))

    def _check_stream_id(self, data: Mapping[str, object], problems: list[Problem]) -> None:
        if not self.APP_STREAM_KEYS:
            return
        present = [key for key in self.APP_STREAM_KEYS if key in data]
        if not present:
            problems.append(
                Problem(ViolationKind.MISSING_FIELD, f"missing {self.APP_STREAM_KEYS[0]!r}")
            )
        for key in present:
            if data[key] != self.setup.stream_id:
                problems.append(
                    Problem(
                        ViolationKind.WRONG_STREAM_ID,
                        f"{key} {data[key]!r} is not {self.setup.stream_id!r}",
                    )
                )

    def _check_media(self, media: object, problems: list[Problem]) -> PlayAudioCommand | None:
        media = check_nested(media, "media", self.APP_MEDIA_KEYS, problems)
        if media is None:
            return None
        payload = media.get("payload")
        if not isinstance(payload, str):
            problems.append(
                Problem(absent_or_wrong(payload), "'media.payload' must be a base64 string")
            )
            return None
        audio = decode_base64_audio(payload, self.setup.format, problems)
        if audio is None:
            return None
        self._check_size(audio, problems)
        return PlayAudioCommand(audio)

    def _check_size(self, audio: bytes, problems: list[Problem]) -> None:
        """Provider rules on the size of one audio message (none by default)."""


def _check_mark(mark: object, problems: list[Problem]) -> CheckpointCommand | None:
    mark = check_nested(mark, "mark", {"name"}, problems)
    if mark is None:
        return None
    name = mark.get("name")
    if name is None:
        problems.append(Problem(ViolationKind.MISSING_FIELD, "mark without 'mark.name'"))
        return None
    if not isinstance(name, str) or not name:
        problems.append(Problem(ViolationKind.WRONG_TYPE, "'mark.name' must be a non-empty string"))
        return None
    return CheckpointCommand(name)


class TwilioWire(TwilioShapedWire):
    """Twilio's side: µ-law 8 kHz, ``streamSid`` everywhere, marks echoed on ``clear``."""

    provider = "twilio"


class SignalWireWire(TwilioShapedWire):
    """SignalWire's side: Twilio's, with L16 16/24 kHz as well (``codec="L16@16000h"``)."""

    provider = "signalwire"


class ExotelWire(TwilioShapedWire):
    """Exotel Voicebot's side: snake_case, PCM16 in ~100 ms media, 320-byte output units."""

    provider = "exotel"
    frame_ms = 100
    acks_cleared_marks = False
    SEQUENCE_KEY: ClassVar[str | None] = "sequence_number"
    STREAM_KEY: ClassVar[str] = "stream_sid"
    APP_STREAM_KEYS: ClassVar[tuple[str, ...]] = ("stream_sid", "streamSid")
    # Exotel's own bridges add these counters to their media; they are tolerated.
    APP_MEDIA_KEYS: ClassVar[frozenset[str]] = frozenset(
        {"payload", "chunk", "timestamp", "sequenceNumber"}
    )
    MEDIA_TRACK: ClassVar[str | None] = None

    def _connected(self) -> WireMessage:
        return WireMessage("connected", {}, sequenced=False)

    def _start(self) -> dict[str, object]:
        setup = self.setup
        return {
            "start": {
                "stream_sid": setup.stream_id,
                "call_sid": setup.call_id,
                "account_sid": setup.account_id,
                "custom_parameters": dict(setup.headers),
                "media_format": {
                    "encoding": "audio/x-raw",
                    "sample_rate": str(setup.format.sample_rate),
                    "bit_rate": "16",
                },
            }
        }

    def _dtmf_body(self, digit: str) -> dict[str, object]:
        return {"digit": digit, "duration": "100"}

    def stop(self) -> WireMessage | None:
        setup = self.setup
        body = {"call_sid": setup.call_id, "account_sid": setup.account_id, "reason": "callended"}
        return WireMessage("stop", {**self._stream(), "stop": body})

    def _check_size(self, audio: bytes, problems: list[Problem]) -> None:
        if len(audio) % _EXOTEL_UNIT or len(audio) > _EXOTEL_MAX:
            problems.append(
                Problem(
                    ViolationKind.WRONG_CHUNK_SIZE,
                    f"media of {len(audio)} bytes: Exotel wants multiples of {_EXOTEL_UNIT} "
                    f"bytes up to {_EXOTEL_MAX} (others leave audible gaps)",
                )
            )


_TELNYX_CODECS: Final = {Encoding.MULAW: "PCMU", Encoding.ALAW: "PCMA", Encoding.L16: "L16"}


class TelnyxWire(TwilioShapedWire):
    """Telnyx's side (``rtp`` mode): snake_case, no stream id from the app, marks die on clear."""

    provider = "telnyx"
    acks_cleared_marks = False
    SEQUENCE_KEY: ClassVar[str | None] = "sequence_number"
    STREAM_KEY: ClassVar[str] = "stream_id"
    APP_STREAM_KEYS: ClassVar[tuple[str, ...]] = ()

    def _connected(self) -> WireMessage:
        return WireMessage("connected", {"version": "1.0.0"}, sequenced=False)

    def _start(self) -> dict[str, object]:
        setup = self.setup
        return {
            "start": {
                "user_id": setup.account_id,
                "call_control_id": setup.call_id,
                "custom_parameters": dict(setup.headers),
                "media_format": {
                    "encoding": _TELNYX_CODECS[setup.format.encoding],
                    "sample_rate": setup.format.sample_rate,
                    "channels": 1,
                },
            }
        }

    def _dtmf_body(self, digit: str) -> dict[str, object]:
        return {"digit": digit}

    def stop(self) -> WireMessage | None:
        setup = self.setup
        body = {"user_id": setup.account_id, "call_control_id": setup.call_id}
        return WireMessage("stop", {**self._stream(), "stop": body})
