"""Call.hangup on a Twilio stream goes through TwilioRestClient (no in-stream hang-up)."""

from __future__ import annotations

import httpx
import trio
from provider_peers import Peer

from trio_plivo.call import CallConfig, open_call
from trio_plivo.rest import TwilioRestClient
from trio_plivo.transport import memory_transport_pair

ACCOUNT = "AC25e16e9a716a4a1786a7c83f58e30482"
TOKEN = "tw1l10-s3cr3t"


def client(handler, requests: list[httpx.Request]) -> TwilioRestClient:
    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    return TwilioRestClient(ACCOUNT, TOKEN, transport=httpx.MockTransport(record))


async def test_call_hangup_on_twilio_goes_through_rest(autojump_clock) -> None:
    requests: list[httpx.Request] = []
    rest = client(lambda r: httpx.Response(200, json={}), requests)
    app, provider_end = memory_transport_pair()
    peer = Peer(provider_end)
    with trio.fail_after(10):
        await peer.start()
        async with open_call(
            app, codec=peer.codec(), config=CallConfig(hangup_client=rest)
        ) as call:
            await call.hangup()
    await rest.aclose()
    assert [r.url.path for r in requests] == [
        f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{peer.call_id}.json"
    ]
