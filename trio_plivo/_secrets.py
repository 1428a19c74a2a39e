"""Secrets and certificates from files or the environment, for ``trio-plivo serve`` in one
process and under ``--workers`` alike: never from an argument list, which any user of the
machine can read in the process table."""

from __future__ import annotations

import os
import ssl
from typing import Final

from ._exceptions import ConfigurationError

__all__ = [
    "BROWSER_TOKEN_ENV",
    "CONTROL_TOKEN_ENV",
    "browser_token",
    "control_token",
    "load_certificate",
    "read_secret_file",
    "tls_context",
]

BROWSER_TOKEN_ENV: Final = "TRIO_PLIVO_BROWSER_TOKEN"
CONTROL_TOKEN_ENV: Final = "TRIO_PLIVO_CONTROL_TOKEN"


def read_secret_file(path: str, option: str) -> str:
    """The secret in ``path`` (surrounding white space removed); a clear
    :class:`~trio_plivo.ConfigurationError` naming ``option`` when it cannot be read or is
    empty. The secret itself never appears in the message."""
    try:
        with open(path, encoding="utf-8") as file:
            secret = file.read().strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {option} {path}: {exc.strerror}") from None
    if not secret:
        raise ConfigurationError(f"{option} {path} is empty")
    return secret


def _secret(path: str | None, option: str, env: str) -> str | None:
    if path:
        return read_secret_file(path, option)
    return os.environ.get(env, "").strip() or None


def browser_token(path: str | None) -> str | None:
    """The browser page's token: ``--browser-token-file``, else $TRIO_PLIVO_BROWSER_TOKEN."""
    return _secret(path, "--browser-token-file", BROWSER_TOKEN_ENV)


def control_token(control: bool, path: str | None) -> str | None:
    """The control API's token when ``--control``: ``--control-token-file``, else
    $TRIO_PLIVO_CONTROL_TOKEN; a ConfigurationError (exit 2) when there is none."""
    if not control:
        if path:
            raise ConfigurationError("--control-token-file goes with --control")
        return None
    token = _secret(path, "--control-token-file", CONTROL_TOKEN_ENV)
    if token is None:
        raise ConfigurationError(
            "--control needs a bearer token: set $TRIO_PLIVO_CONTROL_TOKEN or pass "
            "--control-token-file FILE"
        )
    return token


def tls_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext | None:
    """The server's TLS context from ``--certfile``/``--keyfile`` (a usage error when only
    one is given or the files do not load); ``None`` without them."""
    if not certfile and not keyfile:
        return None
    if not (certfile and keyfile):
        raise ConfigurationError("--certfile and --keyfile go together")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    load_certificate(context, certfile, keyfile)
    return context


def load_certificate(context: ssl.SSLContext, certfile: str, keyfile: str) -> None:
    """Load (or load again: a renewed certificate) the chain and key into ``context``."""
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot load --certfile {certfile} / --keyfile {keyfile}: {exc}"
        ) from None
