"""``Call.send_text``: conversation lines reach a client with a screen, and nothing else."""

from __future__ import annotations

import json

import pytest
import trio
from conftest import PlivoPeer

from trio_plivo import CallClosed, LocalProtocolError
from trio_plivo.call import open_call
from trio_plivo.protocol import BrowserCodec
from trio_plivo.transport import memory_transport_pair


async def test_text_goes_out_at_once_ahead_of_queued_audio(autojump_clock) -> None:
    app, peer = memory_transport_pair()
    with trio.fail_after(10):
        await peer.send_messages([json.dumps({"type": "start", "sampleRate": 8000})])
        async with open_call(app, codec=BrowserCodec()) as call:
            await call.play(bytes(16000))  # a second of audio, queued
            assert await call.send_text("assistantMessage", "One moment")
            texts, frames_before = [], 0
            while not texts:
                message = await peer.receive_message()
                if isinstance(message, str):
                    texts.append(json.loads(message))
                else:
                    frames_before += 1
            with pytest.raises(LocalProtocolError, match="unknown conversation message kind"):
                await call.send_text("shout", "x")  # type: ignore[arg-type]
        with pytest.raises(CallClosed):
            await call.send_text("userMessage", "too late")
    assert texts == [{"type": "assistantMessage", "text": "One moment"}]
    assert frames_before <= 5  # at most the sender's lead (100 ms), not the queued second


async def test_phone_calls_drop_text_but_still_check_it(pair, autojump_clock) -> None:
    app, peer = pair
    assert isinstance(peer, PlivoPeer)
    with trio.fail_after(10):
        await peer.start()
        async with open_call(app) as call:
            assert not await call.send_text("userMessage", "hello")
            with pytest.raises(LocalProtocolError):
                await call.send_text("shout", "x")  # type: ignore[arg-type]
            await call.mark("end")
            await peer.receive_until("checkpoint")
    assert [r.message["event"] for r in peer.received] == ["checkpoint"]
