"""The control API: list live calls and act on them from outside their handlers.

Every request carries ``Authorization: Bearer <token>``; a missing or wrong one is answered
401 before anything else is read. Answers are JSON, errors ``{"error": "..."}`` with 400
(a bad body or bad audio), 404 (no such call or mark), 405, 409 (the call is ending) or 413
(a body over :attr:`ControlAPI.max_body_size`). Ids may be a call id or a stream id. Played
audio goes through the call's own playback queue (paced, resampled, clearable) like the
handler's, never around it.
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from .._exceptions import CallClosed
from ..call import LiveCall, MarkResult
from ..server import StreamServer
from ..ws import HTTPResponse
from ._audio import audio_from_json, audio_from_wav
from ._describe import describe
from ._errors import ControlError, json_response
from ._metrics import ServerMetrics

if TYPE_CHECKING:
    from ._fleet import FleetControl

__all__ = ["CONTROL_MAX_BODY", "ControlAPI"]

logger = logging.getLogger("trio_plivo.control")

#: The largest control request body: a minute of 16 kHz PCM16 as base64, with room to spare.
CONTROL_MAX_BODY: Final = 8 * 1024 * 1024
_ACTIONS: Final = ("clear", "hangup", "dtmf", "play")
_METRICS_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


def _mark_json(name: str, result: MarkResult | None) -> dict[str, object]:
    if result is None:
        return {"name": name, "status": "pending"}
    return {
        "name": name,
        "status": result.status.value,
        "queued_ms": round(result.queued_ms, 1),
        "played_ms": round(result.played_ms, 1),
    }


@attrs.define(eq=False)
class ControlAPI:
    """The ``/calls`` routes for ``server``'s live calls (see the module's notes)."""

    server: StreamServer
    token: str = attrs.field(repr=False)
    node: str = "local"
    max_body_size: int = CONTROL_MAX_BODY
    #: What ``GET /metrics`` reports (made for :attr:`server`; a worker's id is a label).
    metrics: ServerMetrics = attrs.field(init=False)
    #: Set by :class:`~trio_plivo.control.FleetControl`: requests for calls other processes
    #: hold are forwarded to them, and ``GET /calls`` lists the fleet.
    fleet: FleetControl | None = attrs.field(default=None, init=False)
    _names: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1), init=False)

    def __attrs_post_init__(self) -> None:
        from ..workers._identity import current_worker_id

        self.metrics = ServerMetrics(self.server, worker=current_worker_id())

    def owns(self, path: str) -> bool:
        return path in ("/calls", "/metrics") or path.startswith("/calls/")

    def authorized(self, headers: Any) -> bool:
        """Whether the request carries the bearer token (compared in constant time)."""
        given = headers.get("Authorization") or ""
        scheme, _, credential = given.partition(" ")
        expected = self.token.encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), expected
        )

    async def respond(
        self,
        method: str,
        path: str,
        content_type: str,
        read_body: Callable[[], Awaitable[bytes]],
        *,
        forwarded: bool = False,
    ) -> HTTPResponse:
        """Answer one authorised request; ``read_body`` reads the body when it is needed.
        ``forwarded``: another process sent it here (answer from this process only)."""
        fleet = None if forwarded else self.fleet
        try:
            return await self._route(method, path.rstrip("/"), content_type, read_body, fleet)
        except ControlError as error:
            return json_response(error.status, {"error": error.message})

    async def _route(
        self,
        method: str,
        path: str,
        content_type: str,
        read_body: Callable[[], Awaitable[bytes]],
        fleet: FleetControl | None,
    ) -> HTTPResponse:
        if path == "/metrics":
            self._allow(method, "GET")
            return HTTPResponse(200, self.metrics.render(), content_type=_METRICS_TYPE)
        parts = path.split("/")[2:]  # after "/calls"
        if not parts:
            self._allow(method, "GET")
            if fleet is not None:
                return json_response(200, {"calls": await fleet.list_fleet()})
            calls = [describe(live, self.node) for live in self.server.calls]
            return json_response(200, {"calls": calls})
        live = self.server.calls.get(parts[0])
        if live is None and fleet is not None:
            body = await read_body() if method == "POST" else b""
            return await fleet.forward(parts[0], method, path, content_type, body)
        if live is None:
            raise ControlError(404, f"no live call {parts[0]!r}")
        if len(parts) == 1:
            self._allow(method, "GET")
            return json_response(200, describe(live, self.node))
        if len(parts) == 3 and parts[1] == "marks":
            self._allow(method, "GET")
            mark = live.marks.get(parts[2])
            if mark is None:
                raise ControlError(404, f"no mark {parts[2]!r} placed through this API")
            return json_response(200, _mark_json(mark.name, mark.result))
        if len(parts) != 2 or parts[1] not in _ACTIONS:
            raise ControlError(404, f"no such route: {path}")
        self._allow(method, "POST")
        if live.call.ended:
            raise ControlError(409, "the call is ending")
        body = await read_body()
        try:
            return await self._act(live, parts[1], content_type, body)
        except CallClosed:
            raise ControlError(409, "the call ended meanwhile") from None

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed and not (allowed == "GET" and method == "HEAD"):
            raise ControlError(405, f"use {allowed} here")

    async def _act(
        self, live: LiveCall, action: str, content_type: str, body: bytes
    ) -> HTTPResponse:
        call = live.call
        if action == "play":
            return await self._play(live, content_type, body)
        data = _json_object(body, required=action == "dtmf")
        logger.info("control: %s on call %s", action, call.call_id)
        if action == "clear":
            pending = [m for m in live.marks.values() if not m.done]
            await call.clear()
            with trio.move_on_after(1.0):
                for mark in pending:
                    await mark.wait()
            cleared = [_mark_json(m.name, m.result) for m in pending]
            return json_response(200, {"call_id": call.call_id, "marks": cleared})
        if action == "hangup":
            await call.hangup()
            return json_response(200, {"call_id": call.call_id, "hung_up": True})
        digits = data.get("digits")
        if not isinstance(digits, str) or not digits:
            raise ControlError(400, "'digits' must be a non-empty string such as \"12#\"")
        try:
            await call.send_dtmf(digits)
        except ValueError as exc:  # ConfigurationError / LocalProtocolError: bad digits
            raise ControlError(400, str(exc)) from None
        return json_response(200, {"call_id": call.call_id, "digits": digits})

    async def _play(self, live: LiveCall, content_type: str, body: bytes) -> HTTPResponse:
        media_type = content_type.split(";", 1)[0].strip().lower()
        name: str | None = None
        if media_type in ("audio/wav", "audio/x-wav", "audio/wave"):
            pcm, rate = audio_from_wav(body)
        else:
            data = _json_object(body, required=True)
            pcm, rate = audio_from_json(data)
            given = data.get("mark")
            if given is not None and (not isinstance(given, str) or not given):
                raise ControlError(400, "'mark' must be a non-empty string")
            name = given
        name = name or f"control-{next(self._names)}"
        if name in live.marks:
            raise ControlError(400, f"mark {name!r} was already placed on this call")
        call = live.call
        # Queued before the answer, so a clear right after it finds it: at once for up to the
        # call's playback buffer (CallConfig.playback_buffer_ms, 10 s); a longer clip waits
        # for room like any handler's.
        await call.play(pcm, sample_rate=rate)
        live.remember(await call.mark(name))
        logger.info(
            "control: play %d ms on call %s (mark %s)", len(pcm) * 500 // rate, call.call_id, name
        )
        return json_response(202, {"call_id": call.call_id, "mark": name})


def _json_object(body: bytes, *, required: bool) -> dict[str, object]:
    if not body.strip():
        if required:
            raise ControlError(400, "the body must be a JSON object")
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise ControlError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "the body must be a JSON object")
    return data
