"""Hand-driven provider peers for call-level tests: the provider's end of a memory transport.

Each peer speaks one provider's wire protocol just far enough to drive a :class:`Call`:
start the stream, send caller audio and key presses, read what the app sent (audio, marks,
clears, hang-ups) and acknowledge marks the way that provider does.
"""

from __future__ import annotations

import base64
import json
from array import array
from typing import Any, ClassVar

import attrs
import test_exotel_codec as exotel
import test_kookoo_codec as kookoo
import test_telnyx_codec as telnyx
import test_twilio_codec as twilio
import test_vonage_codec as vonage

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat
from trio_plivo.protocol import ProviderCodec
from trio_plivo.protocol.exotel import ExotelCodec
from trio_plivo.protocol.kookoo import KooKooCodec
from trio_plivo.protocol.signalwire import SignalWireCodec
from trio_plivo.protocol.telnyx import TelnyxCodec
from trio_plivo.protocol.twilio import TwilioCodec
from trio_plivo.protocol.vonage import VonageCodec
from trio_plivo.transport import MemoryTransport


@attrs.define
class Sent:
    """One message from the app, classified."""

    kind: str  # "audio", "mark", "clear", "hangup", "other"
    audio: bytes = b""
    name: str = ""
    raw: Any = None


@attrs.define
class Peer:
    """Base: a Twilio-shaped JSON peer; subclasses change spellings."""

    transport: MemoryTransport
    seq: int = 0
    sent: list[Sent] = attrs.Factory(list)

    provider: ClassVar[str] = "twilio"
    fmt: ClassVar[AudioFormat] = MULAW_8K
    start_messages: ClassVar[list[dict[str, Any]]] = [twilio.CONNECTED, twilio.START]
    stream_key: ClassVar[str | None] = "streamSid"
    stream_id: ClassVar[str] = twilio.SID
    call_id: ClassVar[str] = twilio.CALL
    native_dtmf: ClassVar[bool] = True

    @staticmethod
    def codec() -> ProviderCodec:
        return TwilioCodec()

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        if isinstance(message, dict):
            message = json.dumps(message)
        await self.transport.send_messages([message])

    async def start(self) -> None:
        for message in self.start_messages:
            await self.send(message)

    def _envelope(self, event: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        message: dict[str, Any] = {"event": event, "sequenceNumber": str(self.seq)}
        if self.stream_key:
            message[self.stream_key] = self.stream_id
        return message | fields

    async def media(self, payload: bytes, chunk: int) -> None:
        await self.send(
            self._envelope(
                "media",
                media={
                    "track": "inbound",
                    "chunk": str(chunk),
                    "timestamp": str(chunk * 20),
                    "payload": base64.b64encode(payload).decode(),
                },
            )
        )

    async def dtmf(self, digit: str) -> None:
        await self.send(self._envelope("dtmf", dtmf={"track": "inbound_track", "digit": digit}))

    async def ack(self, name: str) -> None:
        await self.send(self._envelope("mark", mark={"name": name}))

    def classify(self, raw: str | bytes) -> Sent:
        message = json.loads(raw)
        event = message.get("event")
        if event == "media":
            return Sent("audio", audio=base64.b64decode(message["media"]["payload"]), raw=message)
        if event == "mark":
            return Sent("mark", name=message["mark"]["name"], raw=message)
        if event == "clear":
            return Sent("clear", raw=message)
        return Sent("other", raw=message)

    async def receive(self) -> Sent:
        item = self.classify(await self.transport.receive_message())
        self.sent.append(item)
        return item

    async def receive_until_mark(self, name: str, audio_bytes: int) -> bytes:
        """Read until the app's mark ``name`` (or, for providers whose marks are not on the
        wire, until ``audio_bytes`` of audio arrived); returns the audio."""
        audio = bytearray()
        while True:
            item = await self.receive()
            audio += item.audio
            if item.kind == "mark" and item.name == name:
                return bytes(audio)

    async def play_out(self, name: str) -> None:
        """Acknowledge the mark ``name`` as played."""
        await self.ack(name)


class SignalWirePeer(Peer):
    provider = "signalwire"
    fmt = L16_16K
    start_messages: ClassVar[list[dict[str, Any]]] = [
        twilio.CONNECTED,
        {
            **twilio.START,
            "start": {
                **twilio.START["start"],
                "mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 16000},
            },
        },
    ]

    @staticmethod
    def codec() -> ProviderCodec:
        return SignalWireCodec()


class ExotelPeer(Peer):
    provider = "exotel"
    fmt = L16_8K
    start_messages: ClassVar[list[dict[str, Any]]] = [{"event": "connected"}, exotel.START]
    stream_key = "stream_sid"
    stream_id = exotel.SID
    call_id = "CAfe12"

    @staticmethod
    def codec() -> ProviderCodec:
        return ExotelCodec()

    def _envelope(self, event: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        return {
            "event": event,
            "sequence_number": str(self.seq),
            "stream_sid": self.stream_id,
        } | fields


class TelnyxPeer(Peer):
    provider = "telnyx"
    fmt = MULAW_8K
    start_messages: ClassVar[list[dict[str, Any]]] = [
        {"event": "connected", "version": "1.0.0"},
        telnyx.START,
    ]
    stream_key = "stream_id"
    stream_id = telnyx.SID
    call_id = telnyx.CCID

    @staticmethod
    def codec() -> ProviderCodec:
        return TelnyxCodec()


class VonagePeer(Peer):
    provider = "vonage"
    fmt = L16_16K
    start_messages: ClassVar[list[dict[str, Any]]] = [vonage.CONNECTED]
    call_id = vonage.CONNECTED["uuid"]

    @staticmethod
    def codec() -> ProviderCodec:
        return VonageCodec()

    async def media(self, payload: bytes, chunk: int) -> None:
        await self.send(payload)

    async def dtmf(self, digit: str) -> None:
        await self.send({"event": "websocket:dtmf", "digit": digit, "duration": 260})

    async def ack(self, name: str) -> None:
        await self.send({"event": "websocket:notify", "payload": {"name": name}})

    def classify(self, raw: str | bytes) -> Sent:
        if isinstance(raw, bytes):
            return Sent("audio", audio=raw)
        message = json.loads(raw)
        action = message.get("action")
        if action == "notify":
            return Sent("mark", name=message["payload"]["name"], raw=message)
        if action == "clear":
            return Sent("clear", raw=message)
        return Sent("other", raw=message)


class KooKooPeer(Peer):
    provider = "kookoo"
    fmt = L16_8K
    start_messages: ClassVar[list[dict[str, Any]]] = [kookoo.START]
    stream_id = kookoo.UCID
    call_id = kookoo.UCID
    native_dtmf = False

    @staticmethod
    def codec() -> ProviderCodec:
        return KooKooCodec()

    async def start(self) -> None:
        await super().start()
        await self.send(kookoo.media([0] * 160, rate=16000))  # the stray first packet

    async def media(self, payload: bytes, chunk: int) -> None:
        await self.send(kookoo.media(array("h", payload).tolist()))

    def classify(self, raw: str | bytes) -> Sent:
        message = json.loads(raw)
        if message.get("event") == "media":
            samples = message["data"]["samples"]
            return Sent(
                "audio", audio=array("h", samples).tobytes(), name=message["seqid"], raw=message
            )
        command = message.get("command")
        if command == "clearBuffer":
            return Sent("clear", raw=message)
        if command == "callDisconnect":
            return Sent("hangup", raw=message)
        return Sent("other", raw=message)

    async def receive_until_mark(self, name: str, audio_bytes: int) -> bytes:
        audio = bytearray()
        while len(audio) < audio_bytes:
            audio += (await self.receive()).audio
        return bytes(audio)

    async def play_out(self, name: str) -> None:
        # KooKoo acknowledges every packet as it plays; the codec turns that into the mark.
        for item in self.sent:
            if item.kind == "audio":
                await self.send(kookoo.ack(item.name))


PEERS: list[type[Peer]] = [Peer, SignalWirePeer, ExotelPeer, TelnyxPeer, VonagePeer, KooKooPeer]
