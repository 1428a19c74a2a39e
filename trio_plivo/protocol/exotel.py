"""Exotel AgentStream (Voicebot applet), sans-IO (``../shared/protocols.md`` §4).

Twilio-shaped, with three twists:

* **Key casing varies.** Exotel's applet docs use snake_case (``stream_sid``,
  ``sequence_number``, ``media_format``); Exotel's own bridges send and read camelCase
  (``streamSid``) and say the names "can vary by applet / Connect path". Inbound, both are
  read everywhere; outbound, the casing is a setting (default snake_case ``stream_sid``).
* **Audio is PCM16 little-endian**, 8 kHz by default (16/24 kHz via ``?sample-rate=`` on the
  stream URL, announced in ``start.media_format``).
* **Outbound chunks must be multiples of 320 bytes** (others leave 20 ms gaps), so the codec
  asks the call for 100 ms frames (``frame_ms = 100``: 1600 B at 8 kHz, 3200 B at 16 kHz,
  4800 B at 24 kHz -- all multiples of 320) and refuses any other size.

``stop`` carries a reason (``stopped``: the applet finished; ``callended``). There is no
in-stream hang-up: closing the socket ends the applet.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar, Final, Literal

from .._exceptions import ConfigurationError, LocalProtocolError
from .._format import L16_8K, AudioFormat, Encoding
from ._events import PlayAudio, Start
from ._fields import dumps, first, need_object, need_str, opt_str, parse_media_format, string_map
from .twilio import TwilioShapedCodec

__all__ = ["ExotelCodec"]

#: Exotel plays outbound audio in units of this many bytes (20 ms of 8 kHz PCM16).
CHUNK_UNIT: Final = 320
#: Exotel's documented upper bound for one outbound media message.
MAX_CHUNK: Final = 100_000

Casing = Literal["snake", "camel"]


class ExotelCodec(TwilioShapedCodec):
    """One Exotel Voicebot stream.

    ``casing`` picks the outbound stream-id key (``"snake"``: ``stream_sid``, the documented
    spelling; ``"camel"``: ``streamSid``, what Exotel's own bridges send).
    ``media_counters=True`` adds ``chunk``/``timestamp``/``sequenceNumber`` strings to
    outbound media, which Exotel's bridges do because some Connect paths reportedly end the
    stream without them. ``sample_rate`` is the ``?sample-rate=`` you put on the stream URL,
    used only when ``start`` announces no format.
    """

    provider = "exotel"
    frame_ms = 100
    # Whether Exotel echoes marks on clear is undocumented; the call resolves them either way.
    acks_checkpoints_on_clear = False
    STREAM_KEYS: ClassVar[tuple[str, ...]] = ("stream_sid", "streamSid")
    SEQUENCE_KEYS: ClassVar[tuple[str, ...]] = ("sequence_number", "sequenceNumber")
    OUT_STREAM_KEY: ClassVar[str | None] = "stream_sid"
    DEFAULT_FORMAT: ClassVar[AudioFormat] = L16_8K

    def __init__(
        self,
        *,
        casing: Casing = "snake",
        media_counters: bool = False,
        sample_rate: int = 8000,
    ) -> None:
        super().__init__()
        if casing not in ("snake", "camel"):
            raise ConfigurationError(f"casing must be 'snake' or 'camel', got {casing!r}")
        if sample_rate not in (8000, 16000, 24000):
            raise ConfigurationError(f"Exotel streams 8000, 16000 or 24000 Hz, not {sample_rate}")
        self._out_stream_key = "stream_sid" if casing == "snake" else "streamSid"
        self._default_format = AudioFormat(encoding=Encoding.L16, sample_rate=sample_rate)
        self._media_counters = media_counters
        self._chunks_sent = 0
        self._ms_sent = 0.0

    def _parse_start(self, msg: dict[str, Any]) -> Start:
        body = need_object(msg, ("start",), "start")
        stream_id = need_str(
            first(body, self.STREAM_KEYS) or first(msg, self.STREAM_KEYS), "stream_sid", "start"
        )
        headers = {
            key: str(value)
            for key in ("from", "to")
            if (value := body.get(key)) is not None and not isinstance(value, dict | list)
        }
        return Start(
            call_id=need_str(first(body, ("call_sid", "callSid")), "call_sid", "start"),
            stream_id=stream_id,
            account_id=opt_str(first(body, ("account_sid", "accountSid")), "account_sid", "start"),
            media_format=parse_media_format(
                first(body, ("media_format", "mediaFormat")), self._default_format
            ),
            extra_headers=headers,
            custom_parameters=string_map(
                first(body, ("custom_parameters", "customParameters")), "custom_parameters", "start"
            ),
            sequence_number=self._sequence(msg, "start"),
        )

    def _play_audio(self, command: PlayAudio) -> str:
        fmt = self._check_audio(command)
        size = len(command.payload)
        if size % CHUNK_UNIT or size > MAX_CHUNK:
            raise LocalProtocolError(
                f"Exotel media of {size} bytes: chunks must be multiples of {CHUNK_UNIT} bytes "
                f"up to {MAX_CHUNK} (others leave audible gaps)"
            )
        media: dict[str, Any] = {"payload": base64.b64encode(command.payload).decode("ascii")}
        if self._media_counters:
            self._chunks_sent += 1
            media["chunk"] = str(self._chunks_sent)
            media["timestamp"] = str(int(self._ms_sent))
            media["sequenceNumber"] = str(self._chunks_sent)
            self._ms_sent += fmt.duration_ms(size)
        return dumps(self._envelope("media", {"media": media}))
