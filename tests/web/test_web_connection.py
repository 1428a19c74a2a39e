"""One connection at the front: bounded heads, deadlines, garbage, and the replay stream."""

from __future__ import annotations

import trio
import trio.testing
from web_helpers import running, send_raw

from trio_plivo.apps import echo
from trio_plivo.server import StreamServer
from trio_plivo.web import PlivoFront, ReplayStream


async def test_garbage_and_oversized_heads_get_4xx() -> None:
    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(echo), max_head_size=1024)) as front:
            garbage = await send_raw(front.port, b"\x16\x03\x01 this is TLS, not HTTP\r\n\r\n")
            huge = await send_raw(
                front.port, b"GET /answer HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 4096 + b"\r\n\r\n"
            )
    assert garbage.status == 400
    assert huge.status == 431


async def test_a_client_that_never_finishes_its_head_is_dropped(autojump_clock) -> None:
    front = PlivoFront(StreamServer(echo, handshake_timeout=10))
    client, server_end = trio.testing.memory_stream_pair()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle_connection, server_end)
            await client.send_all(b"POST /answer HTTP/1.1\r\nHost: a\r\n")  # ... and stalls
            started = trio.current_time()
            assert await client.receive_some() == b""  # closed on us
            assert 9.9 < trio.current_time() - started <= 10.1


async def test_a_body_that_never_arrives_is_dropped_too(autojump_clock) -> None:
    front = PlivoFront(StreamServer(echo, handshake_timeout=5))
    client, server_end = trio.testing.memory_stream_pair()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle_connection, server_end)
            await client.send_all(
                b"POST /status HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nEvent"
            )
            assert await client.receive_some() == b""
    assert front.statistics().status_callbacks == 0


async def test_a_client_that_leaves_early_costs_nothing() -> None:
    front = PlivoFront(StreamServer(echo))
    client, server_end = trio.testing.memory_stream_pair()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle_connection, server_end)
            await client.send_all(b"GET /ans")
            await client.aclose()
    assert front.statistics().handed_to_stream_server == 0


async def test_replay_stream_gives_back_the_prefix_then_the_transport() -> None:
    left, right = trio.testing.memory_stream_pair()
    replay = ReplayStream(right, b"abcdef")
    await left.send_all(b"XYZ")
    assert await replay.receive_some(4) == b"abcd"
    assert await replay.receive_some() == b"ef"
    assert await replay.receive_some() == b"XYZ"
    await replay.send_all(b"out")
    assert await left.receive_some() == b"out"
    await replay.wait_send_all_might_not_block()
    await replay.aclose()
    assert await left.receive_some() == b""
    assert replay.transport_stream is right


async def test_a_request_line_split_across_reads_still_routes() -> None:
    from trio_plivo.ws import HTTPResponse

    def version(request):
        return HTTPResponse(200, b"v1\n") if request.path == "/version" else None

    front = PlivoFront(StreamServer(echo, http_routes=[version]))
    for pieces, expected in [
        ([b"GET /ver", b"sion HTTP/1.1\r\nHost: a\r\n\r\n"], b"v1\n"),  # the stream server's
        ([b"GET /heal", b"thz HTTP/1.1\r\nHo", b"st: a\r\n\r\n"], b'"status": "ok"'),  # ours
    ]:
        client, server_end = trio.testing.memory_stream_pair()
        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(front.handle_connection, server_end)
                for piece in pieces:
                    await client.send_all(piece)
                    await trio.testing.wait_all_tasks_blocked()
                reply = b""
                while chunk := await client.receive_some():
                    reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply
        assert expected in reply


async def test_a_request_line_that_never_ends_gets_431() -> None:
    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(echo), max_head_size=1024)) as front:
            endless = await send_raw(front.port, b"GET /" + b"a" * 5000)
    assert endless.status in (400, 431)


async def test_request_reader_reads_a_head_from_scratch() -> None:
    from trio_plivo.web._http import RequestReader

    client, server_end = trio.testing.memory_stream_pair()
    reader = RequestReader(server_end)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.send_all, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        head = await reader.read_head()
    assert head is not None and head.target == b"/x"


async def test_one_deadline_for_the_whole_request_head(autojump_clock) -> None:
    """Silent for 9 s, then half a request head: dropped at the 10 s deadline, not at 19 s
    (the front's deadline and the stream server's used to be separate; issue #15, defect 3)."""
    from trio_plivo.apps import echo
    from trio_plivo.server import StreamServer
    from trio_plivo.web import PlivoFront

    front = PlivoFront(StreamServer(echo, handshake_timeout=10.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(front.serve, "127.0.0.1", 0)
        stream = await trio.open_tcp_stream("127.0.0.1", front.port)
        opened = trio.current_time()
        await trio.sleep(9)
        await stream.send_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n")  # no end of head
        with trio.fail_after(30):
            while await stream.receive_some():
                pass
        dropped_after = trio.current_time() - opened
        await stream.aclose()
        front.shutdown()
    assert 9 < dropped_after <= 10.5
