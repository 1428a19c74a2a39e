"""Replays refused across the fleet through a real redis-server (issue #15, defect 4): a
signed upgrade accepted by one server is refused (403) when replayed on another, and a Redis
that cannot answer refuses signed upgrades with 503, in the library and through ``serve
--registry`` (one process and ``--workers``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from processes import running_until

from trio_plivo.apps import echo
from trio_plivo.fleet import RedisNonceCache
from trio_plivo.server import StreamServer
from trio_plivo.signatures import SignatureValidator, signature_headers
from trio_plivo.ws import WebSocketHandshakeError, connect_websocket

from .conftest import PASSWORD, RedisServer, stop_redis

TOKEN = "fleet-replay-auth-token-81b2"
#: Every server of the fleet sits behind one public URL (a load balancer): the signature
#: covers it, so a request signed for one server is valid on any other.
PUBLIC = "wss://bot.example.com/stream"


async def status_of(port: int, headers: dict[str, str]) -> int:
    """101 when the upgrade was accepted (the call is closed at once), else the refusal."""
    try:
        ws = await connect_websocket(f"ws://127.0.0.1:{port}/stream", headers=headers)
    except WebSocketHandshakeError as exc:
        return exc.status_code or 0
    await ws.aclose()
    return 101


@asynccontextmanager
async def fleet(url: str, namespace: str, count: int = 2) -> AsyncIterator[list[StreamServer]]:
    """``count`` servers, each with its own connection pool to the one Redis."""
    async with trio.open_nursery() as nursery:
        servers = [await nursery.start(_serve, url, namespace) for _ in range(count)]
        yield servers
        for server in servers:
            server.shutdown()


async def _serve(
    url: str,
    namespace: str,
    *,
    task_status: trio.TaskStatus[StreamServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    validator = SignatureValidator(TOKEN, public_url=PUBLIC)
    async with RedisNonceCache(url, namespace=namespace, read_timeout=2) as nonces:
        server = StreamServer(echo, signature_validator=validator, nonce_cache=nonces)
        await server.serve("127.0.0.1", 0, task_status=task_status)


async def test_a_replay_on_another_server_is_refused(
    redis_server: RedisServer, namespace: str
) -> None:
    with trio.fail_after(20):
        async with fleet(redis_server.url, namespace) as (first, second):
            signed = signature_headers(PUBLIC, TOKEN, method="GET")
            assert await status_of(first.port, signed) == 101
            assert await status_of(second.port, signed) == 403
            assert await status_of(first.port, signed) == 403
            other = signature_headers(PUBLIC, TOKEN, method="GET")
            assert await status_of(second.port, other) == 101
    assert (first.replays, second.replays) == (1, 1)
    assert (first.refusals[403], second.refusals[403]) == (1, 1)
    assert first.replay_check_failures == second.replay_check_failures == 0


async def test_redis_down_refuses_signed_upgrades_with_503(
    own_redis_server: RedisServer, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(20), caplog.at_level(logging.DEBUG, logger="trio_plivo"):
        async with fleet(own_redis_server.url, namespace, 1) as (server,):
            assert (
                await status_of(server.port, signature_headers(PUBLIC, TOKEN, method="GET")) == 101
            )
            stop_redis(own_redis_server)
            signed = signature_headers(PUBLIC, TOKEN, method="GET")
            assert await status_of(server.port, signed) == 503
            assert await status_of(server.port, signed) == 503  # never let through
            assert server.active_calls == 0
    assert (server.replay_check_failures, server.refusals[503], server.replays) == (2, 2, 0)
    assert "shared replay check failed (RedisError" in caplog.text
    for secret in (PASSWORD, TOKEN, *signed.values()):
        assert secret not in caplog.text


SERVE = ("serve", "echo", "--port", "0", "--public-url", PUBLIC)


def test_serve_registry_refuses_a_replay_on_another_process(redis_server: RedisServer) -> None:
    """``serve --registry`` with signatures and no control API: one process and one
    ``--workers`` process share the nonces; a request accepted by one is refused by the
    other."""
    env = {"PLIVO_AUTH_TOKEN": TOKEN}
    pattern = r"listening on ws://[^:]+:(\d+)"
    registry = ("--registry", redis_server.url)
    with (
        running_until(pattern, *SERVE, *registry, env=env) as (_, one),
        running_until(pattern, *SERVE, *registry, "--workers", "1", env=env) as (_, workers),
    ):
        ports = int(one.group(1)), int(workers.group(1))
        statuses = trio.run(_replay_across, ports)
    assert statuses == [101, 403, 101, 403]


async def _replay_across(ports: tuple[int, int]) -> list[int]:
    statuses = []
    with trio.fail_after(20):
        for here, there in (ports, ports[::-1]):
            signed = signature_headers(PUBLIC, TOKEN, method="GET")
            statuses += [await status_of(here, signed), await status_of(there, signed)]
    return statuses
