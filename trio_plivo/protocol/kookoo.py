"""KooKoo / Ozonetel bidirectional streaming, sans-IO (``../shared/protocols.md`` §7).

Single-source protocol (UNCONFIRMED; read liberally). What is different here:

* **Audio is a JSON array of int16 samples** (``data.samples``), 10 ms per packet (80 samples
  at 8 kHz), so ``frame_ms = 10``. The first packet after connecting is a stray 16 kHz one
  and is discarded; ``start.media.encoding`` says PCMU while the samples are linear (ignored:
  the stream is L16 8 kHz).
* **No checkpoints on the wire.** Every outbound packet carries a fresh ``seqid`` and KooKoo
  acknowledges each one as it plays (``{"event":"mark","type":"ack","seqid":...}``). The codec
  emulates checkpoints on top: ``send(Checkpoint)`` puts nothing on the wire (returns
  ``None``) and remembers "after the last packet sent"; the ack of that packet yields
  :class:`PlayedStream` for it (an ack of a later packet covers earlier ones). A checkpoint
  with nothing unacknowledged before it is reported with the next message received (within
  10 ms on a live stream). ``clearBuffer`` forgets every tracked packet and checkpoint, so
  late acks cannot resolve anything.
* **Hang-up is in-stream** (``{"command":"callDisconnect"}``); there are no DTMF events (the
  call detects key presses in the audio) and no DTMF command (it plays tones).
"""

from __future__ import annotations

import sys
import uuid
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Any, Final

from .._exceptions import LocalProtocolError, RemoteProtocolError
from .._format import L16_8K
from ._codec import CodecState, StreamState
from ._converter import parse_extra_headers
from ._events import (
    Checkpoint,
    ClearAudio,
    Hangup,
    InboundEvent,
    Media,
    OutboundCommand,
    PlayAudio,
    PlayedStream,
    SendDtmf,
    Start,
    Stop,
    UnknownEvent,
)
from ._fields import decode_json_object, dumps, need_str, opt_str

__all__ = ["KooKooCodec"]

_BIG_ENDIAN: Final = sys.byteorder == "big"
#: Unacknowledged packets remembered (60 s of 10 ms packets); older ones count as lost.
_MAX_UNACKED: Final = 6000
_CLEAR_BUFFER: Final = dumps({"command": "clearBuffer"})
_DISCONNECT: Final = dumps({"command": "callDisconnect"})


def _new_seqid() -> str:
    return str(uuid.uuid4())


class KooKooCodec(CodecState):
    """One KooKoo/Ozonetel stream: JSON sample arrays, per-packet acks, in-stream hang-up.

    ``seqid_factory`` makes the per-packet ids (default: a UUID4 string each).
    """

    provider = "kookoo"
    frame_ms = 10
    acks_checkpoints_on_clear = False
    has_dtmf_events = False
    supports_dtmf_out = False
    supports_hangup = True

    def __init__(self, *, seqid_factory: Callable[[], str] = _new_seqid) -> None:
        super().__init__()
        self._new_seqid = seqid_factory
        self._seen_rate = False  # a packet at the stream's rate has arrived
        # Checkpoint emulation: packet numbers, seqid -> number of the unacked ones (in send
        # order), checkpoints as (number of the packet they follow, name), and checkpoints
        # already due that go out with the next receive().
        self._sent = 0
        self._acked = 0
        self._unacked: OrderedDict[str, int] = OrderedDict()
        self._marks: deque[tuple[int, str]] = deque()
        self._due: list[InboundEvent] = []

    # --- receiving ------------------------------------------------------------------------

    def receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        """Parse one WebSocket message. Raises :class:`RemoteProtocolError` naming the problem."""
        events = self._receive(message)
        if self._due:
            events, self._due = [*self._due, *events], []
        return events

    def _receive(self, message: str | bytes) -> Sequence[InboundEvent]:
        msg = decode_json_object(message, self.provider)
        name = msg.get("event")
        if name == "media":
            return self._on_media(msg)
        if not isinstance(name, str):
            raise RemoteProtocolError("message has no 'event' string")
        if name == "start":
            return (self._on_start(msg),)
        if self._state is StreamState.AWAITING_START:
            raise RemoteProtocolError(f"{name} before start", event_hint=name)
        if self._state is StreamState.ENDED:
            raise RemoteProtocolError(f"{name} after the stream ended", event_hint=name)
        self._check_ucid(msg, name)
        if name == "mark":
            return self._on_ack(msg)
        if name == "stop":
            self._state = StreamState.ENDED
            return (
                Stop(reason=opt_str(msg.get("reason"), "reason", name), stream_id=self._stream_id),
            )
        return (UnknownEvent(event=name, raw=msg, stream_id=self._stream_id),)

    def _check_ucid(self, msg: dict[str, Any], name: str) -> None:
        ucid = msg.get("ucid")
        if ucid is not None and str(ucid) != self._stream_id:
            raise RemoteProtocolError(f"{name} for another call ({ucid!r})", event_hint=name)

    def _on_start(self, msg: dict[str, Any]) -> Start:
        if self._state is not StreamState.AWAITING_START:
            raise RemoteProtocolError(f"second start while {self._state.value}", event_hint="start")
        ucid = need_str(msg.get("ucid"), "ucid", "start")
        raw_headers = msg.get("x_headers")
        try:
            headers = parse_extra_headers(raw_headers) if raw_headers is not None else {}
        except ValueError as exc:
            raise RemoteProtocolError(f"start: bad x_headers: {exc}", event_hint="start") from None
        params = {
            key: str(value)
            for key, wire in (("did", "did"), ("caller", "call_id"))
            if (value := msg.get(wire)) is not None and not isinstance(value, dict | list)
        }
        self._state = StreamState.STREAMING
        self._stream_id = ucid
        self._format = L16_8K
        return Start(
            call_id=ucid,
            stream_id=ucid,
            account_id=opt_str(msg.get("x_account"), "x_account", "start"),
            media_format=L16_8K,
            extra_headers=headers,
            extra_headers_raw=raw_headers if isinstance(raw_headers, str) else None,
            custom_parameters=params,
        )

    def _on_media(self, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        if self._state is not StreamState.STREAMING:
            raise RemoteProtocolError(f"media while {self._state.value}", event_hint="media")
        data = msg.get("data")
        if type(data) is not dict:
            raise RemoteProtocolError("media message without a 'data' object", event_hint="media")
        samples = data.get("samples")
        if type(samples) is not list:
            raise RemoteProtocolError("media without a 'samples' array", event_hint="media")
        rate = data.get("sampleRate", 8000)
        if rate != 8000 and str(rate) != "8000":
            if not self._seen_rate and str(rate) == "16000":
                return ()  # the stray first 16 kHz packet every stream starts with
            raise RemoteProtocolError(
                f"media at {rate!r} Hz on an 8 kHz stream", event_hint="media"
            )
        self._seen_rate = True
        ucid = msg.get("ucid")
        if ucid is not None and str(ucid) != self._stream_id:
            raise RemoteProtocolError(f"media for another call ({ucid!r})", event_hint="media")
        try:
            pcm = array("h", samples)
        except (TypeError, OverflowError) as exc:
            raise RemoteProtocolError(f"bad samples: {exc}", event_hint="media") from None
        if not pcm:
            raise RemoteProtocolError("media with no samples", event_hint="media")
        if _BIG_ENDIAN:
            pcm.byteswap()
        return (Media(payload=pcm.tobytes(), stream_id=self._stream_id),)

    def _on_ack(self, msg: dict[str, Any]) -> Sequence[InboundEvent]:
        seqid = msg.get("seqid")
        number = self._unacked.get(seqid) if isinstance(seqid, str) else None
        if number is None:
            return ()  # an ack for a packet a clear forgot, or not ours
        unacked = self._unacked
        # Acks come in play order: this one covers every packet sent before it.
        while unacked:
            _, first = unacked.popitem(last=False)
            if first == number:
                break
        self._acked = number
        return self._due_marks(number)

    def _due_marks(self, played: int) -> list[InboundEvent]:
        out: list[InboundEvent] = []
        marks = self._marks
        while marks and marks[0][0] <= played:
            out.append(PlayedStream(name=marks.popleft()[1], stream_id=self._stream_id))
        return out

    # --- sending --------------------------------------------------------------------------

    def send(self, command: OutboundCommand) -> str | bytes | None:
        """Encode ``command``; ``None`` for a checkpoint (tracked from acks, nothing sent)."""
        self._check_sendable(command)
        if type(command) is PlayAudio:
            return self._media(command)
        if type(command) is Checkpoint:
            if not command.name:
                raise LocalProtocolError("a checkpoint needs a non-empty name")
            if self._sent <= self._acked:
                # Everything sent has played already: due now (delivered on the next receive).
                self._due.append(PlayedStream(name=command.name, stream_id=self._stream_id))
            else:
                self._marks.append((self._sent, command.name))
            return None
        if type(command) is ClearAudio:
            self._unacked.clear()
            self._marks.clear()
            self._due.clear()
            self._acked = self._sent
            return _CLEAR_BUFFER
        if type(command) is Hangup:
            return _DISCONNECT
        if type(command) is SendDtmf:
            raise LocalProtocolError("KooKoo streams cannot send DTMF: play in-band tones")
        raise LocalProtocolError(f"not a command: {command!r}")

    def _media(self, command: PlayAudio) -> str:
        if command.audio_format is not None and command.audio_format != self._format:
            raise LocalProtocolError(
                f"audio in {command.audio_format} on a {self._format} stream: convert it first"
            )
        payload = command.payload
        if not payload or len(payload) % 2:
            raise LocalProtocolError(f"audio of {len(payload)} bytes is not whole PCM16 samples")
        pcm = array("h")
        pcm.frombytes(payload)
        if _BIG_ENDIAN:
            pcm.byteswap()
        seqid = self._new_seqid()
        self._sent += 1
        self._unacked[seqid] = self._sent
        if len(self._unacked) > _MAX_UNACKED:
            self._unacked.popitem(last=False)
        return dumps(
            {
                "event": "media",
                "type": "media",
                "ucid": self._stream_id,
                "seqid": seqid,
                "data": {
                    "samples": pcm.tolist(),
                    "bitsPerSample": 16,
                    "sampleRate": 8000,
                    "channelCount": 1,
                    "numberOfFrames": len(pcm),
                    "type": "data",
                },
            }
        )
