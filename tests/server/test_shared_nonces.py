"""A replay cache shared by several servers (issue #15, defect 4): a signed upgrade's nonce is
checked in ``StreamServer(nonce_cache=...)``, awaited inside the handshake's one deadline, and a
cache that cannot answer refuses the upgrade with 503. Servers on memory streams, a fake
cache, a virtual clock: no sockets and no Redis here (tests/fleet has the real one)."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing
from prometheus_client.parser import text_string_to_metric_families

from trio_plivo.apps import echo
from trio_plivo.control._metrics import ServerMetrics
from trio_plivo.fleet import NonceCache, RedisError
from trio_plivo.server import StreamServer
from trio_plivo.signatures import NONCE_HEADER, SignatureValidator, signature_headers

TOKEN = "shared-nonce-auth-token-5e1f"
URL = "wss://bot.example.com/stream"
DOWN = "Redis at redis://127.0.0.1:6390/0: connection refused"


class SharedNonces:
    """What Redis is to a fleet, in memory: one set of nonces every server asks."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.failure: Exception | None = None
        self.hangs = False
        self.asked = 0

    async def seen_before(self, nonce: str) -> bool:
        self.asked += 1
        await trio.lowlevel.checkpoint()
        if self.hangs:
            await trio.sleep_forever()
        if self.failure is not None:
            raise self.failure
        if nonce in self.seen:
            return True
        self.seen.add(nonce)
        return False


def fleet_server(cache: NonceCache) -> StreamServer:
    return StreamServer(
        echo, signature_validator=SignatureValidator(TOKEN, public_url=URL), nonce_cache=cache
    )


def upgrade_request(headers: dict[str, str]) -> bytes:
    lines = [
        "GET /stream HTTP/1.1",
        "Host: bot.example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def upgrade(server: StreamServer, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send the upgrade to ``server`` over a memory stream; the status and body it answered
    (a 101 is closed at once: the call ends with the stream)."""
    client, server_side = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.handle_stream, server_side)
        await client.send_all(upgrade_request(headers))
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = await client.receive_some()
            assert chunk, answer
            answer += chunk
        await client.aclose()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_a_replay_on_another_server_is_refused_and_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    nonces = SharedNonces()
    first, second = fleet_server(nonces), fleet_server(nonces)
    signed = signature_headers(URL, TOKEN, method="GET")
    assert await upgrade(first, signed) == (101, b"")
    assert await upgrade(second, signed) == (403, b"replayed signature\n")
    assert (second.replays, second.refusals[403], second.active_calls) == (1, 1, 0)
    assert (first.replays, first.active_calls) == (0, 0)
    # The shared cache is the only memory: the same server refuses its own replay through it.
    assert await upgrade(first, signed) == (403, b"replayed signature\n")
    assert first.replays == 1 and nonces.asked == 3
    # A fresh signature is a new call on either.
    assert (await upgrade(second, signature_headers(URL, TOKEN, method="GET")))[0] == 101
    # A bad signature never reaches the shared cache.
    bad = {**signed, NONCE_HEADER: "another-nonce"}
    assert await upgrade(second, bad) == (403, b"invalid signature\n")
    assert nonces.asked == 4


async def test_a_cache_that_fails_refuses_with_503_and_logs_no_secret(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    nonces = SharedNonces()
    nonces.failure = RedisError(DOWN)
    server = fleet_server(nonces)
    signed = signature_headers(URL, TOKEN, method="GET")
    with caplog.at_level(logging.DEBUG, logger="trio_plivo"):
        status, body = await upgrade(server, signed)
    assert status == 503 and b"replay" in body
    assert (server.replay_check_failures, server.replays, server.refusals[503]) == (1, 0, 1)
    assert server.active_calls == 0  # the slot taken while checking is given back
    assert DOWN in caplog.text  # says why (RedisError names the server, never its password)
    for secret in (TOKEN, *signed.values()):
        assert secret not in caplog.text
    # Redis back: the nonce was never recorded, so the same request is a new call now.
    nonces.failure = None
    assert (await upgrade(server, signed))[0] == 101

    metrics = {
        sample.name: sample.value
        for family in text_string_to_metric_families(ServerMetrics(server).render().decode())
        for sample in family.samples
    }
    assert metrics["trio_plivo_replay_check_failures_total"] == 1
    assert metrics["trio_plivo_replayed_signatures_total"] == 0


def server_with_a_hanging_cache() -> StreamServer:
    nonces = SharedNonces()
    nonces.hangs = True
    return fleet_server(nonces)


async def test_a_cache_too_slow_for_the_handshake_deadline_is_answered_503_in_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = server_with_a_hanging_cache()
    server.handshake_timeout = 4.0
    started = trio.current_time()
    status, _ = await upgrade(server, signature_headers(URL, TOKEN, method="GET"))
    waited = trio.current_time() - started
    assert status == 503 and server.replay_check_failures == 1
    assert 3.0 < waited < 4.0  # within the one deadline of the request head, with the answer


async def test_with_a_front_deadline_the_check_gets_what_is_left(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The one-port front spent part of the head's deadline: the shared check gets the rest."""
    server = server_with_a_hanging_cache()
    client, server_side = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        deadline = trio.current_time() + 1.0
        nursery.start_soon(lambda: server.handle_stream(server_side, handshake_deadline=deadline))
        await client.send_all(upgrade_request(signature_headers(URL, TOKEN, method="GET")))
        answer = await client.receive_some()
        assert trio.current_time() < deadline
        await client.aclose()
    assert answer.startswith(b"HTTP/1.1 503")
