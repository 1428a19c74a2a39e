"""The Redis client on a real server: commands, pipelines, pub/sub, reconnects, logins, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from trio_plivo import ConfigurationError, TrioPlivoError
from trio_plivo.fleet import RedisError, RedisTimeout, RedisURL
from trio_plivo.fleet._client import RedisClient, open_redis
from trio_plivo.fleet._pubsub import Message, subscribe

from .conftest import PASSWORD, RedisServer, eventually, everything_said


@asynccontextmanager
async def connected(
    url: str, *, read_timeout: float = 5.0, max_connections: int = 4
) -> AsyncIterator[RedisClient]:
    async with open_redis(
        RedisURL.parse(url),
        client_name="test-client",
        connect_timeout=2.0,
        read_timeout=read_timeout,
        max_connections=max_connections,
    ) as client:
        yield client


async def test_commands(redis_server: RedisServer, namespace: str) -> None:
    async with connected(redis_server.url) as client:
        assert await client.execute("SET", f"{namespace}:a", 1) == "OK"
        assert await client.execute("INCRBYFLOAT", f"{namespace}:a", 0.5) == "1.5"
        assert await client.execute("SET", f"{namespace}:é", "ünïcode") == "OK"
        assert await client.execute("GET", f"{namespace}:é") == "ünïcode"
        assert await client.execute("GET", f"{namespace}:missing") is None
        assert await client.execute("RPUSH", f"{namespace}:l", "x", b"y") == 2
        assert await client.execute("LRANGE", f"{namespace}:l", 0, -1) == ["x", "y"]


async def test_an_error_reply_is_a_redis_error_and_the_connection_stays(
    redis_server: RedisServer, namespace: str
) -> None:
    async with connected(redis_server.url, max_connections=1) as client:
        await client.execute("SET", f"{namespace}:s", "text")
        with pytest.raises(RedisError, match="WRONGTYPE"):
            await client.execute("LPUSH", f"{namespace}:s", "x")
        assert await client.execute("GET", f"{namespace}:s") == "text"


async def test_the_urls_database_is_selected(redis_server: RedisServer, namespace: str) -> None:
    async with connected(redis_server.url.replace("/0", "/5")) as db5:
        await db5.execute("SET", f"{namespace}:where", "five")
    async with connected(redis_server.url) as db0:
        assert await db0.execute("GET", f"{namespace}:where") is None
        name = await db0.execute("CLIENT", "GETNAME")
    assert name == "test-client"


async def test_a_pipeline_sends_many_commands_and_keeps_each_reply(
    redis_server: RedisServer, namespace: str
) -> None:
    key = f"{namespace}:counter"
    async with connected(redis_server.url) as client:
        replies = await client.pipeline([("INCR", key)] * 500 + [("GET", key)])
        assert replies == [*range(1, 501), "500"]
        # One error among them: raised after all ran (no transaction), connection still usable.
        with pytest.raises(RedisError, match="WRONGTYPE"):
            await client.pipeline([("INCR", key), ("HSET", key, "f", "v"), ("INCR", key)])
        assert await client.execute("GET", key) == "502"


async def test_a_transaction_runs_all_or_nothing(redis_server: RedisServer, namespace: str) -> None:
    key = f"{namespace}:t"
    async with connected(redis_server.url) as client:
        assert await client.pipeline(
            [("SET", key, "a"), ("APPEND", key, "b"), ("GET", key)], transaction=True
        ) == ["OK", 2, "ab"]
        # Refused while queueing (wrong arity): EXEC aborts and nothing runs.
        with pytest.raises(RedisError, match="wrong number of arguments"):
            await client.pipeline([("SET", key, "changed"), ("GET",)], transaction=True)
        assert await client.execute("GET", key) == "ab"


async def test_pubsub_channels_and_patterns_as_an_async_iterator(
    redis_server: RedisServer, namespace: str
) -> None:
    async with (
        connected(redis_server.url) as client,
        subscribe(client, [f"{namespace}:news"], [f"{namespace}:calls:*"]) as messages,
    ):
        assert await client.execute("PUBLISH", f"{namespace}:news", "hello") == 1
        assert await client.execute("PUBLISH", f"{namespace}:calls:7", "started") == 1
        with trio.fail_after(5):
            received = [await messages.__anext__(), await messages.__anext__()]
    assert received == [
        Message(f"{namespace}:news", "hello"),
        Message(f"{namespace}:calls:7", "started", pattern=f"{namespace}:calls:*"),
    ]


async def test_the_next_command_reconnects_after_the_server_kills_the_client(
    redis_server: RedisServer, namespace: str
) -> None:
    async with connected(redis_server.url, max_connections=1) as client:
        await client.execute("SET", f"{namespace}:k", "v")
        first_id = await client.execute("CLIENT", "ID")
        # The reply to its own kill is the connection's last word.
        assert await client.execute("CLIENT", "KILL", "ID", first_id, "SKIPME", "no") == 1
        # Redis closes the socket just after that reply; wait until it has (under load it
        # can lag), so the next command meets a connection the server really closed.
        async with connected(redis_server.url) as observer:

            async def gone() -> bool:
                return await observer.execute("CLIENT", "LIST", "ID", first_id) == ""

            await eventually(gone)
        assert await client.execute("GET", f"{namespace}:k") == "v"
        assert await client.execute("CLIENT", "ID") != first_id


async def test_a_killed_subscription_ends_with_a_redis_error(
    redis_server: RedisServer, namespace: str
) -> None:
    async def receive_after_the_kill(client: RedisClient) -> None:
        async with subscribe(client, [f"{namespace}:events"]) as messages:
            await client.execute("CLIENT", "KILL", "TYPE", "pubsub")
            with trio.fail_after(5):
                await messages.__anext__()

    async with connected(redis_server.url) as client:
        with pytest.raises(RedisError, match="connection closed"):
            await receive_after_the_kill(client)


async def test_a_silent_subscription_is_noticed_by_its_keepalive(
    own_redis_server: RedisServer, namespace: str
) -> None:
    async def receive_while_paused(client: RedisClient) -> None:
        async with subscribe(client, [f"{namespace}:quiet"], keepalive=0.2) as messages:
            # The server stops answering anyone (its PING reply included) for 5 s.
            await client.execute("CLIENT", "PAUSE", 5000, "ALL")
            with trio.fail_after(4):
                await messages.__anext__()

    async with connected(own_redis_server.url) as client:
        with pytest.raises(RedisError, match="went silent"):
            await receive_while_paused(client)
        await client.execute("CLIENT", "UNPAUSE")


async def test_cancelled_commands_neither_desynchronise_nor_leak_connections(
    redis_server: RedisServer, namespace: str
) -> None:
    async with connected(redis_server.url, max_connections=1) as client:
        await client.execute("SET", f"{namespace}:k", "mine")
        for _ in range(3):  # more than max_connections
            with trio.move_on_after(0.1) as scope:
                await client.execute("BLPOP", f"{namespace}:nothing", 3)
            assert scope.cancelled_caught
            # A late BLPOP reply read as this GET's would be None; a leaked slot would hang.
            with trio.fail_after(2):
                assert await client.execute("GET", f"{namespace}:k") == "mine"


async def test_a_slow_reply_is_a_redis_timeout_and_costs_no_connection(
    redis_server: RedisServer, namespace: str
) -> None:
    async with connected(redis_server.url, read_timeout=0.2, max_connections=1) as client:
        for _ in range(3):
            with pytest.raises(RedisTimeout, match=r"no reply to BLPOP within 0\.2 s"):
                await client.execute("BLPOP", f"{namespace}:nothing", 2)
            assert await client.execute("PING") == "PONG"


async def test_a_password_protected_server(redis_auth_server: RedisServer, namespace: str) -> None:
    async with connected(redis_auth_server.url) as client:
        await client.execute("SET", f"{namespace}:k", "v")
        assert await client.execute("GET", f"{namespace}:k") == "v"


@pytest.mark.parametrize("password", [None, "wrong-pw-Qm7"])
async def test_a_refused_login_is_a_redis_error_that_shows_no_password(
    redis_auth_server: RedisServer, password: str | None
) -> None:
    url = f"redis://127.0.0.1:{redis_auth_server.port}/0"
    if password:
        url = redis_auth_server.url_with(password)
    with pytest.raises(RedisError, match=r"NOAUTH|login refused") as caught:
        async with connected(url):
            pass
    text = everything_said(caught.value)
    assert f"127.0.0.1:{redis_auth_server.port}/0" in text
    assert PASSWORD not in text
    assert password is None or password not in text


async def test_an_unreachable_server_is_a_redis_error_without_the_password() -> None:
    with pytest.raises(RedisError, match=r"redis://:\*\*\*@127\.0\.0\.1:1/0") as caught:
        async with connected("redis://:hunter2@127.0.0.1:1/0"):
            pass
    assert isinstance(caught.value, TrioPlivoError)
    assert "hunter2" not in everything_said(caught.value)


def test_the_client_repr_shows_no_password() -> None:
    client = RedisClient(RedisURL.parse("redis://:hunter2@cache:6379/0"))
    assert "hunter2" not in repr(client)
    assert "cache:6379/0" in repr(client)
    with pytest.raises(ConfigurationError):
        RedisClient(RedisURL.parse("redis://cache"), max_connections=0)


async def test_a_closed_client_refuses_commands(redis_server: RedisServer) -> None:
    async with connected(redis_server.url) as client:
        pass
    with pytest.raises(RedisError, match="closed"):
        await client.execute("PING")
