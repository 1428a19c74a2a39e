"""Running a load test: calls split over worker processes, each with its own ``trio.run``,
their reports merged into one :class:`LoadtestResult`."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, TypeVar

import trio

from .._simulator._providers import provider_spec
from ._generator import LoadtestJob, run_worker
from ._progress import Progress, _Display, _start_method
from ._report import LoadtestResult, WorkerReport, merge_reports
from ._wire import CallWire

__all__ = ["pool_map", "run_loadtest", "run_loadtest_async", "split"]

_T = TypeVar("_T")
_J = TypeVar("_J")
#: The progress counters a pool worker publishes to (set by the pool initialiser).
_shared_progress: Progress | None = None


def split(total: int, parts: int) -> Iterator[tuple[int, int]]:
    """(offset, count) for ``parts`` near-equal shares of ``total``."""
    offset = 0
    for p in range(parts):
        count = total // parts + (1 if p < total % parts else 0)
        yield offset, count
        offset += count


def _init_worker(progress: Progress | None) -> None:
    global _shared_progress
    _shared_progress = progress


def pool_map(
    function: Callable[[_J], _T], jobs: Sequence[_J], progress: Progress | None = None
) -> list[_T]:
    """``function`` over ``jobs``, one process each (in this process for a single job)."""
    if len(jobs) == 1:
        _init_worker(progress)
        return [function(jobs[0])]
    context = multiprocessing.get_context(_start_method())
    with context.Pool(len(jobs), initializer=_init_worker, initargs=(progress,)) as pool:
        return pool.map(function, jobs)


def _run_job(job: LoadtestJob) -> WorkerReport:
    if job.cpus:
        os.sched_setaffinity(0, job.cpus)
    return trio.run(run_worker, job, _shared_progress)


def _jobs(
    url: str,
    calls: int,
    processes: int,
    **options: Any,
) -> list[LoadtestJob]:
    parts = [(offset, count) for offset, count in split(calls, processes) if count]
    return [
        LoadtestJob(url, count, offset, worker=worker, **options)
        for worker, (offset, count) in enumerate(parts)
    ]


def run_loadtest(
    url: str,
    calls: int,
    *,
    duration: float = 5.0,
    ramp: float = 1.0,
    settle: float = 1.0,
    grace: float = 1.0,
    processes: int = 1,
    dtmf: str | None = "5",
    cpus: set[int] | None = None,
    progress_stream: IO[str] | None = None,
    provider: str = "plivo",
    barge_in_at: float | None = 2.0,
) -> LoadtestResult:
    """``calls`` real-time callers over ``processes`` worker processes: connections spread
    over ``ramp`` s, then ``settle`` s unmeasured, then ``duration`` s measured (loss, gaps
    and checkpoints are counted throughout). With ``progress_stream``, one progress line per
    second is written to it. ``provider`` is whose protocol the callers speak (a name
    ``trio-plivo simulate --provider`` takes; :class:`ConfigurationError` otherwise).
    ``barge_in_at`` seconds into its audio each call presses ``4`` and ``*`` and measures
    the clear and the stale audio after it (``_bargein.py``; ``None``: no barge-in)."""
    provider = provider_spec(provider).name
    jobs = _jobs(
        url,
        calls,
        max(1, processes),
        duration=duration,
        ramp=ramp,
        settle=settle,
        grace=grace,
        dtmf=dtmf,
        cpus=frozenset(cpus) if cpus else None,
        provider=provider,
        barge_in_at=barge_in_at,
    )
    if progress_stream is None:
        reports = pool_map(_run_job, jobs)
    else:
        progress = Progress(len(jobs))
        with _Display(progress, calls, progress_stream):
            reports = pool_map(_run_job, jobs, progress)
    return LoadtestResult(
        url,
        calls,
        duration,
        merge_reports(reports),
        processes=len(jobs),
        ramp=ramp,
        provider=provider,
        key_presses=_presses(provider, dtmf),
        barge_in_at=_barge_in(provider, barge_in_at),
    )


async def run_loadtest_async(
    url: str,
    calls: int,
    *,
    duration: float = 5.0,
    ramp: float = 1.0,
    settle: float = 1.0,
    grace: float = 1.0,
    dtmf: str | None = "5",
    provider: str = "plivo",
    barge_in_at: float | None = 2.0,
) -> LoadtestResult:
    """:func:`run_loadtest` with one worker in the current Trio run (e.g. next to an
    in-process server in a test)."""
    provider = provider_spec(provider).name
    job = LoadtestJob(
        url,
        calls,
        0,
        duration,
        ramp,
        settle,
        grace,
        dtmf,
        provider=provider,
        barge_in_at=barge_in_at,
    )
    report = await run_worker(job)
    return LoadtestResult(
        url,
        calls,
        duration,
        merge_reports([report]),
        ramp=ramp,
        provider=provider,
        key_presses=_presses(provider, dtmf),
        barge_in_at=_barge_in(provider, barge_in_at),
    )


def _presses(provider: str, dtmf: str | None) -> bool:
    """Whether the callers press a key (and so measure checkpoint round trips)."""
    return dtmf is not None and CallWire(provider).has_dtmf_events


def _barge_in(provider: str, at: float | None) -> float | None:
    """When the callers barge in (``None``: never; KooKoo has no DTMF events)."""
    return at if CallWire(provider).has_dtmf_events else None
