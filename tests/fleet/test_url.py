"""Redis URLs: parsed strictly, shown without the password."""

from __future__ import annotations

import pytest

from trio_plivo import ConfigurationError
from trio_plivo.fleet import RedisURL


def test_defaults_and_full_form() -> None:
    assert RedisURL.parse("redis://cache") == RedisURL("cache", 6379, 0, None, None, False)
    url = RedisURL.parse("rediss://app:p%40ss@cache.internal:6380/3")
    assert (url.host, url.port, url.db, url.username, url.password, url.tls) == (
        "cache.internal",
        6380,
        3,
        "app",
        "p@ss",
        True,
    )


def test_password_only_and_ipv6() -> None:
    url = RedisURL.parse("redis://:hunter2@[::1]:7000/1")
    assert (url.host, url.port, url.username, url.password) == ("::1", 7000, None, "hunter2")
    assert url.redacted() == "redis://:***@[::1]:7000/1"


def test_repr_and_str_mask_the_password() -> None:
    url = RedisURL.parse("redis://admin:hunter2@cache:6379/2")
    for text in (repr(url), str(url), url.redacted(), f"{url}"):
        assert "hunter2" not in text
        assert "cache:6379/2" in text
    assert url.scrub("AUTH admin hunter2 failed") == "AUTH admin *** failed"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://:hunter2@cache:6379", "must start with redis://"),
        ("unix:///run/redis.sock", "must start with redis://"),
        ("redis://:hunter2@:6379/0", "has no host"),
        ("redis://:hunter2@cache:6379/zero", "database number"),
        ("redis://:hunter2@cache:99999", "bad host or port"),
        ("redis://:hunter2@cache:port", "bad host or port"),
        ("redis://:hunter2@cache/0?ssl_cert_reqs=none", "options after"),
    ],
)
def test_bad_urls_are_refused_without_showing_the_password(url: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        RedisURL.parse(url)
    assert "hunter2" not in str(caught.value)
