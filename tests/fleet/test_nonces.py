"""Replay caches: a nonce is new once per window, in one process or across the fleet."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_plivo import ConfigurationError
from trio_plivo.fleet import LocalNonceCache, NonceCache, RedisNonceCache

from .conftest import PASSWORD, RedisServer, eventually


async def test_local_a_nonce_is_new_once_per_window(autojump_clock: trio.testing.MockClock) -> None:
    cache = LocalNonceCache(window_s=600)
    assert await cache.seen_before("n-1") is False
    assert await cache.seen_before("n-1") is True
    await trio.sleep(599)
    assert await cache.seen_before("n-1") is True  # the window counts from the first sight
    await trio.sleep(1)
    assert await cache.seen_before("n-1") is False
    assert len(cache) == 1  # the expired entry was dropped, the new sight recorded


async def test_local_the_oldest_nonce_is_evicted_when_full(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache = LocalNonceCache(window_s=600, max_entries=3)
    for nonce in ("a", "b", "c", "d"):
        assert await cache.seen_before(nonce) is False
        await trio.sleep(1)
    assert len(cache) == 3
    assert await cache.seen_before("b") is True
    assert await cache.seen_before("d") is True
    assert await cache.seen_before("a") is False  # evicted, so new again (and "b" goes now)
    assert await cache.seen_before("b") is False


async def test_local_with_an_injected_clock() -> None:
    now = [1000.0]
    cache = LocalNonceCache(window_s=10, clock=lambda: now[0])
    assert await cache.seen_before("x" * 10_000) is False
    assert await cache.seen_before("x" * 10_000) is True
    now[0] += 10
    assert await cache.seen_before("x" * 10_000) is False


def test_settings_that_can_never_work_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="window_s"):
        LocalNonceCache(window_s=0)
    with pytest.raises(ConfigurationError, match="max_entries"):
        LocalNonceCache(max_entries=0)
    with pytest.raises(ConfigurationError, match="window_s"):
        RedisNonceCache("redis://cache", window_s=-1)


async def test_redis_a_nonce_is_new_once_across_the_fleet(
    redis_server: RedisServer, namespace: str
) -> None:
    async with (
        RedisNonceCache(redis_server.url, namespace=namespace) as worker_1,
        RedisNonceCache(redis_server.url, namespace=namespace) as worker_2,
    ):
        caches: list[NonceCache] = [worker_1, worker_2]
        assert await caches[0].seen_before("nonce-1") is False
        assert await caches[1].seen_before("nonce-1") is True
        assert await caches[1].seen_before("nonce-2") is False

        # The same request arriving at many workers at once: exactly one takes it as new.
        verdicts: list[bool] = []

        async def check(cache: NonceCache) -> None:
            verdicts.append(await cache.seen_before("raced"))

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(check, caches[i % 2])
        assert sorted(verdicts) == [False] + [True] * 19


async def test_redis_nonces_expire_after_the_window(
    redis_server: RedisServer, namespace: str
) -> None:
    async with RedisNonceCache(redis_server.url, window_s=0.3, namespace=namespace) as cache:
        assert await cache.seen_before("short-lived") is False
        assert await cache.seen_before("short-lived") is True

        async def new_again() -> bool:
            return not await cache.seen_before("short-lived")

        await eventually(new_again)


async def test_redis_nonce_cache_with_a_password_shows_none(
    redis_auth_server: RedisServer, namespace: str
) -> None:
    async with RedisNonceCache(redis_auth_server.url, namespace=namespace) as cache:
        assert PASSWORD not in repr(cache)
        assert await cache.seen_before("n") is False


async def test_redis_nonce_cache_must_be_entered() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        await RedisNonceCache("redis://cache").seen_before("n")
