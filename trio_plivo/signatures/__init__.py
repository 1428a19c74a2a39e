"""Request signatures: refuse a stranger before any app code runs.

Providers sign the webhooks they send (answer URL, status callbacks) and the WebSocket
upgrade of a media stream; validating the signature is what stops anyone else from opening a
media socket to your bot. Everything here is pure (no I/O), compares in constant time, and
keeps auth tokens out of every ``repr``, log line and exception message.

=========  =========================================  ==========================================
Provider   Validator                                  Scheme
=========  =========================================  ==========================================
Plivo      :class:`SignatureValidator`                ``X-Plivo-Signature-V3`` (HMAC-SHA256 of
                                                      URL + ``.`` + nonce), also ``-Ma-V3``
Twilio     :class:`TwilioSignatureValidator`          ``X-Twilio-Signature`` (HMAC-SHA1 of URL
                                                      + sorted POST parameters)
=========  =========================================  ==========================================

::

    from trio_plivo.signatures import SignatureValidator

    validator = SignatureValidator(auth_token, public_url="wss://bot.example.com/stream")
    server = StreamServer(app, signature_validator=validator)   # 403 before any call exists

Each validator takes headers in any shape (:data:`HeaderSource`).
"""

from ._headers import HeaderSource, SupportsHeaderGet
from ._plivo import (
    MAIN_SIGNATURE_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SignatureValidator,
    compute_signature_v3,
    signature_headers,
    validate_request_signature,
    validate_signature_v3,
    validate_websocket_upgrade,
)
from ._plivo_urls import Params, signed_url, websocket_url_candidates
from ._twilio import (
    TWILIO_SIGNATURE_HEADER,
    TwilioParams,
    TwilioSignatureValidator,
    compute_twilio_signature,
    twilio_signed_payload,
    twilio_url_candidates,
    validate_twilio_signature,
)

__all__ = [
    # where headers come from
    "HeaderSource",
    "SupportsHeaderGet",
    # Plivo Signature V3
    "MAIN_SIGNATURE_HEADER",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "Params",
    "SignatureValidator",
    "compute_signature_v3",
    "signed_url",
    "signature_headers",
    "validate_request_signature",
    "validate_signature_v3",
    "validate_websocket_upgrade",
    "websocket_url_candidates",
    # Twilio
    "TWILIO_SIGNATURE_HEADER",
    "TwilioParams",
    "TwilioSignatureValidator",
    "compute_twilio_signature",
    "twilio_signed_payload",
    "twilio_url_candidates",
    "validate_twilio_signature",
]
