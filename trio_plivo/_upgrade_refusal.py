"""Refusing a WebSocket upgrade before the 101: a bad signature, a replayed one, and the
debug line every refusal gets.

Plivo's V3 signature covers a nonce and no timestamp, so a captured upgrade request stays
valid: only remembering each nonce for a window turns a replay into a refusal. One process
remembers them itself, synchronously, while the upgrade is routed (a
:class:`~trio_plivo.fleet.LocalNonceCache`); a fleet asks a shared
:class:`~trio_plivo.fleet.NonceCache` (a :class:`~trio_plivo.fleet.RedisNonceCache`), which
takes a round trip, so that check is awaited inside the same handshake deadline.

When the shared cache cannot answer (Redis down, slow, refusing the login), the upgrade is
refused with 503: letting it through would let a replay in exactly while the cache is away.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Final, Protocol

import trio

from ._exceptions import FleetError
from ._upgrade_signature import upgrade_signed
from .signatures import NONCE_HEADER
from .ws import HandshakeRequest, HTTPResponse

if TYPE_CHECKING:
    from .fleet._nonces import LocalNonceCache, NonceCache
    from .signatures import SignatureValidator

__all__ = [
    "INVALID",
    "REPLAYED",
    "UNCHECKED",
    "RefusalCounts",
    "check_shared_nonce",
    "check_signature",
    "count_refusal",
    "log_refusal",
]

logger = logging.getLogger("trio_plivo.server")

INVALID: Final = HTTPResponse(403, b"invalid signature\n")
REPLAYED: Final = HTTPResponse(403, b"replayed signature\n")
UNCHECKED: Final = HTTPResponse(503, b"cannot check the signature for a replay now\n")

#: Of the handshake's time left, this much is kept to write the 503 when the shared cache is
#: too slow to answer within the deadline (one deadline for the whole request head).
ANSWER_MARGIN_S: Final = 0.25


def check_signature(
    validator: SignatureValidator, request: HandshakeRequest, local: LocalNonceCache | None
) -> HTTPResponse | None:
    """:data:`INVALID` for a missing or bad signature, :data:`REPLAYED` when ``local`` (this
    process's cache, if it checks) saw the nonce within its window, else ``None``."""
    if not upgrade_signed(validator, request):
        logger.warning("refused an upgrade with a missing or invalid Plivo signature")
        return INVALID
    nonce = request.headers.get(NONCE_HEADER)
    if local is not None and nonce is not None and local.seen_before_now(nonce):
        logger.warning("refused a replayed upgrade (its signature's nonce was seen before)")
        return REPLAYED
    return None


async def check_shared_nonce(cache: NonceCache, request: HandshakeRequest) -> HTTPResponse | None:
    """Record a validly signed request's nonce in the shared ``cache``: :data:`REPLAYED` when
    any process saw it within the window, :data:`UNCHECKED` (503) when the cache failed
    (:class:`~trio_plivo.fleet.FleetError`, ``OSError``) or cannot answer before the
    handshake's deadline, else ``None``."""
    nonce = request.headers.get(NONCE_HEADER)
    if nonce is None:  # a valid signature always has one; nothing to remember otherwise
        return None
    try:
        with trio.fail_at(trio.current_effective_deadline() - ANSWER_MARGIN_S):
            seen = await cache.seen_before(nonce)
    except (FleetError, OSError, trio.TooSlowError) as exc:
        # FleetError messages name Redis without its password; the nonce is never logged.
        logger.warning(
            "refused a signed upgrade with 503: the shared replay check failed (%s%s)",
            type(exc).__name__,
            f": {exc}" if isinstance(exc, FleetError) else "",
        )
        return UNCHECKED
    if seen:
        logger.warning("refused a replayed upgrade (another process saw its nonce before)")
        return REPLAYED
    return None


def log_refusal(request: HandshakeRequest, refused: HTTPResponse) -> None:
    """The debug line of a refused upgrade: method, path, peer, status and the answer's body
    (our own short reason; never a header of the request)."""
    logger.debug(
        "refused %s %s from %s: %d %s",
        request.method,
        request.path,
        request.remote,
        refused.status,
        refused.body.decode(errors="replace").strip(),
    )


class RefusalCounts(Protocol):
    """Where refused upgrades are counted (a :class:`~trio_plivo.server.StreamServer`)."""

    refusals: Counter[int]
    replays: int
    replay_check_failures: int


def count_refusal(counts: RefusalCounts, refused: HTTPResponse) -> None:
    """Count ``refused`` by status, and as a replay or a failed replay check when it is one
    (the same counters for an upgrade on the server's port and one through ASGI)."""
    counts.refusals[refused.status] += 1
    counts.replays += refused is REPLAYED
    counts.replay_check_failures += refused is UNCHECKED
