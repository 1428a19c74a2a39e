"""PlivoRestClient against httpx.MockTransport: request shapes and configuration."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from plivo_rest_helpers import (
    ACCOUNT,
    AUTH_ID,
    CALL,
    EXPECTED_AUTH,
    STREAM,
    TOKEN,
    Recorder,
    assert_common_shape,
    body_of,
    reply,
)

from trio_plivo import L16_16K, ConfigurationError, PlivoAPIError
from trio_plivo.rest import PlivoRestClient, StreamInfo, StreamList, StreamStarted

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
