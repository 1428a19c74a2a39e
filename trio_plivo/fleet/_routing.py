"""Commands to the node that serves a call, and their replies, over Redis pub/sub.

A request is published on the target node's command channel as
``{"id", "reply_to", "command"}``; the node runs its handler and publishes
``{"id", "ok": true, "result"}`` or ``{"id", "ok": false, "error"}`` on ``reply_to``, the
requesting directory's own reply channel, which it keeps subscribed for its whole life (one
subscription per directory, not one per request). ``PUBLISH`` answers how many subscribers got
the request, so a node nobody serves is reported at once instead of after the timeout.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import NoReturn

import attrs
import orjson
import trio

from .._exceptions import (
    CommandFailed,
    CommandTimeout,
    ConfigurationError,
    NodeUnavailable,
    RedisError,
    TrioPlivoError,
)
from ._client import RedisClient
from ._entries import encode_json
from ._keys import FleetKeys
from ._pubsub import subscribe

__all__ = ["CommandHandler", "CommandRouter", "single_error"]

log = logging.getLogger("trio_plivo.fleet")

#: Runs one command on the node that serves the call; returns the reply (JSON values).
CommandHandler = Callable[[dict[str, object]], Awaitable[Mapping[str, object]]]

_FIRST_RETRY_S = 0.5
_LAST_RETRY_S = 30.0


@attrs.frozen
class _Reply:
    ok: bool
    result: dict[str, object]
    error: str


class CommandRouter:
    """The pub/sub half of a :class:`~trio_plivo.fleet.RedisCallDirectory`."""

    def __init__(
        self,
        client: RedisClient,
        keys: FleetKeys,
        node: str,
        *,
        max_concurrent_commands: int,
    ) -> None:
        self._client = client
        self._keys = keys
        self._node = node
        self.reply_channel = keys.replies(node, secrets.token_hex(8))
        self._waiting: dict[str, trio.MemorySendChannel[_Reply]] = {}
        self._handler_slots = trio.CapacityLimiter(max_concurrent_commands)
        self._serving = False

    async def send(
        self,
        node: str,
        command: Mapping[str, object],
        timeout: float,  # noqa: ASYNC109 (see RedisCallDirectory.send_command)
    ) -> dict[str, object]:
        if not timeout > 0:
            raise ConfigurationError(f"timeout must be positive, not {timeout!r}")
        request_id = secrets.token_hex(12)
        request = {"id": request_id, "reply_to": self.reply_channel, "command": dict(command)}
        payload = encode_json(request, "a command")
        send_reply, receive_reply = trio.open_memory_channel[_Reply](1)
        self._waiting[request_id] = send_reply
        try:
            with trio.move_on_after(timeout):
                receivers = await self._client.execute(
                    "PUBLISH", self._keys.commands(node), payload
                )
                if receivers == 0:
                    raise NodeUnavailable(node)
                reply = await receive_reply.receive()
                if reply.ok:
                    return reply.result
                raise CommandFailed(node, reply.error)
        finally:
            del self._waiting[request_id]
            send_reply.close()
            receive_reply.close()
        raise CommandTimeout(node, timeout)

    async def listen_for_replies(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> NoReturn:
        """Deliver every reply to the :meth:`send` waiting for it; started before any send."""

        async def deliver(text: str) -> None:
            reply_id, reply = _decode_reply(text)
            waiting = self._waiting.get(reply_id) if reply_id else None
            if waiting is None or reply is None:
                # Late (its sender timed out), duplicated, or not ours: nothing waits for it.
                log.debug("reply %r dropped: nothing waits for it", reply_id)
                return
            # A second reply (two processes under one node id) finds the slot taken: first wins.
            with contextlib.suppress(trio.WouldBlock):
                waiting.send_nowait(reply)

        await self._subscribe_forever(self.reply_channel, deliver, task_status)

    async def serve(
        self,
        handler: CommandHandler,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> NoReturn:
        if self._serving:
            raise trio.BusyResourceError(f"node {self._node!r} is already serving commands")
        self._serving = True
        failure: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:

                async def accept(text: str) -> None:
                    nursery.start_soon(self._answer, handler, text)

                await self._subscribe_forever(self._keys.commands(self._node), accept, task_status)
        except BaseExceptionGroup as group:
            # The first subscription failed (or a bug): one error, not a group of one.
            if (failure := single_error(group)) is None:
                raise
        finally:
            self._serving = False
        assert failure is not None  # _subscribe_forever only ever ends by raising
        raise failure

    async def _answer(self, handler: CommandHandler, text: str) -> None:
        request = _decode_request(text)
        if request is None:
            log.warning("malformed command on node %r dropped: %.200r", self._node, text)
            return
        request_id, reply_to, command = request
        async with self._handler_slots:
            reply = await self._run_handler(handler, request_id, command)
        try:
            await self._client.execute("PUBLISH", reply_to, reply)
        except RedisError as error:
            log.warning("reply to command %s not sent: %s", request_id, error)

    async def _run_handler(
        self, handler: CommandHandler, request_id: str, command: dict[str, object]
    ) -> str:
        """The reply to publish: the handler's result, or why there is none."""

        def failure(message: str) -> str:
            return encode_json({"id": request_id, "ok": False, "error": message}, "a reply")

        try:
            result = await handler(command)
        except TrioPlivoError as error:
            return failure(str(error))
        except Exception:
            # A bug in the handler: the traceback stays here, the requester learns only that
            # it failed (an exception's text may hold anything).
            log.exception("command handler of node %r failed on %r", self._node, command)
            return failure("the command handler failed (see that node's log)")
        try:
            return encode_json({"id": request_id, "ok": True, "result": dict(result)}, "a reply")
        except (ConfigurationError, TypeError, ValueError):
            log.exception("command handler of node %r returned no JSON object", self._node)
            return failure("the command handler returned no JSON object (see that node's log)")

    async def _subscribe_forever(
        self,
        channel: str,
        on_message: Callable[[str], Awaitable[None]],
        task_status: trio.TaskStatus[None],
    ) -> NoReturn:
        """Feed every message on ``channel`` to ``on_message``, re-subscribing after any failure
        (the client library already does after a dropped connection; this covers the rest)."""
        retry_in = _FIRST_RETRY_S
        started = False
        while True:
            try:
                async with subscribe(self._client, [channel]) as messages:
                    if not started:
                        task_status.started()
                        started = True
                    retry_in = _FIRST_RETRY_S
                    async for message in messages:
                        await on_message(message.data)
            except RedisError as error:
                if not started:
                    raise  # cannot even start: the caller must know, not wait
                log.warning(
                    "subscription to %s lost (%s); retrying in %g s", channel, error, retry_in
                )
            await trio.sleep(retry_in)
            retry_in = min(retry_in * 2, _LAST_RETRY_S)


def _decode_request(text: str) -> tuple[str, str, dict[str, object]] | None:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    request_id, reply_to, command = raw.get("id"), raw.get("reply_to"), raw.get("command")
    if not (
        isinstance(request_id, str) and isinstance(reply_to, str) and isinstance(command, dict)
    ):
        return None
    return request_id, reply_to, command


def _decode_reply(text: str) -> tuple[str | None, _Reply | None]:
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(raw, dict) or not isinstance(reply_id := raw.get("id"), str):
        return None, None
    if raw.get("ok") is True and isinstance(result := raw.get("result"), dict):
        return reply_id, _Reply(ok=True, result=result, error="")
    error = raw.get("error")
    return reply_id, _Reply(ok=False, result={}, error=str(error) if error else "no reason given")


def single_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception in ``group`` (however nested), or ``None`` if there are several."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
        else:
            leaves.append(current)
    return leaves[0] if len(leaves) == 1 else None
