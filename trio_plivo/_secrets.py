"""Reading a secret given as a file (``--...-file`` options): never from an argument list,
which any user of the machine can read in the process table."""

from __future__ import annotations

from ._exceptions import ConfigurationError

__all__ = ["read_secret_file"]


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
