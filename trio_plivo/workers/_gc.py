"""The garbage collector of a process that serves calls.

Every call keeps a few hundred objects alive (its tasks, channels, queued audio), and every
frame allocates short-lived ones, so CPython's collector runs often, and its full collections
walk every object in the process, the thousands that importing the app created included. On
a nearly busy core such a pause leaves a backlog of frames that drains slowly. Measured with
``python -m bench.bench_capacity`` at 300 calls, tuned against untuned in the same runs (the
same CPU per frame): p99 echo 70 against 345 ms, and 177 against 399 ms; on a faster spell of
the same machine both stayed near 50 ms. Freezing what exists once the app is loaded takes it out of every later
collection, and a higher first threshold makes collections rarer without changing what they
free (the call machinery's objects are freed by reference counting, not by the collector).
"""

from __future__ import annotations

import gc

__all__ = ["SERVING_GC_THRESHOLDS", "tune_gc_for_serving"]

#: (generation 0, 1, 2) thresholds for a serving process; CPython's defaults are (700, 10, 10)
#: (2000 on 3.13+).
SERVING_GC_THRESHOLDS = (20_000, 20, 20)


def tune_gc_for_serving() -> None:
    """Collect once, freeze everything that exists now (the interpreter, the app, the
    server), and raise the collector's thresholds for the rest of the process's life.

    Call it once the app is imported and the server built, just before serving: ``trio-plivo
    serve`` and each ``--workers`` worker do. It changes the whole process, so a program
    that does more than serve calls should measure before adopting it.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)
