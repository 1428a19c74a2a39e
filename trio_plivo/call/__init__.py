"""The call layer: one nursery per call, paced playback, awaitable marks."""

from ._call import Call, CallConfig, open_call
from ._handler import CallHandler, serve_call
from ._hooks import CallHooks
from ._marks import Mark, MarkResult, MarkStatus
from ._stats import CallStatistics

__all__ = [
    "Call",
    "CallConfig",
    "CallHandler",
    "CallHooks",
    "CallStatistics",
    "Mark",
    "MarkResult",
    "MarkStatus",
    "open_call",
    "serve_call",
]
