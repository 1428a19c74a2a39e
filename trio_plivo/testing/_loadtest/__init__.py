"""The load tester: real-time simulated provider callers against a stream server.

``_generator`` runs one worker's calls (one ticker, never a task per frame), ``_wire`` is each
provider's light per-frame wire, ``_report`` aggregates measurements, ``_progress`` shows a live
status line, ``_runner`` splits calls over processes and merges their reports.
"""

from __future__ import annotations

from ._generator import SLOTS, LoadtestJob, media_message, run_worker
from ._progress import Progress
from ._runner import pool_map, run_loadtest, run_loadtest_async, split
from ._wire import frame_payload, read_payload_header

__all__ = [
    "SLOTS",
    "LoadtestJob",
    "Progress",
    "frame_payload",
    "media_message",
    "pool_map",
    "read_payload_header",
    "run_loadtest",
    "run_loadtest_async",
    "run_worker",
    "split",
]
