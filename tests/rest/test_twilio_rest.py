"""TwilioRestClient.hangup_call against httpx.MockTransport."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest

from trio_plivo import ConfigurationError
from trio_plivo.rest import TwilioAPIError, TwilioRestClient

ACCOUNT = "AC25e16e9a716a4a1786a7c83f58e30482"
TOKEN = "tw1l10-s3cr3t"


def client(handler, requests: list[httpx.Request]) -> TwilioRestClient:
    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    return TwilioRestClient(ACCOUNT, TOKEN, transport=httpx.MockTransport(record))


async def test_hangup_posts_status_completed_with_basic_auth() -> None:
    requests: list[httpx.Request] = []
    async with client(
        lambda r: httpx.Response(200, json={"status": "completed"}), requests
    ) as rest:
        assert await rest.hangup_call("CA7a9e") is True
    [request] = requests
    assert request.method == "POST"
    assert (
        str(request.url)
        == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls/CA7a9e.json"
    )
    assert parse_qs(request.content.decode()) == {"Status": ["completed"]}
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    )


async def test_an_ended_call_is_not_an_error() -> None:
    async with client(lambda r: httpx.Response(404, json={"message": "not found"}), []) as rest:
        assert await rest.hangup_call("CA1") is False


async def test_failures_are_twilio_api_errors_without_the_token() -> None:
    async with client(lambda r: httpx.Response(401, json={"message": "Authenticate"}), []) as rest:
        with pytest.raises(TwilioAPIError, match="401: Authenticate") as info:
            await rest.hangup_call("CA1")
    assert info.value.status_code == 401
    assert TOKEN not in str(info.value)

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with client(boom, []) as rest:
        with pytest.raises(TwilioAPIError) as info:
            await rest.hangup_call("CA1")
    assert info.value.status_code is None


async def test_non_json_error_body() -> None:
    async with client(lambda r: httpx.Response(500, text="<html>oops</html>"), []) as rest:
        with pytest.raises(TwilioAPIError, match="oops"):
            await rest.hangup_call("CA1")


@pytest.mark.parametrize("sid", ["", "../AC1", "CA 1", None, "CA1/Recordings"])
async def test_sids_are_checked_before_any_request(sid: object) -> None:
    requests: list[httpx.Request] = []
    async with client(lambda r: httpx.Response(200), requests) as rest:
        with pytest.raises(ConfigurationError):
            await rest.hangup_call(sid)  # type: ignore[arg-type]
    assert requests == []


def test_settings_and_repr() -> None:
    rest = TwilioRestClient(ACCOUNT, TOKEN)
    assert TOKEN not in repr(rest)
    with pytest.raises(ConfigurationError):
        TwilioRestClient(ACCOUNT, "")
    with pytest.raises(ConfigurationError):
        TwilioRestClient("AC/..", TOKEN)
    with pytest.raises(ConfigurationError):
        TwilioRestClient(ACCOUNT, TOKEN, base_url="ftp://x")
