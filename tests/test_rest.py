"""PlivoRestClient against httpx.MockTransport: request shapes, errors, retries, secrecy."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from trio_plivo import L16_16K, ConfigurationError, PlivoAPIError
from trio_plivo.rest import PlivoRestClient, StreamInfo, StreamList, StreamStarted

AUTH_ID = "MAXXXXXXXXXXXXXXXXXX"
TOKEN = "sup3r-s3cret-t0ken-value"
CALL = "5b0c6a3e-2f41-4d7a-9a53-0e6f1c2d9b10"
STREAM = "c1f7e2aa-9d2b-4b6e-8f40-7d3a91b2c655"
ACCOUNT = f"https://api.plivo.com/v1/Account/{AUTH_ID}"
EXPECTED_AUTH = "Basic " + base64.b64encode(f"{AUTH_ID}:{TOKEN}".encode()).decode()


class Recorder:
    """A MockTransport whose responses come from a queue; records every request and when."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(trio.current_time())
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        return item

    def client(self, **kwargs: Any) -> PlivoRestClient:
        return PlivoRestClient(AUTH_ID, TOKEN, transport=self.transport, **kwargs)

    @property
    def only(self) -> httpx.Request:
        (request,) = self.requests
        return request


def reply(status: int, body: object = None, *, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    if body is None:
        return httpx.Response(status)
    return httpx.Response(status, json=body)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def assert_common_shape(request: httpx.Request, method: str, url: str) -> None:
    assert request.method == method
    assert str(request.url) == url
    assert request.url.path.endswith("/")
    assert request.headers["authorization"] == EXPECTED_AUTH


# --- request shapes ---------------------------------------------------------------------------


async def test_start_stream_request_and_result() -> None:
    rec = Recorder(
        reply(
            201,
            {
                "api_id": "a-1",
                "message": "audio streaming started",
                "stream_id": STREAM,
                "new_field": 7,
            },
        )
    )
    async with rec.client() as plivo:
        started = await plivo.start_stream(
            CALL,
            "wss://bot.example.com/stream",
            bidirectional=True,
            audio_track="inbound",
            stream_timeout=120,
            status_callback_url="https://bot.example.com/status",
            status_callback_method="post",
            content_type=L16_16K,
            extra_headers={"tenant": "acme", "lead": "42"},
        )
    request = rec.only
    assert_common_shape(request, "POST", f"{ACCOUNT}/Call/{CALL}/Stream/")
    assert request.headers["content-type"] == "application/json"
    assert body_of(request) == {
        "service_url": "wss://bot.example.com/stream",
        "bidirectional": True,
        "audio_track": "inbound",
        "stream_timeout": 120,
        "status_callback_url": "https://bot.example.com/status",
        "status_callback_method": "POST",
        "content_type": "audio/x-l16;rate=16000",
        "extra_headers": "tenant=acme,lead=42",
    }
    assert isinstance(started, StreamStarted)
    assert started.stream_id == STREAM
    assert started.api_id == "a-1"
    assert started.message == "audio streaming started"
    assert started.raw["new_field"] == 7


@pytest.mark.parametrize("status", [200, 201, 202])
async def test_start_stream_accepts_any_2xx_and_omits_unset(status: int) -> None:
    rec = Recorder(reply(status, {"stream_id": STREAM}))
    async with rec.client() as plivo:
        started = await plivo.start_stream(CALL, "wss://bot.example.com/stream")
    assert started.stream_id == STREAM
    assert body_of(rec.only) == {"service_url": "wss://bot.example.com/stream"}


async def test_start_stream_without_stream_id_is_an_error() -> None:
    rec = Recorder(reply(201, {"api_id": "a-2", "message": "ok"}))
    async with rec.client() as plivo:
        with pytest.raises(PlivoAPIError, match="stream_id") as info:
            await plivo.start_stream(CALL, "wss://bot.example.com/stream")
    assert info.value.api_id == "a-2"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"service_url": "https://bot.example.com/stream"},
        {"service_url": "wss://b.example/s", "bidirectional": True, "audio_track": "both"},
        {"service_url": "wss://b.example/s", "content_type": "audio/x-mulaw;rate=16000"},
        {"service_url": "wss://b.example/s", "extra_headers": {"a": "b c"}},
        {"service_url": "wss://b.example/s", "stream_timeout": 0},
    ],
)
async def test_start_stream_bad_settings_make_no_request(kwargs: dict[str, Any]) -> None:
    rec = Recorder(reply(201, {"stream_id": STREAM}))
    async with rec.client() as plivo:
        with pytest.raises(ConfigurationError):
            await plivo.start_stream(CALL, **kwargs)
    assert rec.requests == []


async def test_list_streams() -> None:
    rec = Recorder(
        reply(
            200,
            {
                "api_id": "a-3",
                "meta": {"count": 2, "limit": 20, "next": None, "offset": 0, "previous": None},
                "objects": [
                    {
                        "call_uuid": CALL,
                        "stream_id": STREAM,
                        "service_url": "wss://b.example/s",
                        "status": "in-progress",
                        "start_time": "2023-06-26 08:14:29+05:30",
                        "end_time": None,
                    },
                    {"stream_id": "second", "status": "completed"},
                ],
            },
        )
    )
    async with rec.client() as plivo:
        result = await plivo.list_streams(CALL)
    assert_common_shape(rec.only, "GET", f"{ACCOUNT}/Call/{CALL}/Stream/")
    assert rec.only.content == b""
    assert isinstance(result, StreamList)
    assert result.total_count == 2
    assert result.api_id == "a-3"
    assert [s.stream_id for s in result.streams] == [STREAM, "second"]
    first = result.streams[0]
    assert first.call_uuid == CALL
    assert first.status == "in-progress"
    assert first.start_time is not None
    assert first.start_time.utcoffset() is not None
    assert first.end_time is None


async def test_list_streams_total_count_spelling() -> None:
    rec = Recorder(reply(200, {"meta": {"total_count": 1}, "objects": [{"stream_id": STREAM}]}))
    async with rec.client() as plivo:
        assert (await plivo.list_streams(CALL)).total_count == 1


async def test_get_stream() -> None:
    rec = Recorder(
        reply(
            200,
            {
                "audio_track": "both",
                "bidirectional": False,
                "bill_duration": 21,
                "call_uuid": CALL,
                "stream_id": STREAM,
                "service_url": "ws://13.127.140.35:19088/ws",
                "start_time": "2023-06-26 08:14:29+05:30",
                "end_time": "2023-06-26 08:14:50+05:30",
                "status_callback_url": "https://b.example/cb",
            },
        )
    )
    async with rec.client() as plivo:
        info = await plivo.get_stream(CALL, STREAM)
    assert_common_shape(rec.only, "GET", f"{ACCOUNT}/Call/{CALL}/Stream/{STREAM}/")
    assert isinstance(info, StreamInfo)
    assert (info.audio_track, info.bidirectional, info.service_url) == (
        "both",
        False,
        "ws://13.127.140.35:19088/ws",
    )
    assert info.start_time is not None
    assert info.end_time is not None
    assert (info.end_time - info.start_time).total_seconds() == 21
    assert info.raw["bill_duration"] == 21


@pytest.mark.parametrize(("status", "expected"), [(204, True), (200, True), (404, False)])
async def test_stop_stream(status: int, expected: bool) -> None:
    rec = Recorder(reply(status))
    async with rec.client() as plivo:
        assert await plivo.stop_stream(CALL, STREAM) is expected
    assert_common_shape(rec.only, "DELETE", f"{ACCOUNT}/Call/{CALL}/Stream/{STREAM}/")


async def test_stop_stream_no_active_stream_is_an_api_error() -> None:
    rec = Recorder(reply(400, {"api_id": "a-4", "error": "No active stream found"}))
    async with rec.client() as plivo:
        with pytest.raises(PlivoAPIError) as info:
            await plivo.stop_stream(CALL, STREAM)
    assert (info.value.status_code, info.value.api_id, info.value.message) == (
        400,
        "a-4",
        "No active stream found",
    )


@pytest.mark.parametrize(("status", "expected"), [(204, True), (404, False)])
async def test_stop_all_streams(status: int, expected: bool) -> None:
    rec = Recorder(reply(status))
    async with rec.client() as plivo:
        assert await plivo.stop_all_streams(CALL) is expected
    assert_common_shape(rec.only, "DELETE", f"{ACCOUNT}/Call/{CALL}/Stream/")


async def test_hangup_call_204() -> None:
    rec = Recorder(reply(204))
    async with rec.client() as plivo:
        assert await plivo.hangup_call(CALL) is True
    assert_common_shape(rec.only, "DELETE", f"{ACCOUNT}/Call/{CALL}/")
    assert rec.only.content == b""


async def test_hangup_call_404_means_already_gone() -> None:
    rec = Recorder(reply(404, {"api_id": "a-5", "error": "not found"}))
    async with rec.client() as plivo:
        assert await plivo.hangup_call(CALL) is False
    assert len(rec.requests) == 1


async def test_send_dtmf() -> None:
    rec = Recorder(reply(202, {"api_id": "a-6", "message": "digits sent"}))
    async with rec.client() as plivo:
        sent = await plivo.send_dtmf(CALL, "12w#*AD", leg="bleg")
    assert_common_shape(rec.only, "POST", f"{ACCOUNT}/Call/{CALL}/DTMF/")
    assert body_of(rec.only) == {"digits": "12w#*AD", "leg": "bleg"}
    assert (sent.api_id, sent.message) == ("a-6", "digits sent")


async def test_send_dtmf_default_leg() -> None:
    rec = Recorder(reply(202, {"message": "digits sent"}))
    async with rec.client() as plivo:
        await plivo.send_dtmf(CALL, "5")
    assert body_of(rec.only) == {"digits": "5", "leg": "aleg"}


@pytest.mark.parametrize(
    ("digits", "leg"), [("", "aleg"), ("12E", "aleg"), ("1 2", "aleg"), ("1", "cleg")]
)
async def test_send_dtmf_validation(digits: str, leg: str) -> None:
    rec = Recorder(reply(202, {}))
    async with rec.client() as plivo:
        with pytest.raises(ConfigurationError):
            await plivo.send_dtmf(CALL, digits, leg=leg)
    assert rec.requests == []


def _calls_with(uuid: str) -> Iterator[Callable[[PlivoRestClient], Awaitable[object]]]:
    yield lambda p: p.hangup_call(uuid)
    yield lambda p: p.stop_all_streams(uuid)
    yield lambda p: p.stop_stream(uuid, STREAM)
    yield lambda p: p.list_streams(uuid)
    yield lambda p: p.get_stream(uuid, STREAM)
    yield lambda p: p.send_dtmf(uuid, "1")
    yield lambda p: p.start_stream(uuid, "wss://b.example/s")


@pytest.mark.parametrize("uuid", ["", "   ", "..", "../..", "a/b", "?x", None])
async def test_bad_call_uuid_refused_before_any_request(uuid: Any) -> None:
    rec = Recorder(reply(204))
    async with rec.client() as plivo:
        for call in _calls_with(uuid):
            with pytest.raises(ConfigurationError, match="call_uuid"):
                await call(plivo)
    assert rec.requests == []


@pytest.mark.parametrize("stream_id", ["", " ", "..", "x/y"])
async def test_bad_stream_id_refused_before_any_request(stream_id: str) -> None:
    rec = Recorder(reply(204))
    async with rec.client() as plivo:
        with pytest.raises(ConfigurationError, match="stream_id"):
            await plivo.stop_stream(CALL, stream_id)
        with pytest.raises(ConfigurationError, match="stream_id"):
            await plivo.get_stream(CALL, stream_id)
    assert rec.requests == []


async def test_base_url_trailing_slash_and_custom_host() -> None:
    rec = Recorder(reply(204))
    async with rec.client(base_url="https://api-eu.example/v1/") as plivo:
        await plivo.hangup_call(CALL)
    assert str(rec.only.url) == f"https://api-eu.example/v1/Account/{AUTH_ID}/Call/{CALL}/"


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


# --- configuration ----------------------------------------------------------------------------


async def test_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLIVO_AUTH_ID", "SAENVENVENVENVENVENV")
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", "env-token")
    rec = Recorder(reply(204))
    async with PlivoRestClient(transport=rec.transport) as plivo:
        assert plivo.auth_id == "SAENVENVENVENVENVENV"
        await plivo.hangup_call(CALL)
    expected = base64.b64encode(b"SAENVENVENVENVENVENV:env-token").decode()
    assert rec.only.headers["authorization"] == f"Basic {expected}"
    assert "/Account/SAENVENVENVENVENVENV/" in rec.only.url.path


async def test_explicit_credentials_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLIVO_AUTH_ID", "SAENVENVENVENVENVENV")
    monkeypatch.setenv("PLIVO_AUTH_TOKEN", "env-token")
    rec = Recorder(reply(204))
    async with rec.client() as plivo:
        await plivo.hangup_call(CALL)
    assert rec.only.headers["authorization"] == EXPECTED_AUTH


@pytest.mark.parametrize(
    ("env", "args"),
    [
        ({}, {}),
        ({"PLIVO_AUTH_ID": AUTH_ID}, {}),
        ({"PLIVO_AUTH_TOKEN": TOKEN}, {}),
        ({"PLIVO_AUTH_ID": "", "PLIVO_AUTH_TOKEN": TOKEN}, {}),
        ({}, {"auth_id": AUTH_ID, "auth_token": ""}),
        ({}, {"auth_id": "MA/../x", "auth_token": TOKEN}),
    ],
)
def test_missing_credentials(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: dict[str, Any]
) -> None:
    monkeypatch.delenv("PLIVO_AUTH_ID", raising=False)
    monkeypatch.delenv("PLIVO_AUTH_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError):
        PlivoRestClient(**args)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"timeout": -1.0},
        {"max_retries": -1},
        {"max_retries": True},
        {"backoff_initial": -1.0},
        {"backoff_initial": 5.0, "backoff_max": 1.0},
    ],
)
def test_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        PlivoRestClient(AUTH_ID, TOKEN, **kwargs)


async def test_async_with_closes_the_pool() -> None:
    rec = Recorder(reply(204))
    async with rec.client() as plivo:
        pass
    with pytest.raises(RuntimeError):
        await plivo.hangup_call(CALL)
    await plivo.aclose()  # idempotent
    assert rec.requests == []


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
