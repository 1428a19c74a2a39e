"""Answer documents for the providers other than Plivo (Plivo's are in :mod:`trio_plivo.xml`).

Each builder validates everything when called (:class:`~trio_plivo.ConfigurationError` for
values the provider would reject) and escapes every value with ElementTree / ``json``::

    from trio_plivo.answers import twilio_stream
    body = twilio_stream("wss://bot.example.com/stream", parameters={"tenant": "acme"})

=============  ==================================  ==========================================
Provider       Builder                             Document
=============  ==================================  ==========================================
Twilio         :func:`twilio_stream`               TwiML ``<Connect|Start><Stream url>``
SignalWire     :func:`signalwire_stream`           cXML, plus ``codec``/``authBearerToken``
Telnyx         :func:`telnyx_stream`               TeXML, ``bidirectionalMode="rtp"``
Vonage         :func:`vonage_ncco`                 NCCO ``connect`` to a ``websocket``
KooKoo         :func:`kookoo_stream`               ``<response><stream is_sip url>NUMBER``
=============  ==================================  ==========================================

Exotel configures streams in its applet UI (no answer document).
"""

from ._kookoo import kookoo_stream
from ._ncco import vonage_ncco, vonage_ncco_json
from ._twiml import signalwire_stream, telnyx_stream, twilio_stream

__all__ = [
    "kookoo_stream",
    "signalwire_stream",
    "telnyx_stream",
    "twilio_stream",
    "vonage_ncco",
    "vonage_ncco_json",
]
