"""The browser routes of the one-port front over real loopback sockets: the page, the
``/talk/ws`` conversation (a Python client plays the browser), who may talk, and errors."""

from __future__ import annotations

import logging
from typing import Any

import attrs
import pytest
import trio
from talk_helpers import SECRET, BrowserClient, talk_front, tone
from web_helpers import request, running

from trio_plivo import CallClosed, ConfigurationError, ConnectionClosed
from trio_plivo.call import Call, MarkResult, MarkStatus
from trio_plivo.protocol import (
    ClearedAudio,
    Dtmf,
    Media,
    MuteStream,
    PlayedStream,
    SpeechStarted,
    SpeechStopped,
    Start,
    Stop,
    UnmuteStream,
)
from trio_plivo.server import StreamServer
from trio_plivo.testing import FakePlivo
from trio_plivo.web import PlivoFront
from trio_plivo.ws import WebSocketHandshakeError

FRAME = tone(20, hz=700.0)  # one 20 ms frame at 16 kHz


@attrs.define
class Record:
    """What the scripted app saw and did."""

    providers: list[str] = attrs.Factory(list)
    events: list[Any] = attrs.Factory(list)
    marks: list[MarkResult] = attrs.Factory(list)
    text_sent: list[bool] = attrs.Factory(list)
    malformed: int = 0
    close_codes: list[int | None] = attrs.Factory(list)
    #: Set each time a handler returns.
    finished: list[trio.Event] = attrs.Factory(lambda: [trio.Event() for _ in range(4)])

    async def wait_finished(self, calls: int) -> None:
        await self.finished[calls - 1].wait()


def scripted_app(record: Record):
    """Greets (text + audio + mark), echoes audio, clears on ``*``, hangs up on ``0``."""

    async def app(call: Call) -> None:
        try:
            record.providers.append(call.provider)
            record.text_sent.append(await call.send_text("assistantMessage", "Hello there"))
            await call.play(tone(100, call.media_format.sample_rate))
            mark = await call.mark("greeting")
            async with trio.open_nursery() as nursery:

                async def keep_result() -> None:
                    record.marks.append(await mark.wait())

                nursery.start_soon(keep_result)
                async for event in call:
                    if not isinstance(event, Media):
                        record.events.append(event)
                    if isinstance(event, Media):
                        await call.play(event.payload)
                    elif isinstance(event, Dtmf) and event.digit == "*":
                        await call.clear()
                        await call.send_text("cancelLastAssistantMessage", "Hel")
                    elif isinstance(event, Dtmf) and event.digit == "0":
                        await call.hangup()
        except* CallClosed:
            pass  # the caller hung up while the app was still talking
        finally:
            # Always say the handler ended, however it ended, so a test never waits forever.
            record.malformed = call.statistics().malformed_messages
            record.close_codes.append(call.close_code)
            record.finished[len(record.close_codes) - 1].set()

    return app


async def test_a_whole_conversation_over_the_socket() -> None:
    record = Record()
    with trio.fail_after(20):
        async with talk_front(scripted_app(record)) as front:
            client = await BrowserClient.connect(front.port)
            await client.start(16000, user="ada")
            # The greeting: its text first (ahead of audio), then the audio, then the mark.
            assert await client.next_command() == {
                "type": "assistantMessage",
                "text": "Hello there",
            }
            assert await client.next_command() == {"type": "mark", "name": "greeting"}
            assert b"".join(client.audio) == tone(100)
            client.audio.clear()
            await client.send({"type": "mark", "name": "greeting"})  # played up to it
            # Audio in, the same audio out.
            await client.send_raw(FRAME)
            assert await client.next_audio() == FRAME
            for message in (
                {"type": "dtmf", "keys": "5"},
                {"type": "startSpeaking"},
                {"type": "mute"},
                {"type": "unmute"},
                {"type": "stopSpeaking"},
            ):
                await client.send(message)
            # Malformed frames are skipped; the conversation goes on.
            await client.send_raw("not json")
            await client.send_raw(b"\x01")
            await client.send({"type": "dtmf", "keys": "*"})
            assert await client.next_command() == {"type": "clear"}
            assert await client.next_command() == {
                "type": "cancelLastAssistantMessage",
                "text": "Hel",
            }
            await client.send({"type": "cleared"})
            await client.send_raw(FRAME)
            assert await client.next_audio() == FRAME
            closed = await client.hang_up()
            await record.wait_finished(1)
    assert closed.code == 1000
    assert record.providers == ["browser"] and record.text_sent == [True]
    start, *rest = record.events
    assert isinstance(start, Start) and start.extra_headers == {"user": "ada"}
    assert [type(e) for e in rest] == [
        PlayedStream,
        Dtmf,
        SpeechStarted,
        MuteStream,
        UnmuteStream,
        SpeechStopped,
        Dtmf,
        ClearedAudio,
        Stop,
    ]
    assert [m.status for m in record.marks] == [MarkStatus.PLAYED]
    assert record.malformed == 2
    assert record.close_codes == [1000]


async def test_the_app_hangs_up_with_end_call() -> None:
    record = Record()
    with trio.fail_after(20):
        async with talk_front(scripted_app(record)) as front:
            client = await BrowserClient.connect(front.port)
            await client.start(8000)
            await client.send({"type": "dtmf", "keys": "0"})
            commands, closed = await client.until_closed()
            await record.wait_finished(1)
    # (A mark already queued may still slip out behind it: the page stops reading at endCall.)
    assert "endCall" in commands
    assert closed.code == 1000
    # Unplayed at hang-up: the greeting's mark ends with the call.
    assert [m.status for m in record.marks] == [MarkStatus.CALL_ENDED]


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        ({"type": "start", "sampleRate": 44100}, "sampleRate 44100 is not one of"),
        ({"type": "hello"}, "first message must be a start"),
        (b"\x00\x00", "binary frame of 2 bytes before start"),
    ],
)
async def test_a_bad_start_closes_with_4400_before_any_call(first: Any, reason: str) -> None:
    record = Record()
    with trio.fail_after(20):
        async with talk_front(scripted_app(record)) as front:
            client = await BrowserClient.connect(front.port)
            if isinstance(first, dict):
                await client.send(first)
            else:
                await client.send_raw(first)
            _, closed = await client.until_closed()
            assert front.server.total_calls == 0
    assert closed.code == 4400
    assert reason in (closed.reason or "")
    assert record.providers == []


@pytest.mark.parametrize(("code", "reason"), [(4401, "unknown user"), (4404, "no such agent")])
async def test_an_app_refuses_a_conversation_with_4401_or_4404(code: int, reason: str) -> None:
    async def picky(call: Call) -> None:
        if call.extra_headers.get("agent") != "known":
            await call.aclose(code, reason)

    with trio.fail_after(20):
        async with talk_front(picky) as front:
            client = await BrowserClient.connect(front.port)
            await client.start(agent="other")
            _, closed = await client.until_closed()
    assert (closed.code, closed.reason) == (code, reason)


async def test_the_start_must_come_in_time(autojump_clock) -> None:
    # The same check without sockets: the front on a memory stream, the clock jumping.
    from trio_plivo.call import CallConfig
    from trio_plivo.ws import connect_websocket_stream

    front = PlivoFront(
        StreamServer(scripted_app(Record()), config=CallConfig(start_timeout=3)),
        browser=True,
        browser_public=True,
    )
    import trio.testing

    client_end, server_end = trio.testing.memory_stream_pair()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle_connection, server_end)
            ws = await connect_websocket_stream(client_end, "localhost", "/talk/ws")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.receive_message()
    assert (closed.value.code, closed.value.reason) == (4400, "no start message")


# --- who may talk --------------------------------------------------------------------------


async def test_the_page_is_served_with_a_strict_policy() -> None:
    with trio.fail_after(10):
        async with talk_front(scripted_app(Record())) as front:
            page = await request(front.port, "GET", "/talk")
            with_query = await request(front.port, "GET", "/talk?token=abc&rate=8000")
            head = await request(front.port, "HEAD", "/talk")
            post = await request(front.port, "POST", "/talk", form={})
            other = await request(front.port, "GET", "/talk/other")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert b"<title>Talk to the app" in page.body and b"AudioWorkletProcessor" in page.body
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert with_query.status == 200
    assert head.status == 200 and head.body == b""
    assert post.status == 405
    assert other.status == 404


async def test_no_page_without_browser_true() -> None:
    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(scripted_app(Record())))) as front:
            page = await request(front.port, "GET", "/talk")
            with pytest.raises(WebSocketHandshakeError) as refused:
                await BrowserClient.connect(front.port)
    assert page.status == 404 and refused.value.status_code == 404


async def test_a_token_is_checked_before_the_upgrade(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    record = Record()
    with trio.fail_after(20):
        async with talk_front(scripted_app(record), browser_token=SECRET) as front:
            refused = []
            for query, headers in [
                ("", {}),
                ("?token=wrong", {}),
                (f"?token={SECRET[:-1]}", {}),
                ("", {"Authorization": "Bearer nope"}),
            ]:
                with pytest.raises(WebSocketHandshakeError) as info:
                    await BrowserClient.connect(front.port, query, headers)
                refused.append(info.value.status_code)
            assert front.server.total_calls == 0 and record.providers == []
            assert (await request(front.port, "GET", "/talk")).status == 200  # the page asks
            for query, headers in [
                (f"?token={SECRET}", {}),
                ("", {"Authorization": f"Bearer {SECRET}"}),
            ]:
                client = await BrowserClient.connect(front.port, query, headers)
                await client.start()
                assert (await client.next_command())["type"] == "assistantMessage"
                await client.hang_up()
            text = repr(front) + repr(front._talk)
    assert refused == [401, 401, 401, 401]
    assert record.providers == ["browser", "browser"]
    assert SECRET not in text
    logged = "\n".join(r.getMessage() + str(r.args) + str(r.exc_info) for r in caplog.records)
    assert "missing or wrong token" in logged
    assert SECRET not in logged


async def test_without_a_token_only_loopback_binds_serve_the_page() -> None:
    with trio.fail_after(20):
        async with talk_front(scripted_app(Record()), host="0.0.0.0") as front:
            page = await request(front.port, "GET", "/talk")
            with pytest.raises(WebSocketHandshakeError) as refused:
                await BrowserClient.connect(front.port)
        async with talk_front(scripted_app(Record()), host="0.0.0.0", browser_public=True) as front:
            public = await request(front.port, "GET", "/talk")
        async with talk_front(
            scripted_app(Record()), host="0.0.0.0", browser_token=SECRET
        ) as front:
            with_token = await request(front.port, "GET", "/talk")
    assert page.status == 403 and b"browser_public" in page.body
    assert refused.value.status_code == 403
    assert public.status == 200 and with_token.status == 200


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://evil.example", False),
        ("http://127.0.0.1:{port}", True),
        ("https://bot.example.com", True),  # behind a proxy that forwards its host
    ],
)
async def test_a_page_of_another_origin_cannot_talk(origin: str, allowed: bool) -> None:
    with trio.fail_after(20):
        async with talk_front(scripted_app(Record())) as front:
            headers = {
                "Origin": origin.format(port=front.port),
                "X-Forwarded-Host": "bot.example.com",
            }
            if allowed:
                client = await BrowserClient.connect(front.port, headers=headers)
                await client.ws.aclose()
                return
            with pytest.raises(WebSocketHandshakeError) as refused:
                await BrowserClient.connect(front.port, headers=headers)
    assert refused.value.status_code == 403


def test_browser_options_are_checked() -> None:
    server = StreamServer(scripted_app(Record()))
    with pytest.raises(ConfigurationError, match="need browser=True"):
        PlivoFront(server, browser_token=SECRET)
    with pytest.raises(ConfigurationError, match="must not be empty"):
        PlivoFront(server, browser=True, browser_token=" ")
    with pytest.raises(ConfigurationError, match="browser's paths"):
        PlivoFront(StreamServer(scripted_app(Record()), path="/talk/ws"), browser=True)


# --- one handler, two kinds of call --------------------------------------------------------


async def test_one_handler_serves_a_phone_call_and_a_browser_conversation() -> None:
    record = Record()
    with trio.fail_after(30):
        async with talk_front(scripted_app(record)) as front:
            report = await FakePlivo(duration=2.0, call_id="phone-call").run_url(
                f"ws://127.0.0.1:{front.port}/stream"
            )
            client = await BrowserClient.connect(front.port)
            await client.start()
            assert (await client.next_command())["type"] == "assistantMessage"
            await client.hang_up()
            await record.wait_finished(2)
    assert record.providers == ["plivo", "browser"]
    # Plivo has no screen: the text was dropped there, shown in the browser.
    assert record.text_sent == [False, True]
    assert report.violations == ()
