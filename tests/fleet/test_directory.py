"""The fleet's call directory on a real Redis: two directories stand for two processes."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from trio_plivo import ConfigurationError
from trio_plivo.fleet import CallEntry, RedisCallDirectory, RedisError, RedisURL
from trio_plivo.fleet._client import open_redis

from .conftest import PASSWORD, RedisServer, eventually


@asynccontextmanager
async def two_nodes(
    url: str, namespace: str, *, ttl: float = 30.0
) -> AsyncIterator[tuple[RedisCallDirectory, RedisCallDirectory]]:
    async with (
        RedisCallDirectory(url, "node-a", ttl=ttl, namespace=namespace) as a,
        RedisCallDirectory(url, "node-b", ttl=ttl, namespace=namespace) as b,
    ):
        yield a, b


def summary(entries: list[CallEntry]) -> set[tuple[str, str, str]]:
    return {(entry.call_id, entry.stream_id, entry.node) for entry in entries}


async def test_every_node_sees_the_fleets_calls_and_their_owners(
    redis_server: RedisServer, namespace: str
) -> None:
    async with two_nodes(redis_server.url, namespace) as (a, b):
        await a.register("call-1", "stream-1", {"from": "+15550001", "legs": 1})
        await b.register("call-2", "stream-2")
        for directory in (a, b):
            calls = await directory.list_calls()
            assert summary(calls) == {
                ("call-1", "stream-1", "node-a"),
                ("call-2", "stream-2", "node-b"),
            }
        first = next(entry for entry in await b.list_calls() if entry.call_id == "call-1")
        assert first.info == {"from": "+15550001", "legs": 1}
        assert first.to_dict()["node"] == "node-a"
        assert await b.owner_of("call-1") == "node-a"
        assert await b.owner_of("stream-1") == "node-a"
        assert await a.owner_of("stream-2") == "node-b"
        assert await a.owner_of("no-such-call") is None


async def test_unregister_and_reregister(redis_server: RedisServer, namespace: str) -> None:
    async with two_nodes(redis_server.url, namespace) as (a, b):
        await a.register("call-1", "stream-1")
        await a.register("call-1", "stream-1b", {"reconnected": True})
        assert summary(await b.list_calls()) == {("call-1", "stream-1b", "node-a")}
        assert await b.owner_of("stream-1") is None
        await a.unregister("call-1")
        await a.unregister("call-1")  # twice, or unknown: nothing to do
        assert await b.list_calls() == []
        assert await b.owner_of("call-1") is None
        assert await b.owner_of("stream-1b") is None


async def test_info_must_be_json(redis_server: RedisServer, namespace: str) -> None:
    async with RedisCallDirectory(redis_server.url, "node-a", namespace=namespace) as a:
        with pytest.raises(ConfigurationError, match="JSON"):
            await a.register("call-1", "stream-1", {"when": object()})
        assert a.local_calls == []
        assert await a.list_calls() == []


async def test_leaving_withdraws_the_nodes_calls_at_once(
    redis_server: RedisServer, namespace: str
) -> None:
    async with RedisCallDirectory(redis_server.url, "node-b", namespace=namespace) as b:
        async with RedisCallDirectory(redis_server.url, "node-a", namespace=namespace) as a:
            await a.register("call-1", "stream-1")
        assert await b.list_calls() == []
        assert await b.owner_of("stream-1") is None
        # Cancelled (a server shutting down) rather than left: withdrawn all the same.
        with trio.CancelScope() as scope:
            async with RedisCallDirectory(redis_server.url, "node-c", namespace=namespace) as c:
                await c.register("call-2", "stream-2")
                scope.cancel()
                await trio.sleep_forever()
        assert await b.list_calls() == []
        assert await b.owner_of("call-2") is None


async def test_the_bodys_exception_comes_out_as_itself(
    redis_server: RedisServer, namespace: str
) -> None:
    with pytest.raises(KeyError, match="from the body"):
        async with RedisCallDirectory(redis_server.url, "node-a", namespace=namespace):
            raise KeyError("from the body")


async def test_entering_without_redis_is_a_redis_error() -> None:
    with pytest.raises(RedisError, match=r"redis://:\*\*\*@127\.0\.0\.1:1/0"):
        async with RedisCallDirectory("redis://:hunter2@127.0.0.1:1/0", "node-a"):
            pass


DYING_NODE = """
import sys, trio
from trio_plivo.fleet import RedisCallDirectory

async def main(url, namespace):
    async with RedisCallDirectory(url, "doomed", ttl=1.0, namespace=namespace) as directory:
        await directory.register("doomed-call", "doomed-stream")
        print("registered", flush=True)
        await trio.sleep_forever()

trio.run(main, sys.argv[1], sys.argv[2])
"""


async def test_the_calls_of_a_killed_process_expire_while_a_live_nodes_stay(
    redis_server: RedisServer, namespace: str
) -> None:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", DYING_NODE, redis_server.url, namespace],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        said = b""
        with trio.fail_after(20):
            while not said.endswith(b"\n"):
                said += await process.stdout.receive_some(100)
        assert said == b"registered\n"
        async with RedisCallDirectory(
            redis_server.url, "survivor", ttl=1.0, namespace=namespace
        ) as survivor:
            await survivor.register("live-call", "live-stream")
            assert await survivor.owner_of("doomed-stream") == "doomed"
            process.kill()  # no clean exit: nothing withdraws its call
            await process.wait()

            async def doomed_call_gone() -> bool:
                return {e.call_id for e in await survivor.list_calls()} == {"live-call"}

            await eventually(doomed_call_gone)
            assert await survivor.owner_of("doomed-call") is None
            # Over two TTLs passed for the survivor too: its refresh kept its call alive.
            await trio.sleep(1.0)
            assert {e.call_id for e in await survivor.list_calls()} == {"live-call"}
    finally:
        process.kill()
        await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()


async def test_the_refresh_restores_entries_redis_lost(
    redis_server: RedisServer, namespace: str
) -> None:
    async with RedisCallDirectory(
        redis_server.url, "node-a", ttl=0.6, namespace=namespace
    ) as directory:
        await directory.register("call-1", "stream-1")
        async with open_redis(RedisURL.parse(redis_server.url)) as raw:
            keys = await raw.execute("KEYS", f"{namespace}:*")
            assert isinstance(keys, list)
            await raw.execute("DEL", *keys)  # as if Redis restarted empty

        async def restored() -> bool:
            return await directory.owner_of("stream-1") == "node-a"

        await eventually(restored)
        assert summary(await directory.list_calls()) == {("call-1", "stream-1", "node-a")}


async def test_an_unreadable_entry_is_skipped_and_logged(
    redis_server: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with RedisCallDirectory(redis_server.url, "node-a", namespace=namespace) as directory:
        await directory.register("call-1", "stream-1")
        async with open_redis(RedisURL.parse(redis_server.url)) as raw:
            await raw.execute("HSET", f"{namespace}:calls:node-a", "junk", "{not json")
        with caplog.at_level(logging.WARNING, logger="trio_plivo.fleet"):
            calls = await directory.list_calls()
    assert summary(calls) == {("call-1", "stream-1", "node-a")}
    assert "unreadable call entry" in caplog.text


async def test_a_redis_outage_is_logged_without_the_password_and_survived(
    own_redis_server: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = own_redis_server.url
    async with open_redis(RedisURL.parse(url)) as admin:
        with caplog.at_level(logging.INFO, logger="trio_plivo.fleet"):
            async with RedisCallDirectory(url, "node-a", ttl=0.6, namespace=namespace) as a:
                await a.register("call-1", "stream-1")
                # The password changes and every connection is cut: the node's refreshes fail.
                await admin.execute("CONFIG", "SET", "requirepass", "another-Pw-93")
                await admin.execute("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")

                async def refresh_failed() -> bool:
                    return "cannot refresh its calls" in caplog.text

                await eventually(refresh_failed)
                await admin.execute("CONFIG", "SET", "requirepass", PASSWORD)

                async def refreshing_again() -> bool:
                    return "refreshes its calls again" in caplog.text

                await eventually(refreshing_again)
                assert await a.owner_of("stream-1") == "node-a"
    assert "WRONGPASS" in caplog.text or "login refused" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(a)


async def test_misuse_is_refused(redis_server: RedisServer) -> None:
    with pytest.raises(ConfigurationError, match="node_id"):
        RedisCallDirectory(redis_server.url, "two words")
    with pytest.raises(ConfigurationError, match="ttl"):
        RedisCallDirectory(redis_server.url, "node", ttl=0.1)
    with pytest.raises(ConfigurationError, match="Redis URL"):
        RedisCallDirectory("http://127.0.0.1", "node")
    directory = RedisCallDirectory(redis_server.url, "node")
    with pytest.raises(RuntimeError, match="async with"):
        await directory.list_calls()
