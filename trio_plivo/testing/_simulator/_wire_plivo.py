"""Plivo's side of the wire (``../shared/protocols.md`` §1): what the simulator always spoke.

``start`` nests the ids; every later message carries a top-level ``streamId`` and an integer
``sequenceNumber``, and ``extra_headers`` rides on start, media and dtmf. Checkpoints are
answered with ``playedStream`` once played and never after a ``clearAudio``, which Plivo
confirms with ``clearedAudio``. The app's messages are judged by :mod:`._validate`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import ClassVar

from ...transport import Message
from ._validate import CheckedMessage, validate_app_message
from ._wire import JsonWire, WireMessage, epoch_ms

__all__ = ["PlivoWire"]


class PlivoWire(JsonWire):
    """Plivo's side of one stream."""

    provider = "plivo"
    play_event = "playAudio"
    SEQUENCE_KEY: ClassVar[str | None] = "sequenceNumber"
    SEQUENCE_AS_TEXT: ClassVar[bool] = False

    def _common(self) -> dict[str, object]:
        text = self.setup.headers_text
        return {} if text is None else {"extra_headers": text}

    def _timestamp(self, at: float) -> str:
        return str(epoch_ms(self.setup, at))

    def opening(self) -> list[WireMessage]:
        setup = self.setup
        start = {
            "callId": setup.call_id,
            "streamId": setup.stream_id,
            "accountId": setup.account_id,
            "tracks": list(setup.tracks),
            "mediaFormat": {
                "encoding": setup.format.content_type,
                "sampleRate": setup.format.sample_rate,
            },
        }
        return [WireMessage("start", {"start": start, **self._common()})]

    def media(self, chunk: int, at: float, payload: bytes) -> WireMessage:
        media = {
            "track": "inbound",
            "timestamp": self._timestamp(at),
            "chunk": chunk,
            "payload": base64.b64encode(payload).decode("ascii"),
        }
        return WireMessage(
            "media", {"streamId": self.setup.stream_id, "media": media, **self._common()}
        )

    def dtmf(self, digit: str, at: float) -> WireMessage:
        dtmf = {"track": "inbound", "digit": digit, "timestamp": self._timestamp(at)}
        return WireMessage(
            "dtmf", {"streamId": self.setup.stream_id, "dtmf": dtmf, **self._common()}
        )

    def played(self, name: str, at: float) -> WireMessage:
        return WireMessage("playedStream", {"streamId": self.setup.stream_id, "name": name})

    def cleared(self, dropped: Sequence[str]) -> list[WireMessage]:
        return [WireMessage("clearedAudio", {"streamId": self.setup.stream_id})]

    def stop(self) -> WireMessage | None:
        setup = self.setup
        stop = {
            "callId": setup.call_id,
            "streamId": setup.stream_id,
            "accountId": setup.account_id,
            "reason": "callended",
        }
        return WireMessage("stop", {"streamId": setup.stream_id, "stop": stop})

    def check(self, message: Message) -> CheckedMessage:
        return validate_app_message(message, fmt=self.setup.format, stream_id=self.setup.stream_id)
