"""Live progress of a load test across worker processes: shared counters and the status line."""

from __future__ import annotations

import math
import multiprocessing
import sys
import threading
import time
from collections.abc import Sequence
from ctypes import c_int64
from typing import IO, Any

import numpy as np

from ._report import WorkerReport

__all__ = ["Progress"]


class Progress:
    """Live counters shared with worker processes: per worker, calls connected, frames sent
    and received, and a 1 ms histogram of echo latency (last bucket: 1 s or more)."""

    BUCKETS = 1001
    STRIDE = 3 + BUCKETS

    def __init__(self, workers: int) -> None:
        self.workers = workers
        context = multiprocessing.get_context(_start_method())
        self.array: Any = context.RawArray(c_int64, workers * self.STRIDE)

    def publish(self, worker: int, report: WorkerReport, new_rtts: Sequence[float]) -> None:
        """Called by worker ``worker`` with its counters and the latencies since last time."""
        base = worker * self.STRIDE
        a = self.array
        a[base] = report.connected
        a[base + 1] = report.live_sent
        a[base + 2] = report.live_received
        if new_rtts:
            buckets = np.minimum((np.asarray(new_rtts) * 1e3).astype(np.int64), self.BUCKETS - 1)
            for bucket, n in zip(*np.unique(buckets, return_counts=True), strict=True):
                a[base + 3 + int(bucket)] += int(n)

    def totals(self) -> tuple[int, int, int, float]:
        """(connected, sent, received, echo latency p99 in ms so far; NaN before any)."""
        a = np.frombuffer(self.array, dtype=np.int64).reshape(self.workers, self.STRIDE)
        counts = a[:, :3].sum(axis=0)
        hist = a[:, 3:].sum(axis=0)
        total = int(hist.sum())
        p99 = math.nan
        if total:
            p99 = float(np.searchsorted(np.cumsum(hist), math.ceil(0.99 * total)) + 1)
        return int(counts[0]), int(counts[1]), int(counts[2]), p99


def _progress_line(progress: Progress, calls: int, elapsed: float) -> str:
    connected, sent, received, p99 = progress.totals()
    if math.isnan(p99):
        p99_text = "-"
    elif p99 >= Progress.BUCKETS:
        p99_text = f">= {Progress.BUCKETS - 1} ms"
    else:
        p99_text = f"<= {p99:.0f} ms"
    return (
        f"[{elapsed:4.0f}s] calls connected {connected}/{calls}  frames sent {sent} "
        f"received {received}  echo p99 so far {p99_text}"
    )


class _Display:
    """One updating progress line on ``stream`` per second, from a thread of the parent."""

    def __init__(self, progress: Progress, calls: int, stream: IO[str]) -> None:
        self._progress = progress
        self._calls = calls
        self._stream = stream
        self._stop = threading.Event()
        self._tty = stream.isatty()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> _Display:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._show()
        if self._tty:
            self._stream.write("\n")
        self._stream.flush()

    def _show(self) -> None:
        line = _progress_line(self._progress, self._calls, time.monotonic() - self._started)
        self._stream.write(f"\r{line}\x1b[K" if self._tty else f"{line}\n")
        self._stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._show()


# ------------------------------------------------------------------------- the worker


def _start_method() -> str:
    return "fork" if sys.platform == "linux" else "spawn"
