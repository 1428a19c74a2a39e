"""Answer documents: what the app returns when a provider asks how to handle a call.

Every builder validates everything when called (:class:`~trio_plivo.ConfigurationError` for
values the provider would reject) and escapes every value with ElementTree / ``json``.

Plivo XML is built from immutable verbs::

    from trio_plivo.answers import Response, Stream
    from trio_plivo import L16_16K

    answer = Response(
        Stream("wss://bot.example.com/stream", bidirectional=True, keep_call_alive=True,
               content_type=L16_16K, extra_headers={"tenant": "acme"}),
    )
    body = answer.to_xml()   # serve with Content-Type: application/xml

The other providers' documents come from one function each::

    from trio_plivo.answers import twilio_stream
    body = twilio_stream("wss://bot.example.com/stream", parameters={"tenant": "acme"})

=============  ==================================  ==========================================
Provider       Builder                             Document
=============  ==================================  ==========================================
Plivo          :class:`Response` of verbs          ``<Response><Stream>wss://...``
Twilio         :func:`twilio_stream`               TwiML ``<Connect|Start><Stream url>``
SignalWire     :func:`signalwire_stream`           cXML, plus ``codec``/``authBearerToken``
Telnyx         :func:`telnyx_stream`               TeXML, ``bidirectionalMode="rtp"``
Vonage         :func:`vonage_ncco`                 NCCO ``connect`` to a ``websocket``
KooKoo         :func:`kookoo_stream`               ``<response><stream is_sip url>NUMBER``
=============  ==================================  ==========================================

Exotel configures streams in its applet UI (no answer document).
"""

from ._kookoo import kookoo_stream
from ._plivo import Hangup, Play, Redirect, Response, Speak, Stream, Verb, Wait
from ._signalwire import signalwire_stream
from ._telnyx import telnyx_stream
from ._twilio import twilio_stream
from ._vonage import vonage_ncco, vonage_ncco_json

__all__ = [
    # Plivo XML
    "Hangup",
    "Play",
    "Redirect",
    "Response",
    "Speak",
    "Stream",
    "Verb",
    "Wait",
    # the other providers
    "kookoo_stream",
    "signalwire_stream",
    "telnyx_stream",
    "twilio_stream",
    "vonage_ncco",
    "vonage_ncco_json",
]
