"""Commands between nodes through Redis: replies, failures, timeouts, bad messages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest
import trio

from trio_plivo import CallClosed, ConfigurationError
from trio_plivo.fleet import (
    CommandFailed,
    CommandHandler,
    CommandTimeout,
    NodeUnavailable,
    RedisCallDirectory,
    RedisURL,
)
from trio_plivo.fleet._client import open_redis

from .conftest import RedisServer, eventually


@asynccontextmanager
async def fleet_of_two(
    url: str, namespace: str, handler_of_b: CommandHandler
) -> AsyncIterator[tuple[RedisCallDirectory, RedisCallDirectory]]:
    """Node a (sends) and node b (serves ``handler_of_b``)."""
    async with (
        RedisCallDirectory(url, "node-a", namespace=namespace) as a,
        RedisCallDirectory(url, "node-b", namespace=namespace) as b,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(b.serve_commands, handler_of_b)
        yield a, b
        nursery.cancel_scope.cancel()


async def echo(command: dict[str, object]) -> Mapping[str, object]:
    return {"echo": command, "served_by": "node-b"}


async def test_a_command_round_trip(redis_server: RedisServer, namespace: str) -> None:
    async with fleet_of_two(redis_server.url, namespace, echo) as (a, b):
        await b.register("call-1", "stream-1")
        owner = await a.owner_of("stream-1")
        assert owner == "node-b"
        reply = await a.send_command(owner, {"op": "play", "url": "https://x/y.wav"})
        assert reply == {"echo": {"op": "play", "url": "https://x/y.wav"}, "served_by": "node-b"}
        # A node can also send to itself.
        assert (await b.send_command("node-b", {"op": "ping"}))["echo"] == {"op": "ping"}


async def test_concurrent_commands_each_get_their_own_reply(
    redis_server: RedisServer, namespace: str
) -> None:
    async def slow_echo(command: dict[str, object]) -> Mapping[str, object]:
        n = command["n"]
        assert isinstance(n, int)
        await trio.sleep(0.01 * (n % 5))  # replies come back out of order
        return {"n": n}

    replies: dict[int, object] = {}
    async with fleet_of_two(redis_server.url, namespace, slow_echo) as (a, _):

        async def ask(n: int) -> None:
            replies[n] = (await a.send_command("node-b", {"n": n}))["n"]

        async with trio.open_nursery() as nursery:
            for n in range(30):
                nursery.start_soon(ask, n)
    assert replies == {n: n for n in range(30)}


async def test_no_reply_in_time_is_a_command_timeout(
    redis_server: RedisServer, namespace: str
) -> None:
    async def stuck(command: dict[str, object]) -> Mapping[str, object]:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with fleet_of_two(redis_server.url, namespace, stuck) as (a, _):
        with pytest.raises(CommandTimeout, match=r"node 'node-b' sent no reply within 0\.3 s") as e:
            await a.send_command("node-b", {"op": "hangup"}, timeout=0.3)
    assert (e.value.node, e.value.timeout) == ("node-b", 0.3)
    assert isinstance(e.value, TimeoutError)


async def test_a_node_nobody_serves_is_unavailable_at_once(
    redis_server: RedisServer, namespace: str
) -> None:
    async with fleet_of_two(redis_server.url, namespace, echo) as (a, _):
        with trio.fail_after(1):  # not after the 60 s timeout
            with pytest.raises(NodeUnavailable, match="node-gone") as e:
                await a.send_command("node-gone", {"op": "hangup"}, timeout=60)
    assert e.value.node == "node-gone"


async def test_handler_failures_reach_the_requester_without_internal_details(
    redis_server: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def picky(command: dict[str, object]) -> Mapping[str, object]:
        if command["op"] == "play":
            raise CallClosed("call call-1 is over")
        if command["op"] == "bug":
            raise ValueError("db password is hunter2")
        return {"not json": object()}

    async with fleet_of_two(redis_server.url, namespace, picky) as (a, _):
        with pytest.raises(CommandFailed, match="call call-1 is over"):
            await a.send_command("node-b", {"op": "play"})
        with caplog.at_level(logging.ERROR, logger="trio_plivo.fleet"):
            with pytest.raises(CommandFailed, match="handler failed") as e:
                await a.send_command("node-b", {"op": "bug"})
            assert "hunter2" not in str(e.value)
            assert "ValueError: db password" in caplog.text  # the traceback stays on the node
            with pytest.raises(CommandFailed, match="no JSON object"):
                await a.send_command("node-b", {"op": "odd"})
        # Still serving after all that.
        with pytest.raises(CommandFailed, match="call call-1 is over"):
            await a.send_command("node-b", {"op": "play"})


async def test_malformed_requests_are_dropped_and_serving_goes_on(
    redis_server: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        fleet_of_two(redis_server.url, namespace, echo) as (a, _),
        open_redis(RedisURL.parse(redis_server.url)) as raw,
    ):
        with caplog.at_level(logging.WARNING, logger="trio_plivo.fleet"):
            for junk in ("{not json", "[1, 2]", '{"id": 5}', '{"id": "x", "reply_to": "y"}'):
                assert await raw.execute("PUBLISH", f"{namespace}:commands:node-b", junk) == 1

            async def all_dropped() -> bool:
                return caplog.text.count("malformed command") == 4

            await eventually(all_dropped)
        assert await a.send_command("node-b", {"op": "still there?"}) == {
            "echo": {"op": "still there?"},
            "served_by": "node-b",
        }


async def test_serving_resumes_after_the_server_kills_the_subscription(
    redis_server: RedisServer, namespace: str
) -> None:
    async with (
        fleet_of_two(redis_server.url, namespace, echo) as (a, _),
        open_redis(RedisURL.parse(redis_server.url)) as raw,
    ):
        # Cuts both node-b's command subscription and every node's reply subscription.
        assert await raw.execute("CLIENT", "KILL", "TYPE", "pubsub") >= 3

        async def answered_again() -> bool:
            try:
                await a.send_command("node-b", {"op": "ping"}, timeout=0.5)
            except (NodeUnavailable, CommandTimeout):
                return False
            return True

        await eventually(answered_again)


async def test_serving_twice_and_bad_commands_are_refused(
    redis_server: RedisServer, namespace: str
) -> None:
    async with fleet_of_two(redis_server.url, namespace, echo) as (a, b):
        with pytest.raises(trio.BusyResourceError):
            await b.serve_commands(echo)
        with pytest.raises(ConfigurationError, match="JSON"):
            await a.send_command("node-b", {"when": object()})
        with pytest.raises(ConfigurationError, match="timeout"):
            await a.send_command("node-b", {"op": "x"}, timeout=0)
