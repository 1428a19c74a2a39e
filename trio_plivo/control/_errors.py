"""The control API's one kind of failure: an HTTP status and a sentence, sent as JSON."""

from __future__ import annotations

import json

from .._exceptions import TrioPlivoError
from ..ws import HTTPResponse

__all__ = ["ControlError", "json_response"]


class ControlError(TrioPlivoError):
    """A control request that cannot be carried out: ``status`` and a message for the
    client (never a traceback, never a secret)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(
    status: int, body: object, headers: tuple[tuple[str, str], ...] = ()
) -> HTTPResponse:
    """``body`` as a JSON HTTP answer."""
    return HTTPResponse(status, json.dumps(body).encode(), headers, content_type="application/json")
