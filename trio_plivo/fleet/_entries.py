"""A registered call as the fleet sees it, and its JSON form in Redis."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import attrs
import orjson

from .._exceptions import ConfigurationError

__all__ = ["CallEntry", "decode_entry", "encode_entry", "encode_json"]

log = logging.getLogger("trio_plivo.fleet")


@attrs.frozen
class CallEntry:
    """One live call somewhere in the fleet."""

    #: The provider's call id (Plivo ``CallUUID``, Twilio ``CallSid`` ...).
    call_id: str
    #: The media stream's id on the provider's side.
    stream_id: str
    #: The node (process) serving the call's stream.
    node: str
    #: What the application registered with it (JSON values: caller, number, started ...).
    info: Mapping[str, object]
    #: When the node registered it, Unix time on that node's clock.
    registered_at: float

    def to_dict(self) -> dict[str, object]:
        """The entry as a JSON-ready dict (what a control API lists)."""
        return {
            "call_id": self.call_id,
            "stream_id": self.stream_id,
            "node": self.node,
            "info": dict(self.info),
            "registered_at": self.registered_at,
        }


def encode_json(value: Mapping[str, object], what: str) -> str:
    """``value`` as JSON text; :class:`ConfigurationError` naming ``what`` if it is not JSON."""
    try:
        return orjson.dumps(value).decode()
    except TypeError as error:
        raise ConfigurationError(f"{what} must hold only JSON values: {error}") from None


def encode_entry(entry: CallEntry) -> str:
    return encode_json(entry.to_dict(), "call info")


def decode_entry(text: str, node: str) -> CallEntry | None:
    """The entry stored for ``node``, or ``None`` (logged) if another version or a stray writer
    left something we cannot read: one bad entry never hides the others."""
    try:
        raw = orjson.loads(text)
        info = raw["info"]
        entry = CallEntry(
            call_id=str(raw["call_id"]),
            stream_id=str(raw["stream_id"]),
            node=node,
            info=info if isinstance(info, dict) else {},
            registered_at=float(raw["registered_at"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        log.warning("unreadable call entry of node %r skipped: %s", node, error)
        return None
    return entry
