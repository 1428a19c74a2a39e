"""Call behaviour that needs the provider patch to trio_plivo/call/_call.py."""

from __future__ import annotations

import pytest
import trio
from provider_peers import ExotelPeer

from trio_plivo import CallClosed
from trio_plivo.call import CallConfig, open_call
from trio_plivo.protocol._detect import DetectingCodec
from trio_plivo.transport import memory_transport_pair


async def test_an_unrecognised_first_message_closes_with_1008_at_once(autojump_clock) -> None:
    app, provider_end = memory_transport_pair()
    with trio.fail_after(20):
        await provider_end.send_messages(['{"event":"hello","from":"a stranger"}'])
        t0 = trio.current_time()
        with pytest.raises(CallClosed) as info:
            async with open_call(app, codec=DetectingCodec()):
                pass  # pragma: no cover
    assert info.value.code == 1008
    assert trio.current_time() - t0 < 1  # not after the 10 s start timeout
    with pytest.raises(CallClosed) as closed:
        await provider_end.receive_message()
    assert closed.value.code == 1008  # the provider sees a policy close


async def test_a_lead_shorter_than_exotels_100_ms_frames_still_plays(autojump_clock) -> None:
    app, provider_end = memory_transport_pair(4096)
    peer = ExotelPeer(provider_end)
    with trio.fail_after(20):
        await peer.start()
        async with open_call(app, codec=peer.codec(), config=CallConfig(lead_ms=40)) as call:
            await call.play(bytes(range(1, 201)) * 16)  # 3200 bytes: 200 ms
            mark = await call.mark("end")
            assert len(await peer.receive_until_mark("end", 0)) == 3200
            await peer.ack("end")
            assert (await mark.wait()).played
