"""Every Redis key and channel name the fleet uses, in one place.

All of them start with the namespace (``trio-plivo`` unless configured), so one Redis can serve
several fleets, or other applications, side by side.
"""

from __future__ import annotations

import hashlib

import attrs

from .._exceptions import ConfigurationError

__all__ = ["FleetKeys", "nonce_digest"]


def nonce_digest(nonce: str) -> bytes:
    """16 bytes standing for ``nonce``: a huge or binary nonce from a request costs no more
    memory, and makes no longer key, than a short one."""
    return hashlib.blake2b(nonce.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@attrs.frozen
class FleetKeys:
    """Names under one namespace."""

    namespace: str = attrs.field()

    @namespace.validator
    def _check(self, _attribute: object, value: str) -> None:
        if not value or any(c.isspace() for c in value):
            raise ConfigurationError(f"namespace must be a non-empty word, not {value!r}")

    @property
    def nodes(self) -> str:
        """Sorted set: every node that registered calls, scored by its last refresh (Unix time);
        only an index to find the per-node hashes, pruned of long-silent nodes."""
        return f"{self.namespace}:nodes"

    def calls(self, node: str) -> str:
        """Hash: call id -> entry (JSON) for one node; expires unless the node refreshes it."""
        return f"{self.namespace}:calls:{node}"

    def owner(self, call_or_stream_id: str) -> str:
        """String: the node serving that call, under its call id and under its stream id."""
        return f"{self.namespace}:owner:{call_or_stream_id}"

    def commands(self, node: str) -> str:
        """Channel the node serves commands on."""
        return f"{self.namespace}:commands:{node}"

    def replies(self, node: str, token: str) -> str:
        """Channel one directory instance receives its replies on."""
        return f"{self.namespace}:replies:{node}:{token}"

    def nonce(self, nonce: str) -> str:
        """String: a nonce seen within the window (by its digest)."""
        return f"{self.namespace}:nonce:{nonce_digest(nonce).hex()}"
