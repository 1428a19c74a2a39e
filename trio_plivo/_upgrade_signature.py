"""Whether a WebSocket upgrade carries Plivo's signature for the URL it addressed."""

from __future__ import annotations

from .signatures import SignatureValidator, validate_websocket_upgrade
from .ws import HandshakeRequest

__all__ = ["forwarded_first", "upgrade_signed"]


def upgrade_signed(validator: SignatureValidator, request: HandshakeRequest) -> bool:
    """Check ``request`` against ``validator``: its ``public_url`` when set, else the URL the
    request addressed (the host it named, as a proxy forwards it)."""
    if validator.public_url is not None:
        return validator.validate_websocket(request.headers, request_target=request.target)
    # Trusting the Host header costs nothing here: a forger still needs a signature made with
    # our token for that exact URL. Pin public_url in production so a signed upgrade for
    # another host of the account cannot be replayed.
    host = forwarded_first(request.headers.get("X-Forwarded-Host")) or request.headers.get("Host")
    if not host:
        return False
    try:
        return validate_websocket_upgrade(
            request.headers,
            public_url=f"ws://{host}{request.path}",
            auth_token=validator.auth_token,
            main_auth_token=validator.main_auth_token,
            request_target=request.target,
        )
    except ValueError:  # a Host that makes no URL (ConfigurationError is a ValueError)
        return False


def forwarded_first(value: str | None) -> str | None:
    """The first (client-side) entry of a comma-separated ``X-Forwarded-*`` header."""
    if value is None:
        return None
    return value.split(",", 1)[0].strip() or None
