"""PlivoRestClient against httpx.MockTransport: error mapping, retries, secrecy."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
import trio
import trio.testing
from plivo_rest_helpers import (
    AUTH_ID,
    CALL,
    STREAM,
    TOKEN,
    Recorder,
    reply,
)

from trio_plivo import ConfigurationError, PlivoAPIError

# --- error mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "status", "api_id", "message"),
    [
        (reply(400, {"api_id": "x-1", "error": "invalid digits"}), 400, "x-1", "invalid digits"),
        (
            reply(400, {"api_id": "x-2", "error": {"leg": "bad value"}}),
            400,
            "x-2",
            '{"leg":"bad value"}',
        ),
        (reply(401, text="Unauthorized request"), 401, None, "Unauthorized request"),
        (reply(403, {"api_id": "x-3", "message": "forbidden"}), 403, "x-3", "forbidden"),
        (reply(422), 422, None, "Unprocessable Entity"),
    ],
)
async def test_error_mapping(
    response: httpx.Response, status: int, api_id: str | None, message: str
) -> None:
    rec = Recorder(response)
    async with rec.client() as plivo:
        with pytest.raises(PlivoAPIError) as info:
            await plivo.send_dtmf(CALL, "1")
    assert (info.value.status_code, info.value.api_id, info.value.message) == (
        status,
        api_id,
        message,
    )
    assert len(rec.requests) == 1


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]"])
async def test_non_object_success_body_is_an_error(body: bytes) -> None:
    rec = Recorder(httpx.Response(200, content=body))
    async with rec.client() as plivo:
        with pytest.raises(PlivoAPIError, match="JSON"):
            await plivo.get_stream(CALL, STREAM)


# --- retries ----------------------------------------------------------------------------------


async def test_get_retried_on_5xx_then_succeeds(autojump_clock: trio.testing.MockClock) -> None:
    rec = Recorder(reply(503), reply(502), reply(200, {"stream_id": STREAM}))
    async with rec.client() as plivo:
        info = await plivo.get_stream(CALL, STREAM)
    assert info.stream_id == STREAM
    assert len(rec.requests) == 3
    assert rec.times[1] > rec.times[0]


async def test_delete_retried_on_429_and_network_errors(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rec = Recorder(
        reply(429), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x"), reply(204)
    )
    async with rec.client() as plivo:
        assert await plivo.hangup_call(CALL) is True
    assert len(rec.requests) == 4


async def test_idempotent_gives_up_after_max_retries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rec = Recorder(reply(500, {"api_id": "x-9", "error": "internal"}))
    async with rec.client(max_retries=2) as plivo:
        with pytest.raises(PlivoAPIError) as info:
            await plivo.hangup_call(CALL)
    assert len(rec.requests) == 3
    assert (info.value.status_code, info.value.message) == (500, "internal")


async def test_network_failure_after_retries(autojump_clock: trio.testing.MockClock) -> None:
    rec = Recorder(httpx.ReadError("connection reset"))
    async with rec.client() as plivo:
        with pytest.raises(PlivoAPIError) as info:
            await plivo.list_streams(CALL)
    assert len(rec.requests) == 4  # first try + max_retries=3
    assert info.value.status_code is None
    assert info.value.api_id is None
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert "4 attempt" in info.value.message


async def test_backoff_is_exponential_with_jitter(autojump_clock: trio.testing.MockClock) -> None:
    rec = Recorder(reply(503))
    async with rec.client(max_retries=5, backoff_initial=1.0, backoff_max=4.0) as plivo:
        with pytest.raises(PlivoAPIError):
            await plivo.list_streams(CALL)
    gaps = [b - a for a, b in zip(rec.times, rec.times[1:], strict=False)]
    assert len(gaps) == 5
    for attempt, gap in enumerate(gaps):
        ceiling = min(4.0, 1.0 * 2**attempt)
        assert ceiling / 2 <= gap <= ceiling + 1e-9


async def test_post_not_retried_on_5xx(autojump_clock: trio.testing.MockClock) -> None:
    rec = Recorder(reply(503, {"error": "try later"}), reply(202, {}))
    async with rec.client() as plivo:
        with pytest.raises(PlivoAPIError) as info:
            await plivo.send_dtmf(CALL, "1")
    assert info.value.status_code == 503
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout("slow"), httpx.ReadError("reset"), httpx.WriteError("pipe")]
)
async def test_post_not_retried_when_request_may_have_been_sent(
    error: Exception, autojump_clock: trio.testing.MockClock
) -> None:
    rec = Recorder(error, reply(201, {"stream_id": STREAM}))
    async with rec.client() as plivo:
        with pytest.raises(PlivoAPIError) as info:
            await plivo.start_stream(CALL, "wss://b.example/s")
    assert len(rec.requests) == 1
    assert info.value.status_code is None
    assert info.value.__cause__ is error


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("syn"), httpx.PoolTimeout("p")]
)
async def test_post_retried_when_never_sent(
    error: Exception, autojump_clock: trio.testing.MockClock
) -> None:
    rec = Recorder(error, reply(201, {"stream_id": STREAM}))
    async with rec.client() as plivo:
        started = await plivo.start_stream(CALL, "wss://b.example/s")
    assert started.stream_id == STREAM
    assert len(rec.requests) == 2


async def test_max_retries_zero_means_one_attempt(autojump_clock: trio.testing.MockClock) -> None:
    rec = Recorder(reply(503))
    async with rec.client(max_retries=0) as plivo:
        with pytest.raises(PlivoAPIError):
            await plivo.hangup_call(CALL)
    assert len(rec.requests) == 1
    assert trio.current_time() == rec.times[0]


# --- secrets ----------------------------------------------------------------------------------


async def test_token_never_in_reprs_logs_or_errors(
    caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    rec = Recorder(
        reply(503),
        httpx.ConnectError("refused"),
        reply(200, {"stream_id": STREAM, "api_id": "a"}),
        reply(400, {"error": "bad"}),
        httpx.ReadError("reset"),
    )
    async with rec.client(max_retries=2) as plivo:
        texts += [repr(plivo), str(plivo)]
        texts.append(repr(await plivo.get_stream(CALL, STREAM)))
        for attempt in (
            lambda: plivo.send_dtmf(CALL, "1"),
            lambda: plivo.list_streams(CALL),
            lambda: plivo.hangup_call(""),
        ):
            with pytest.raises((PlivoAPIError, ConfigurationError)) as info:
                await attempt()
            texts += [str(info.value), repr(info.value), repr(info.value.args)]
            if info.value.__cause__ is not None:
                texts += [str(info.value.__cause__), repr(info.value.__cause__)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(request) for request in rec.requests]
    assert any("retry" in t for t in texts)  # the logging path really ran
    encoded = base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()
    for text in texts:
        assert TOKEN not in text
        assert encoded not in text
