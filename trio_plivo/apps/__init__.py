"""Built-in applications, runnable by name with ``trio-plivo serve NAME``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .._exceptions import ConfigurationError
from ..call import CallHandler
from .agent import agent
from .echo import echo

__all__ = ["BUILTIN_APPS", "agent", "echo", "load_app"]

#: Built-in app name -> handler.
BUILTIN_APPS: dict[str, CallHandler] = {"agent": agent, "echo": echo}


def load_app(spec: str) -> CallHandler:
    """Resolve ``spec``: a built-in app name, or ``package.module:function``."""
    if spec in BUILTIN_APPS:
        return BUILTIN_APPS[spec]
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(
            f"unknown app {spec!r}: use a built-in name ({', '.join(sorted(BUILTIN_APPS))}) "
            "or package.module:function"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from exc
    handler: object = module
    for part in attr.split("."):
        handler = getattr(handler, part, None)
        if handler is None:
            raise ConfigurationError(f"{module_name!r} has no attribute {attr!r}")
    if not callable(handler):
        raise ConfigurationError(f"{spec!r} is not callable")
    app: Callable[..., object] = handler
    return app  # type: ignore[return-value]
