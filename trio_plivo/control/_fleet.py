"""The control API across processes and machines, through a Redis call directory.

Each process registers its live calls in Redis (the directory refreshes them on a TTL, so a
dead process's calls expire) and serves control commands for them. A control request that
lands on a process not holding the call is sent, over Redis, to the process that does; its
answer comes back as that process gave it (504 if none came within 2 s).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Protocol

import attrs
import trio

from .._exceptions import CommandFailed, CommandTimeout, NodeUnavailable, RedisError
from ..call import LiveCall
from ..ws import HTTPResponse
from ._describe import describe
from ._errors import ControlError

if TYPE_CHECKING:
    from ..fleet import RedisCallDirectory
    from ..server import StreamServer


class ControlSide(Protocol):
    """What the fleet uses of the local control API (:class:`~._api.ControlAPI`)."""

    server: StreamServer
    node: str
    fleet: FleetControl | None

    async def respond(
        self,
        method: str,
        path: str,
        content_type: str,
        read_body: Callable[[], Awaitable[bytes]],
        *,
        forwarded: bool = False,
    ) -> HTTPResponse: ...


__all__ = ["FleetControl"]

logger = logging.getLogger("trio_plivo.control")

#: How long a forwarded request waits for the owning process's answer.
FORWARD_TIMEOUT_S: Final = 2.0
_BACKLOG: Final = 1024


@attrs.define(eq=False)
class FleetControl:
    """Publishes ``api``'s server's calls in ``directory`` and serves commands for them."""

    api: ControlSide
    directory: RedisCallDirectory
    _send: trio.MemorySendChannel[tuple[str, LiveCall]] = attrs.field(init=False)
    _receive: trio.MemoryReceiveChannel[tuple[str, LiveCall]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel(_BACKLOG)
        self.api.node = self.directory.node_id
        self.api.fleet = self

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Publish and serve until cancelled (the directory must be entered already)."""
        registry = self.api.server.calls
        for live in registry:
            self._send.send_nowait(("started", live))
        registry.observe(self._on_call)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._publish)
            await nursery.start(self.directory.serve_commands, self._command)
            task_status.started()

    def _on_call(self, event: str, live: LiveCall) -> None:
        try:
            self._send.send_nowait((event, live))
        except trio.WouldBlock:
            logger.warning(
                "fleet registry backlog: %s of call %s not published", event, live.call.call_id
            )

    async def _publish(self) -> None:
        async for event, live in self._receive:
            call = live.call
            call_id = call.call_id or call.stream_id or ""
            try:
                if event == "started":
                    info = {
                        "provider": call.provider,
                        "media_format": call.media_format.to_content_type(),
                        "started_at": datetime.fromtimestamp(live.started_at, UTC).isoformat(),
                    }
                    await self.directory.register(call_id, call.stream_id or call_id, info)
                else:
                    await self.directory.unregister(call_id)
            except RedisError as error:  # the directory's refresh publishes it later
                logger.warning(
                    "fleet registry: call %s %s not published: %s", call_id, event, error
                )

    async def _command(self, command: dict[str, object]) -> dict[str, object]:
        """Run a request forwarded by another process, as if it had come here."""
        body = base64.b64decode(str(command.get("body", "")))
        response = await self.api.respond(
            str(command["method"]),
            str(command["path"]),
            str(command.get("content_type", "")),
            _reader(body),
            forwarded=True,
        )
        return {"status": response.status, "body": response.body.decode()}

    async def forward(
        self, call_or_stream_id: str, method: str, path: str, content_type: str, body: bytes
    ) -> HTTPResponse:
        """The answer of the process holding the call; 404 when no process holds it."""
        try:
            owner = await self.directory.owner_of(call_or_stream_id)
            if owner is None or owner == self.directory.node_id:
                raise ControlError(404, f"no live call {call_or_stream_id!r}")
            reply = await self.directory.send_command(
                owner,
                {
                    "method": method,
                    "path": path,
                    "content_type": content_type,
                    "body": base64.b64encode(body).decode(),
                },
                timeout=FORWARD_TIMEOUT_S,
            )
        except NodeUnavailable:
            raise ControlError(404, f"the process holding {call_or_stream_id!r} is gone") from None
        except CommandTimeout:
            raise ControlError(
                504, f"{owner} did not answer within {FORWARD_TIMEOUT_S:g} s"
            ) from None
        except CommandFailed as failure:
            raise ControlError(502, f"{owner} failed: {failure}") from None
        except RedisError as error:
            raise ControlError(503, f"the fleet registry is unavailable: {error}") from None
        status = reply.get("status")
        text = reply.get("body")
        if type(status) is not int or not isinstance(text, str):
            raise ControlError(502, f"{owner} sent an answer that is not one")
        return HTTPResponse(status, text.encode(), content_type="application/json")

    async def list_fleet(self) -> list[dict[str, object]]:
        """Every live call of the fleet: this process's in full, the others' as registered."""
        local = {live.call.call_id: describe(live, self.api.node) for live in self.api.server.calls}
        try:
            entries = await self.directory.list_calls()
        except RedisError as error:
            raise ControlError(503, f"the fleet registry is unavailable: {error}") from None
        calls = list(local.values())
        for entry in entries:
            if entry.node == self.api.node:
                continue  # listed above, with its live counters
            calls.append(
                {
                    "call_id": entry.call_id,
                    "stream_id": entry.stream_id,
                    "node": entry.node,
                    **entry.info,
                }
            )
        return calls


def _reader(body: bytes) -> Callable[[], Awaitable[bytes]]:
    async def read() -> bytes:
        return body

    return read
