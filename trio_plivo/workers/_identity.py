"""Which worker this process is: its id from the supervisor, and log lines that carry it."""

from __future__ import annotations

import logging
import os
from typing import Final

__all__ = ["WORKER_ID_ENV", "WORKER_LOG_FORMAT", "WorkerIdFilter", "current_worker_id"]

#: The environment variable the supervisor sets in each worker: its id, ``0`` to ``N - 1``.
WORKER_ID_ENV: Final = "TRIO_PLIVO_WORKER_ID"
#: The log format of worker processes (``worker=N`` after the level).
WORKER_LOG_FORMAT: Final = "%(asctime)s %(levelname)s worker=%(worker)s %(name)s: %(message)s"


def current_worker_id() -> int | None:
    """This process's worker id (``0`` to ``N - 1``) when it runs under
    :func:`~trio_plivo.workers.run_workers`, else ``None``.

    A replacement for a worker that died gets the same id, so the id is stable enough for a
    metrics label or a node name in a shared registry.
    """
    value = os.environ.get(WORKER_ID_ENV)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


class WorkerIdFilter(logging.Filter):
    """Adds ``record.worker`` (the worker id, or ``-`` outside a worker) to every record, for a
    format with ``%(worker)s``; install it on a handler. Never filters anything out."""

    def __init__(self) -> None:
        super().__init__()
        worker = current_worker_id()
        self._label = "-" if worker is None else str(worker)

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self._label
        return True
