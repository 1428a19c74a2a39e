"""Stream status callbacks: what Plivo posts to a ``<Stream statusCallbackUrl=...>``.

Plivo reports a stream's life out of band, as form fields (POST) or query parameters (GET):
``StartStream`` once audio flows, ``StopStream`` when it is stopped on purpose or times out,
``DroppedStream`` when the socket could not connect or was cut (also for a consumer too slow
to keep up), ``DegradedStream`` when Plivo's outbound buffer fills to 30/60/90 %. The full
parameter list is not documented, so parsing is lenient: the fields we can identify are
typed, everything else stays in :attr:`StreamStatusEvent.params`, unknown ``Event`` values are
kept as text, and nothing here raises on odd input.

Validate the request's signature (:mod:`trio_plivo.signatures`) before trusting any of it;
:class:`~trio_plivo.web.PlivoFront` parses them at ``/status``, after checking the signature
when its server has a validator.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Final

import attrs

from .._timestamps import parse_timestamp

__all__ = ["StreamStatus", "StreamStatusEvent", "parse_stream_status"]


class StreamStatus(enum.Enum):
    """The documented values of the ``Event`` parameter."""

    START = "StartStream"
    STOP = "StopStream"
    DROPPED = "DroppedStream"
    DEGRADED = "DegradedStream"


# Parameter spellings seen across Plivo callbacks and the stream API, compared after
# lower-casing and removing '_' and '-' ("StreamID", "stream_id", "streamId" all match).
_EVENT_KEYS: Final = ("event", "eventname")
_STREAM_ID_KEYS: Final = ("streamid", "streamuuid")
_CALL_UUID_KEYS: Final = ("calluuid", "callid")
_TIMESTAMP_KEYS: Final = ("timestamp", "eventtimestamp", "time")


@attrs.frozen(kw_only=True)
class StreamStatusEvent:
    """One status callback. ``status`` is ``None`` for an ``Event`` value this library does
    not know (the raw text is in ``event``)."""

    #: The raw ``Event`` value (``None`` if the request had none).
    event: str | None
    #: ``event`` as a :class:`StreamStatus` when it is one of the documented values.
    status: StreamStatus | None
    stream_id: str | None
    call_uuid: str | None
    #: When Plivo says the event happened (timezone-aware; naive values are taken as UTC).
    timestamp: datetime | None
    #: Every parameter as received, including the ones parsed above.
    params: Mapping[str, str] = attrs.field(hash=False)

    @property
    def is_problem(self) -> bool:
        """True for ``DroppedStream`` and ``DegradedStream``: worth an alert or a log line."""
        return self.status in (StreamStatus.DROPPED, StreamStatus.DEGRADED)


def _normalise_key(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _find(params: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    by_key = {_normalise_key(k): v for k, v in params.items()}
    for name in names:
        value = by_key.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def parse_stream_status(params: Mapping[str, str]) -> StreamStatusEvent:
    """Parse a status callback's form fields (POST) or query parameters (GET).

    Never raises on unexpected content: unknown events and keys are kept, unparseable
    timestamps become ``None``.
    """
    copied = {str(k): str(v) for k, v in params.items()}
    event = _find(copied, _EVENT_KEYS)
    try:
        status = None if event is None else StreamStatus(event)
    except ValueError:
        status = None
    return StreamStatusEvent(
        event=event,
        status=status,
        stream_id=_find(copied, _STREAM_ID_KEYS),
        call_uuid=_find(copied, _CALL_UUID_KEYS),
        timestamp=parse_timestamp(_find(copied, _TIMESTAMP_KEYS)),
        params=copied,
    )
