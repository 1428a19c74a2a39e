"""Operating live calls from outside their handlers: the control API and metrics.

``PlivoFront(server, control_token=...)`` (``trio-plivo serve APP --control``) serves, behind
a bearer token, ``GET /calls``, ``GET /calls/{id}``, ``POST /calls/{id}/clear | hangup | dtmf
| play``, ``GET /calls/{id}/marks/{name}`` and ``GET /metrics`` (Prometheus). See
:class:`ControlAPI` for the routes and their errors.
"""

from __future__ import annotations

from ._api import CONTROL_MAX_BODY, ControlAPI
from ._describe import describe
from ._errors import ControlError
from ._fleet import FleetControl

__all__ = ["CONTROL_MAX_BODY", "ControlAPI", "ControlError", "FleetControl", "describe"]
