"""Every core: one app served by N worker processes on one port, under a small supervisor.

::

    from trio_plivo.workers import run_workers

    # each worker imports myapp.calls:handle itself
    raise SystemExit(run_workers("myapp.calls:handle", workers="auto", host="0.0.0.0", port=8000))

or ``trio-plivo serve APP --workers N|auto``.

Theory of operation. Each worker is a complete Trio stream server (the
:class:`~trio_plivo.server.StreamServer`, or the one-port :class:`~trio_plivo.web.PlivoFront`
with ``answer=True``) with its own listening socket on the shared port, opened with
``SO_REUSEPORT``; the kernel spreads new connections over the workers, and a call lives and
dies with the worker that accepted it. Nothing is shared between workers in memory: what
must be shared across processes goes to an external store (Redis), never through the
supervisor. The supervisor (:mod:`._supervisor`) starts the workers, restarts the ones that
die with exponential backoff, gives up on a crash loop, and forwards SIGTERM/SIGINT so every
worker drains its calls. Each worker knows its id (:func:`current_worker_id`, ``0`` to
``N - 1``, kept by a replacement) and its log lines say ``worker=N``.

Where the platform has no ``SO_REUSEPORT`` (Windows, some sandboxes) ``workers > 1`` is
refused with a :class:`~trio_plivo.ConfigurationError`; run one process per port behind a
load balancer instead.
"""

from __future__ import annotations

from ._gc import SERVING_GC_THRESHOLDS, tune_gc_for_serving
from ._identity import WORKER_ID_ENV, WorkerIdFilter, current_worker_id
from ._options import ServeOptions, worker_count
from ._run import add_workers_argument, run_workers, serve_args_with_workers
from ._supervisor import RestartPolicy, WorkerPool, describe_exit

__all__ = [
    "SERVING_GC_THRESHOLDS",
    "WORKER_ID_ENV",
    "RestartPolicy",
    "ServeOptions",
    "WorkerIdFilter",
    "WorkerPool",
    "add_workers_argument",
    "current_worker_id",
    "describe_exit",
    "run_workers",
    "serve_args_with_workers",
    "tune_gc_for_serving",
    "worker_count",
]
