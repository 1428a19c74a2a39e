"""KooKoo / Ozonetel's side of the wire (``../shared/protocols.md`` §7; single-source).

Audio is JSON arrays of int16 samples, 80 per packet (10 ms at 8 kHz), both ways. KooKoo
opens with ``start`` and then one stray 16 kHz packet (apps must discard it: the simulator
sends it so that they have to). There are no DTMF events (key presses are tones in the
audio) and no checkpoints: every packet the app sends carries a ``seqid`` and KooKoo answers
``{"event":"mark","type":"ack","seqid":...}`` as that packet plays. ``{"command":
"clearBuffer"}`` drops the queue (its packets are never acknowledged, and there is no reply);
``{"command":"callDisconnect"}`` hangs up.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping, Sequence
from typing import Final

import orjson

from ...transport import Message
from ._validate import (
    HARMLESS,
    AppCommand,
    CheckedMessage,
    ClearAudioCommand,
    HangupCommand,
    PlayAudioCommand,
    Problem,
    ViolationKind,
    absent_or_wrong,
    check_nested,
    decode_object,
    rejected,
)
from ._wire import JsonWire, WireMessage, epoch_ms

__all__ = ["KooKooWire"]

_BIG_ENDIAN: Final = sys.byteorder == "big"
_PACKET_SAMPLES: Final = 80
_MEDIA_KEYS: Final = frozenset({"event", "type", "ucid", "seqid", "data"})
_DATA_KEYS: Final = frozenset(
    {"samples", "bitsPerSample", "sampleRate", "channelCount", "numberOfFrames", "type"}
)
_COMMANDS: Final[dict[str, AppCommand]] = {
    "clearBuffer": ClearAudioCommand(),
    "callDisconnect": HangupCommand(),
}
#: The fake numbers on ``start`` (KooKoo's ``did`` is the number called, ``call_id`` the caller).
_DID: Final = "918000000000"
_CALLER: Final = "919000000000"


def _packet(samples: list[int], rate: int) -> dict[str, object]:
    return {
        "samples": samples,
        "bitsPerSample": 16,
        "sampleRate": rate,
        "channelCount": 1,
        "numberOfFrames": len(samples),
        "type": "data",
    }


class KooKooWire(JsonWire):
    """KooKoo's side of one stream (the ``ucid`` is both the call and the stream id)."""

    provider = "kookoo"
    frame_ms = 10
    has_dtmf_events = False

    def opening(self) -> list[WireMessage]:
        setup = self.setup
        start = {
            "type": "text",
            "ucid": setup.stream_id,
            "did": _DID,
            "call_id": _CALLER,
            "x_account": setup.account_id,
            "x_headers": orjson.dumps(dict(setup.headers)).decode(),
            # KooKoo announces PCMU while the samples are linear; the quirk is kept.
            "media": {
                "encoding": "PCMU",
                "sampleRate": 8000,
                "channels": 1,
                "bitsPerSample": 16,
                "payloadType": 0,
            },
        }
        stray = {"type": "media", "ucid": setup.stream_id, "data": _packet([0] * 160, 16000)}
        return [WireMessage("start", start), WireMessage("media", stray)]

    def media(self, chunk: int, at: float, payload: bytes) -> WireMessage:
        pcm = array("h")
        pcm.frombytes(payload)
        if _BIG_ENDIAN:
            pcm.byteswap()
        body = {"type": "media", "ucid": self.setup.stream_id, "data": _packet(pcm.tolist(), 8000)}
        return WireMessage("media", body)

    def dtmf(self, digit: str, at: float) -> WireMessage:
        raise ValueError("KooKoo has no DTMF events: key presses are tones in the audio")

    def played(self, name: str, at: float) -> WireMessage:
        body = {
            "type": "ack",
            "ucid": self.setup.stream_id,
            "seqid": name,
            "timestamp": epoch_ms(self.setup, at),
        }
        return WireMessage("mark", body)

    def cleared(self, dropped: Sequence[str]) -> list[WireMessage]:
        return []

    def stop(self) -> WireMessage | None:
        return WireMessage("stop", {"type": "text", "ucid": self.setup.stream_id, "did": _DID})

    def check(self, message: Message) -> CheckedMessage:
        data = decode_object(message, provider=self.provider)
        if isinstance(data, CheckedMessage):
            return data
        if "command" in data:
            return self._check_command(data)
        event = data.get("event")
        if event != "media":
            kind = ViolationKind.MISSING_FIELD if event is None else ViolationKind.UNKNOWN_EVENT
            return rejected(
                kind,
                f"event {event!r}: KooKoo takes media, and clearBuffer/callDisconnect commands",
                event=event if isinstance(event, str) else None,
                data=data,
            )
        problems = [
            Problem(ViolationKind.UNKNOWN_FIELD, f"unknown field {key!r}")
            for key in sorted(data.keys() - _MEDIA_KEYS)
        ]
        if data.get("type", "media") != "media":
            problems.append(Problem(ViolationKind.WRONG_TYPE, f"type {data['type']!r} on media"))
        ucid = data.get("ucid")
        if ucid is None:
            problems.append(Problem(ViolationKind.MISSING_FIELD, "missing 'ucid'"))
        elif str(ucid) != self.setup.stream_id:
            problems.append(
                Problem(ViolationKind.WRONG_STREAM_ID, f"ucid {ucid!r} is not this call's")
            )
        seqid = data.get("seqid")
        if not isinstance(seqid, str) or not seqid:
            problems.append(
                Problem(absent_or_wrong(seqid), "media needs a 'seqid' string (acks name it)")
            )
        audio = _check_data(data.get("data"), problems)
        command: AppCommand | None = None
        if audio is not None and isinstance(seqid, str):
            command = PlayAudioCommand(audio, ack=seqid)
        if any(p.kind not in HARMLESS for p in problems):
            command = None
        return CheckedMessage(event="media", data=data, command=command, problems=tuple(problems))

    @staticmethod
    def _check_command(data: Mapping[str, object]) -> CheckedMessage:
        name = data["command"]
        command = _COMMANDS.get(name) if isinstance(name, str) else None
        if command is None:
            return rejected(
                ViolationKind.UNKNOWN_EVENT,
                f"unknown command {name!r} (KooKoo takes clearBuffer and callDisconnect)",
                data=dict(data),
            )
        problems = tuple(
            Problem(ViolationKind.UNKNOWN_FIELD, f"unknown field {key!r}")
            for key in sorted(data.keys() - {"command"})
        )
        assert isinstance(name, str)
        return CheckedMessage(event=name, data=dict(data), command=command, problems=problems)


def _check_data(body: object, problems: list[Problem]) -> bytes | None:
    """The packet's samples as PCM16 LE bytes, or ``None`` with the reasons."""
    body = check_nested(body, "data", _DATA_KEYS, problems)
    if body is None:
        return None
    rate = body.get("sampleRate")
    if rate != 8000:
        problems.append(
            Problem(ViolationKind.WRONG_SAMPLE_RATE, f"sampleRate {rate!r}, the stream is 8000")
        )
    for key, want in (("bitsPerSample", 16), ("channelCount", 1)):
        if body.get(key) != want:
            problems.append(Problem(ViolationKind.WRONG_TYPE, f"data.{key} must be {want}"))
    samples = body.get("samples")
    if not isinstance(samples, list) or not all(type(s) is int for s in samples):
        problems.append(Problem(ViolationKind.WRONG_TYPE, "data.samples must be a list of ints"))
        return None
    if not samples:
        problems.append(Problem(ViolationKind.EMPTY_PAYLOAD, "no samples"))
        return None
    try:
        pcm = array("h", samples)
    except OverflowError:
        problems.append(Problem(ViolationKind.WRONG_TYPE, "a sample is outside int16"))
        return None
    if body.get("numberOfFrames") != len(samples):
        problems.append(
            Problem(
                ViolationKind.WRONG_TYPE,
                f"numberOfFrames {body.get('numberOfFrames')!r} but {len(samples)} samples",
            )
        )
    if len(samples) != _PACKET_SAMPLES:
        problems.append(
            Problem(
                ViolationKind.WRONG_CHUNK_SIZE,
                f"{len(samples)} samples: KooKoo plays {_PACKET_SAMPLES}-sample (10 ms) packets",
            )
        )
    if _BIG_ENDIAN:
        pcm.byteswap()
    return pcm.tobytes()
