"""Telnyx media streaming, sans-IO (``../shared/protocols.md`` §5).

Twilio-shaped with snake_case keys (``stream_id``, ``sequence_number``, ``media_format``) and
no stream id on outbound messages. Two things need care:

* **Media may arrive out of order** (Telnyx says so). The codec keeps a small reorder window
  per track, keyed by ``media.chunk``: a frame ahead of the next expected chunk is held until
  the gap fills or the window overflows (then the gap is given up as lost, and a frame for it
  arriving later is dropped and counted in :attr:`TelnyxCodec.late_frames`). This is why
  :meth:`receive` returns a sequence: one message can release several frames, or none.
  ``stop`` releases whatever is still held, in order, before the :class:`Stop`.
* **The codec is negotiated** (PCMU, PCMA or L16 at 8-48 kHz, from ``start.media_format``).
  G.722, Opus and AMR-WB are not supported by the call layer: such a ``start`` is refused
  with a RemoteProtocolError naming the encoding. L16 is an RTP payload, so it is taken as
  big-endian (RFC 3551 network order) -- UNCONFIRMED for Telnyx; ``l16_byte_order`` overrides.

``dtmf`` and ``error`` shapes are UNCONFIRMED: ``dtmf.digit`` or a top-level ``digit``; an
``error`` becomes :class:`StreamError` with whatever detail/title it carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import attrs

from .._exceptions import ConfigurationError
from .._format import MULAW_8K, AudioFormat, Encoding
from ._events import InboundEvent, Media, Start
from ._fields import first, need_object, need_str, opt_str, parse_media_format, string_map
from .twilio import TwilioShapedCodec

__all__ = ["TelnyxCodec"]


@attrs.define(slots=True)
class _Track:
    """Reorder state of one track: the next chunk number due and the frames held early."""

    expected: int
    held: dict[int, Media] = attrs.field(factory=dict)


class TelnyxCodec(TwilioShapedCodec):
    """One Telnyx media stream (bidirectional ``rtp`` mode).

    ``reorder_window`` is how many early frames are held per track while waiting for a
    missing one (5 frames = 100 ms of added latency at most, only when something is missing;
    0 delivers in arrival order). ``l16_byte_order`` is the byte order of L16 payloads.
    """

    provider = "telnyx"
    acks_checkpoints_on_clear = False  # undocumented; the call resolves marks either way
    STREAM_KEYS: ClassVar[tuple[str, ...]] = ("stream_id",)
    SEQUENCE_KEYS: ClassVar[tuple[str, ...]] = ("sequence_number",)
    OUT_STREAM_KEY: ClassVar[str | None] = None

    def __init__(
        self, *, reorder_window: int = 5, l16_byte_order: Literal["little", "big"] = "big"
    ) -> None:
        super().__init__()
        if reorder_window < 0:
            raise ConfigurationError(f"reorder_window must be >= 0, got {reorder_window}")
        if l16_byte_order not in ("little", "big"):
            raise ConfigurationError("l16_byte_order must be 'little' or 'big'")
        self._window = reorder_window
        self._l16_byte_order = l16_byte_order
        self._tracks: dict[str, _Track] = {}
        #: Frames that arrived after their place in the stream had been given up (dropped).
        self.late_frames = 0

    def _parse_start(self, msg: dict[str, Any]) -> Start:
        body = need_object(msg, ("start",), "start")
        stream_id = need_str(
            first(msg, self.STREAM_KEYS) or body.get("stream_id"), "stream_id", "start"
        )
        fmt = parse_media_format(first(body, ("media_format", "mediaFormat")), MULAW_8K)
        if fmt.encoding is Encoding.L16:
            fmt = attrs.evolve(fmt, byte_order=self._l16_byte_order)
        headers = {
            key: str(value)
            for key in ("call_session_id", "from", "to", "client_state")
            if (value := body.get(key)) is not None and not isinstance(value, dict | list)
        }
        return Start(
            call_id=need_str(body.get("call_control_id"), "call_control_id", "start"),
            stream_id=stream_id,
            account_id=opt_str(body.get("user_id"), "user_id", "start"),
            media_format=fmt,
            extra_headers=headers,
            custom_parameters=string_map(
                body.get("custom_parameters"), "custom_parameters", "start"
            ),
            sequence_number=self._sequence(msg, "start"),
        )

    def _deliver_media(self, media: Media) -> Sequence[InboundEvent]:
        chunk = media.chunk
        if chunk is None or not self._window:
            return (media,)
        track = self._tracks.get(media.track)
        if track is None:
            self._tracks[media.track] = _Track(expected=chunk + 1)
            return (media,)
        if chunk == track.expected and not track.held:
            track.expected = chunk + 1  # the common case: in order, nothing held
            return (media,)
        if chunk < track.expected or chunk in track.held:
            self.late_frames += 1
            return ()
        track.held[chunk] = media
        if len(track.held) > self._window:
            track.expected = min(track.held)  # give up on the gap
        return self._release(track)

    @staticmethod
    def _release(track: _Track) -> list[InboundEvent]:
        out: list[InboundEvent] = []
        held = track.held
        while track.expected in held:
            out.append(held.pop(track.expected))
            track.expected += 1
        return out

    def _flush_media(self) -> Sequence[InboundEvent]:
        out: list[InboundEvent] = []
        for track in self._tracks.values():
            out.extend(track.held[chunk] for chunk in sorted(track.held))
            track.held.clear()
        return out

    # AudioFormat for the answer side: what to ask for in TeXML/Call Control.
    @staticmethod
    def codec_name(fmt: AudioFormat) -> str:
        """The Telnyx codec name for ``fmt`` (``PCMU``, ``PCMA``, ``L16``)."""
        return {Encoding.MULAW: "PCMU", Encoding.ALAW: "PCMA", Encoding.L16: "L16"}[fmt.encoding]
