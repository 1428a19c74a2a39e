"""An append-only JSON Lines log of call events, one file per UTC day.

Each line is one JSON object ``{"ts": ..., "call_id": ..., "event": ..., ...fields}``, written
and flushed as it happens, so ``tail -f`` and crash forensics see every event. Timestamps are
supplied by the caller (seconds since the Unix epoch) and also pick the day's file,
``events-YYYY-MM-DD.jsonl``; the log never reads a clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Final

import orjson

from .._exceptions import ConfigurationError
from ._closing import ClosedOnExit

__all__ = ["JsonlEventLog"]

_RESERVED: Final = frozenset({"ts", "call_id", "event"})
_PAYLOAD_KEY: Final = "payload"


def _strip_payloads(fields: Mapping[str, object]) -> dict[str, object]:
    """``fields`` without any ``payload`` keys or raw bytes, at any depth."""
    return {
        key: _strip_value(item)
        for key, item in fields.items()
        if key != _PAYLOAD_KEY and not isinstance(item, bytes | bytearray | memoryview)
    }


def _strip_value(value: object) -> object:
    if isinstance(value, Mapping):
        return _strip_payloads(value)
    if isinstance(value, list | tuple):
        return [
            _strip_value(item)
            for item in value
            if not isinstance(item, bytes | bytearray | memoryview)
        ]
    return value


def _json_default(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)  # a log line beats an exception in the middle of a call


class JsonlEventLog(ClosedOnExit):
    """Append call events as JSON lines to ``directory/events-YYYY-MM-DD.jsonl`` (UTC days).

    Audio payloads are large and sensitive, so fields named ``payload`` and bytes values are
    left out unless ``include_payloads=True`` (then bytes are base64).
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, include_payloads: bool = False
    ) -> None:
        self.directory: Final = Path(directory)
        self.include_payloads: Final = include_payloads
        self.directory.mkdir(parents=True, exist_ok=True)
        self._day: dt.date | None = None
        self._file: IO[bytes] | None = None
        self._closed = False

    def path_for(self, ts: float) -> Path:
        """The file that an event at ``ts`` (Unix seconds) goes to."""
        day = dt.datetime.fromtimestamp(ts, tz=dt.UTC).date()
        return self.directory / f"events-{day.isoformat()}.jsonl"

    def log(
        self, ts: float, call_id: str, event: str, fields: Mapping[str, object] | None = None
    ) -> None:
        """Append one event. ``fields`` may not use the keys ``ts``, ``call_id``, ``event``."""
        if self._closed:
            raise ConfigurationError("JsonlEventLog is closed")
        record: dict[str, object] = {"ts": ts, "call_id": call_id, "event": event}
        if fields:
            clash = _RESERVED.intersection(fields)
            if clash:
                raise ConfigurationError(f"event fields may not override {sorted(clash)}")
            record.update(fields if self.include_payloads else _strip_payloads(fields))
        line = orjson.dumps(record, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)
        handle = self._file_for(ts)
        handle.write(line)
        handle.flush()

    def _file_for(self, ts: float) -> IO[bytes]:
        day = dt.datetime.fromtimestamp(ts, tz=dt.UTC).date()
        if self._file is None or day != self._day:
            if self._file is not None:
                self._file.close()
            self._file = open(self.path_for(ts), "ab")  # noqa: SIM115 (kept open across events)
            self._day = day
        return self._file

    def close(self) -> None:
        """Close the current file. Idempotent."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None
