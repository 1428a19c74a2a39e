"""The call layer: one nursery per call, three tasks joined by bounded channels.

::

    socket ─▶ reader ─▶ inbound channel ─▶ app ─▶ playback channel ─▶ sender ─▶ socket
                 │       (InboundQueue)            (play, mark, clear)     (paced by the
                 └── acks ─▶ mark tracker ◀── marks sent ─────────────────  playout clock)

* ``_reader``: the only task that receives (parse, inbound queue, ack routing, ``stop``).
* ``_playback``: the only task that sends (framing, pacing against the playout clock, mark
  positions, clear), and the queue the application's ``play``/``mark``/``clear`` feed.
* ``_marks``: the tracker, the only owner of pending marks (played, cleared, call ended).
* ``_taps``: recording, the event log and in-band DTMF detection, attached at the reader's
  and the sender's seams.
* ``_call``: :class:`Call`, the application's facade; ``_lifetime``: ``open_call`` and the
  nursery the three tasks run in; ``_handler``/``_hooks``: how the server runs an app;
  ``_registry``: the live calls by id, as operators reach them.
"""

from ._call import Call
from ._config import CallConfig
from ._handler import CallHandler, serve_call
from ._hooks import CallHooks
from ._lifetime import open_call
from ._marks import Mark, MarkResult, MarkStatus
from ._registry import CallRegistry, LiveCall, RegistryObserver, registry_of
from ._stats import CallStatistics

__all__ = [
    "Call",
    "CallConfig",
    "CallHandler",
    "CallHooks",
    "CallRegistry",
    "CallStatistics",
    "LiveCall",
    "Mark",
    "MarkResult",
    "MarkStatus",
    "RegistryObserver",
    "open_call",
    "registry_of",
    "serve_call",
]
