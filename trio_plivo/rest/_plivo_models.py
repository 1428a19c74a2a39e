"""Typed results of the Plivo REST calls.

Plivo adds response fields without notice, so each result keeps the whole decoded JSON body
in ``raw`` next to the fields we type; parsing is lenient (a missing or oddly typed field
becomes ``None``), except for the one field a result cannot exist without.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from .._timestamps import parse_timestamp

__all__ = ["DtmfSent", "StreamInfo", "StreamList", "StreamStarted"]

JSONObject = Mapping[str, object]


def _str(data: JSONObject, key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _int(data: JSONObject, key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _bool(data: JSONObject, key: str) -> bool | None:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _time(data: JSONObject, key: str) -> datetime | None:
    return parse_timestamp(_str(data, key))


@attrs.frozen(kw_only=True)
class StreamStarted:
    """``start_stream`` succeeded: ``stream_id`` is the ``streamId`` the socket will carry."""

    stream_id: str
    api_id: str | None
    message: str | None
    raw: JSONObject = attrs.field(hash=False, repr=False)

    @classmethod
    def from_json(cls, data: JSONObject, stream_id: str) -> StreamStarted:
        return cls(
            stream_id=stream_id,
            api_id=_str(data, "api_id"),
            message=_str(data, "message"),
            raw=data,
        )


@attrs.frozen(kw_only=True)
class StreamInfo:
    """One audio stream of a call, as ``get_stream``/``list_streams`` describe it."""

    stream_id: str | None
    call_uuid: str | None
    service_url: str | None
    status: str | None
    audio_track: str | None
    bidirectional: bool | None
    status_callback_url: str | None
    start_time: datetime | None
    end_time: datetime | None
    raw: JSONObject = attrs.field(hash=False, repr=False)

    @classmethod
    def from_json(cls, data: JSONObject) -> StreamInfo:
        return cls(
            stream_id=_str(data, "stream_id"),
            call_uuid=_str(data, "call_uuid"),
            service_url=_str(data, "service_url"),
            status=_str(data, "status"),
            audio_track=_str(data, "audio_track"),
            bidirectional=_bool(data, "bidirectional"),
            status_callback_url=_str(data, "status_callback_url"),
            start_time=_time(data, "start_time"),
            end_time=_time(data, "end_time"),
            raw=data,
        )


@attrs.frozen(kw_only=True)
class StreamList:
    """The streams of a call (``list_streams``). ``total_count`` is Plivo's count, which may
    exceed ``len(streams)`` when the result is paginated."""

    streams: tuple[StreamInfo, ...]
    api_id: str | None
    total_count: int | None
    raw: JSONObject = attrs.field(hash=False, repr=False)

    @classmethod
    def from_json(cls, data: JSONObject) -> StreamList:
        objects = data.get("objects")
        items = objects if isinstance(objects, list) else []
        meta = data.get("meta")
        meta = meta if isinstance(meta, Mapping) else {}
        # Plivo's fixtures say "count", its API reference says "total_count".
        total = _int(meta, "total_count")
        return cls(
            streams=tuple(StreamInfo.from_json(o) for o in items if isinstance(o, Mapping)),
            api_id=_str(data, "api_id"),
            total_count=total if total is not None else _int(meta, "count"),
            raw=data,
        )


@attrs.frozen(kw_only=True)
class DtmfSent:
    """``send_dtmf`` was accepted."""

    api_id: str | None
    message: str | None
    raw: JSONObject = attrs.field(hash=False, repr=False)

    @classmethod
    def from_json(cls, data: JSONObject) -> DtmfSent:
        return cls(api_id=_str(data, "api_id"), message=_str(data, "message"), raw=data)
