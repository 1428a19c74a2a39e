"""``Call.caller_audio()``: the caller's audio as PCM16, each inbound frame decoded once."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..audio import WireDecoder
from ..protocol import InboundEvent, Media

__all__ = ["CallerAudioIterator"]


class CallerAudioIterator:
    """``Call.caller_audio()``: inbound media events decoded to PCM16, nothing else."""

    def __init__(self, events: AsyncIterator[InboundEvent], decoder: WireDecoder) -> None:
        self._events = events
        self._decoder = decoder

    def __aiter__(self) -> CallerAudioIterator:
        return self

    async def __anext__(self) -> bytes:
        while True:
            event = await anext(self._events)
            if isinstance(event, Media) and event.track == "inbound":
                return self._decoder.decode(event.payload)
