"""Build Plivo XML answers: ``Response`` with ``Stream``, ``Speak``, ``Play``, ``Wait``,
``Hangup`` and ``Redirect``.

::

    from trio_plivo.xml import Response, Stream
    from trio_plivo import L16_16K

    answer = Response(
        Stream("wss://bot.example.com/stream", bidirectional=True, keep_call_alive=True,
               content_type=L16_16K, extra_headers={"tenant": "acme"}),
    )
    body = answer.to_xml()   # serve with Content-Type: application/xml

Every setting is validated when the element is built and raises
:class:`~trio_plivo.ConfigurationError` for values Plivo would reject.
"""

from __future__ import annotations

from ._elements import Hangup, Play, Redirect, Response, Speak, Stream, Verb, Wait

__all__ = ["Hangup", "Play", "Redirect", "Response", "Speak", "Stream", "Verb", "Wait"]
