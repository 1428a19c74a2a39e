"""Built-in applications, runnable by name with ``trio-plivo serve NAME``."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable

from .._exceptions import ConfigurationError
from ..call import CallHandler, CallHooks
from .agent import agent
from .echo import echo

__all__ = ["BUILTIN_APPS", "agent", "echo", "load_app"]

#: Built-in app name -> handler.
BUILTIN_APPS: dict[str, CallHandler] = {"agent": agent, "echo": echo}


def load_app(spec: str) -> CallHandler:
    """Resolve ``spec``: a built-in app name, or ``package.module:function``.

    The current directory is searched first (as uvicorn and hypercorn do), so
    ``trio-plivo serve mybot:app`` works from the folder holding ``mybot.py``. The result is
    checked now, not at the first call: an app is an ``async def app(call)`` (any callable
    whose call returns an awaitable and takes one argument) or a :class:`CallHooks`.
    """
    if spec in BUILTIN_APPS:
        return BUILTIN_APPS[spec]
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(
            f"unknown app {spec!r}: use a built-in name ({', '.join(sorted(BUILTIN_APPS))}) "
            "or package.module:function"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot import {module_name!r}: {exc} (looked in the current directory "
            f"{os.getcwd()} and the Python path)"
        ) from exc
    handler: object = module
    for part in attr.split("."):
        handler = getattr(handler, part, None)
        if handler is None:
            raise ConfigurationError(f"{module_name!r} has no attribute {attr!r}")
    _check_app(spec, handler)
    app: Callable[..., object] = handler  # type: ignore[assignment]
    return app  # type: ignore[return-value]


def _check_app(spec: str, handler: object) -> None:
    """Refuse at start-up what would fail every call with 1011."""
    if isinstance(handler, CallHooks):
        return
    what = f"{spec!r} is not an app: an app is `async def app(call)` or a CallHooks"
    if not callable(handler):
        raise ConfigurationError(f"{what} (it is not callable)")
    target = handler if inspect.isroutine(handler) else type(handler).__call__
    if not inspect.iscoroutinefunction(target):
        raise ConfigurationError(f"{what} (it is not an async function)")
    try:
        inspect.signature(handler).bind(object())
    except TypeError:
        raise ConfigurationError(
            f"{what} (it does not take exactly one argument, the call)"
        ) from None
    except ValueError:
        return  # no signature to check (a builtin): let it be
