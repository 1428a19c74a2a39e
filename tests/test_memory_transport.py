"""The in-memory transport behaves like a WebSocket at close time."""

from __future__ import annotations

import pytest

from trio_plivo import ConnectionClosed
from trio_plivo.transport import memory_transport_pair


async def test_send_after_the_peer_closed_reports_the_peers_code_and_keeps_its_messages() -> None:
    a, b = memory_transport_pair()
    await b.send_messages(["last words"])
    await b.aclose(4000, "bye")
    with pytest.raises(ConnectionClosed) as sent:
        await a.send_messages(["too late"])
    assert sent.value.code == 4000
    # What the peer sent before closing is still delivered, then its close.
    assert await a.receive_message() == "last words"
    with pytest.raises(ConnectionClosed) as received:
        await a.receive_message()
    assert received.value.code == 4000


async def test_a_peer_that_vanished_is_1006() -> None:
    a, b = memory_transport_pair()
    b._receive_channel.close()  # gone without a close: no code to report
    with pytest.raises(ConnectionClosed) as sent:
        await a.send_messages(["hello"])
    assert sent.value.code == 1006
