"""One process, one port: Plivo's answer URL, stream status callbacks and the media stream.

::

    from trio_plivo.server import StreamServer
    from trio_plivo.signatures import SignatureValidator
    from trio_plivo.web import PlivoFront

    server = StreamServer(app, signature_validator=SignatureValidator(token))
    front = PlivoFront(server, content_type="audio/x-l16;rate=16000")
    await front.serve("0.0.0.0", 8000)   # /answer, /status, /healthz and /stream

``/answer`` (GET or POST) returns ``<Stream>`` XML pointing at this host's stream path,
``/status`` parses Plivo's stream status callbacks into
:class:`StreamStatusEvent` (:func:`parse_stream_status`) for :meth:`PlivoFront.status_events`
subscribers, ``/healthz`` reports active calls. WebSocket upgrades go to the
:class:`~trio_plivo.server.StreamServer` unchanged. With ``PlivoFront(..., browser=True)``
``/talk`` serves a page to talk to the same handler from a browser tab (``/talk/ws``; see
:mod:`trio_plivo.protocol.browser` for its protocol). The stream server alone (WebSocket only)
and embedding in trio-websocket apps keep working as before.
"""

from __future__ import annotations

from ._front import PlivoFront
from ._http import WebRequest
from ._plivo_app import AnswerHook, AnswerRequest, FrontStatistics
from ._replay import ReplayStream
from ._status import StatusSubscription
from ._status_callback import StreamStatus, StreamStatusEvent, parse_stream_status

__all__ = [
    "AnswerHook",
    "AnswerRequest",
    "FrontStatistics",
    "PlivoFront",
    "ReplayStream",
    "StatusSubscription",
    # Plivo's stream status callbacks, as parsed at /status
    "StreamStatus",
    "StreamStatusEvent",
    "WebRequest",
    "parse_stream_status",
]
