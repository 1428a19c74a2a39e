"""An echo app that first names its worker in a checkpoint: the id the app itself sees."""

from __future__ import annotations

import os

from trio_plivo.apps import echo
from trio_plivo.call import Call
from trio_plivo.workers import current_worker_id


async def handler(call: Call) -> None:
    """Checkpoint ``worker-ID-pid-PID``, then echo."""
    await call.mark(f"worker-{current_worker_id()}-pid-{os.getpid()}")
    await echo(call)
