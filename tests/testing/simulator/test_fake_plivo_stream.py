"""The caller's side of the stream: start, media pacing, DTMF, how the call ends."""

from __future__ import annotations

import base64
import itertools
import json
import math
import wave
from pathlib import Path

import orjson
import pytest
import trio
from fake_plivo_helpers import Received, l16, play_audio, scripted_app, send
from trio.testing import MockClock

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat, ConfigurationError
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.transport import MessageTransport


@pytest.mark.parametrize("fmt", [MULAW_8K, L16_8K, L16_16K])
async def test_start_announces_the_stream(fmt: AudioFormat, autojump_clock: MockClock) -> None:
    received = Received()
    fake = FakePlivo(
        format=fmt,
        duration=0.1,
        call_id="call-1",
        stream_id="stream-1",
        account_id="MA0123456789ABCDEFGH",
        extra_headers={"tenant": "acme", "lead": "42"},
    )
    with trio.fail_after(5):
        report = await fake.run(scripted_app(received))
    _, start = received.messages[0]
    assert start == {
        "event": "start",
        "sequenceNumber": 1,
        "start": {
            "callId": "call-1",
            "streamId": "stream-1",
            "accountId": "MA0123456789ABCDEFGH",
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": fmt.content_type, "sampleRate": fmt.sample_rate},
        },
        "extra_headers": "tenant=acme;lead=42",
    }
    assert (report.call_id, report.stream_id) == ("call-1", "stream-1")


async def test_sequence_numbers_count_every_message_and_chunks_count_media(
    autojump_clock: MockClock,
) -> None:
    received = Received()

    async def script(transport: MessageTransport, stream_id: str, _: Received) -> None:
        await trio.sleep(0.05)
        await send(
            transport, json.dumps({"event": "checkpoint", "streamId": stream_id, "name": "x"})
        )

    fake = FakePlivo(duration=0.2, dtmf=[("7", 0.1)])
    with trio.fail_after(5):
        report = await fake.run(scripted_app(received, script))
    sequence = [m["sequenceNumber"] for _, m in received.messages]
    assert sequence == list(range(1, len(received.messages) + 1))
    assert {m["event"] for _, m in received.messages} == {"start", "media", "dtmf", "playedStream"}
    chunks = [m["media"]["chunk"] for _, m in received.named("media")]  # type: ignore[index]
    assert chunks == list(range(1, 11))
    assert report.counts.media_sent == 10
    assert report.counts.messages_sent == len(received.messages)


@pytest.mark.parametrize(("fmt", "size"), [(MULAW_8K, 160), (L16_8K, 320), (L16_16K, 640)])
async def test_media_is_paced_at_20_ms_with_string_timestamps(
    fmt: AudioFormat, size: int, autojump_clock: MockClock
) -> None:
    received = Received()
    fake = FakePlivo(format=fmt, audio=CallerAudio.silence(0.5), extra_headers="a=1")
    with trio.fail_after(5):
        report = await fake.run(scripted_app(received))
    media = received.named("media")
    assert len(media) == 25
    assert received.times("media") == pytest.approx([i * 0.02 for i in range(25)])
    stamps = [int(m["media"]["timestamp"]) for _, m in media]  # type: ignore[index]
    assert all(isinstance(m["media"]["timestamp"], str) for _, m in media)  # type: ignore[index]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [20] * 24
    for _, message in media:
        assert message["streamId"] == report.stream_id
        assert message["extra_headers"] == "a=1"
        assert message["media"]["track"] == "inbound"  # type: ignore[index]
        assert len(base64.b64decode(message["media"]["payload"])) == size  # type: ignore[index]
    # Ends once the caller's last frame has had its 20 ms.
    assert report.duration == pytest.approx(0.5)


async def test_caller_bytes_are_framed_and_padded_in_order(autojump_clock: MockClock) -> None:
    speech = bytes(range(256)) * 2  # 512 µ-law bytes: 3 full frames and a partial one
    received = Received()
    fake = FakePlivo(audio=CallerAudio.from_bytes(speech) + CallerAudio.silence(0.04))
    with trio.fail_after(5):
        await fake.run(scripted_app(received))
    payloads = [
        base64.b64decode(m["media"]["payload"])  # type: ignore[index]
        for _, m in received.named("media")
    ]
    assert len(payloads) == 6
    assert b"".join(payloads[:4]) == speech + b"\xff" * (640 - 512)
    assert payloads[4:] == [b"\xff" * 160] * 2


async def test_caller_frames_from_sync_and_async_iterators(autojump_clock: MockClock) -> None:
    async def frames() -> object:
        for value in (1, 2):
            yield bytes([value]) * 160

    received = Received()
    audio = CallerAudio.from_frames([b"\x07" * 100]) + CallerAudio.from_frames(frames())  # type: ignore[arg-type]
    with trio.fail_after(5):
        await FakePlivo(audio=audio).run(scripted_app(received))
    payloads = [
        base64.b64decode(m["media"]["payload"])  # type: ignore[index]
        for _, m in received.named("media")
    ]
    assert payloads == [b"\x07" * 100, b"\x01" * 160, b"\x02" * 160]


async def test_dtmf_is_sent_at_its_time(autojump_clock: MockClock) -> None:
    received = Received()
    fake = FakePlivo(duration=3.0, dtmf=[("5", 2.0), ("#", 0.5)], extra_headers="k=v")
    with trio.fail_after(10):
        report = await fake.run(scripted_app(received))
    dtmf = received.named("dtmf")
    assert received.times("dtmf") == pytest.approx([0.5, 2.0])
    assert [m["dtmf"]["digit"] for _, m in dtmf] == ["#", "5"]  # type: ignore[index]
    first = dtmf[0][1]
    assert first["streamId"] == report.stream_id
    assert first["dtmf"]["track"] == "inbound"  # type: ignore[index]
    assert isinstance(first["dtmf"]["timestamp"], str)  # type: ignore[index]
    assert first["extra_headers"] == "k=v"
    assert [e.at for e in report.events_named("dtmf")] == pytest.approx([0.5, 2.0])
    assert report.counts.dtmf_sent == 2


@pytest.mark.parametrize("bad", [("55", 1.0), ("E", 1.0), ("1", -1.0)])
def test_bad_dtmf_schedule_is_refused(bad: tuple[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        FakePlivo(dtmf=[bad])


def test_only_plivo_formats_are_accepted() -> None:
    with pytest.raises(ConfigurationError):
        FakePlivo(format=AudioFormat.from_content_type("audio/x-mulaw;rate=16000"))


async def test_end_close_just_closes_with_1000(autojump_clock: MockClock) -> None:
    received = Received()
    with trio.fail_after(5):
        report = await FakePlivo(duration=0.1, end="close").run(scripted_app(received))
    assert "stop" not in {m["event"] for _, m in received.messages}
    assert received.close_code == 1000
    assert (report.close.by, report.close.code) == ("plivo", 1000)


async def test_end_stop_sends_stop_then_closes(autojump_clock: MockClock) -> None:
    received = Received()
    fake = FakePlivo(duration=0.1, end="stop", call_id="c", stream_id="s", stop_linger=0.3)
    with trio.fail_after(5):
        report = await fake.run(scripted_app(received))
    last_time, last = received.messages[-1]
    assert last["event"] == "stop"
    assert last["streamId"] == "s"
    assert last["stop"]["callId"] == "c"  # type: ignore[index]
    assert last["sequenceNumber"] == len(received.messages)
    assert received.close_code == 1000
    assert report.close.by == "plivo"
    # The app did not close on stop, so the simulator waited out the linger first.
    assert report.close.at - (last_time - received.start_time) == pytest.approx(0.3)


async def test_app_that_closes_on_stop_is_recorded_as_closing(autojump_clock: MockClock) -> None:
    async def app(transport: MessageTransport) -> None:
        while True:
            message = orjson.loads(await transport.receive_message())
            if message["event"] == "stop":
                await transport.aclose(1000, "bye")
                return

    with trio.fail_after(5):
        report = await FakePlivo(duration=0.2, end="stop").run(app)
    assert (report.close.by, report.close.code) == ("app", 1000)
    assert report.close.at == pytest.approx(0.2)


async def test_app_closing_early_ends_the_call_with_its_code(autojump_clock: MockClock) -> None:
    async def app(transport: MessageTransport) -> None:
        await transport.receive_message()
        await trio.sleep(0.3)
        await transport.aclose(4001, "done here")

    with trio.fail_after(5):
        report = await FakePlivo(duration=10).run(app)
    assert report.close.by == "app"
    assert report.close.code == 4001
    assert report.close.reason == "done here"
    assert report.duration == pytest.approx(0.3)
    assert 14 <= report.counts.media_sent <= 16


async def test_no_audio_means_an_open_line_until_the_app_hangs_up(
    autojump_clock: MockClock,
) -> None:
    async def app(transport: MessageTransport) -> None:
        with trio.move_on_after(42):
            while True:
                await transport.receive_message()

    with trio.fail_after(100):
        report = await FakePlivo().run(app)  # the app returning closes its end
    assert report.close.by == "app"
    assert report.duration == pytest.approx(42)
    assert report.counts.media_sent == pytest.approx(42 / 0.02, abs=1)


async def test_infinite_duration_keeps_streaming_after_the_caller_audio(
    autojump_clock: MockClock,
) -> None:
    async def app(transport: MessageTransport) -> None:
        with trio.move_on_after(1.0):
            while True:
                await transport.receive_message()

    fake = FakePlivo(audio=CallerAudio.silence(0.1), duration=math.inf)
    with trio.fail_after(10):
        report = await fake.run(app)
    assert report.duration == pytest.approx(1.0)
    assert report.counts.media_sent >= 49


async def test_outbound_only_tracks_send_no_inbound_media_but_keep_time(
    autojump_clock: MockClock,
) -> None:
    received = Received()
    with trio.fail_after(5):
        report = await FakePlivo(duration=0.5, tracks=["outbound"]).run(scripted_app(received))
    assert received.named("media") == []
    assert received.named("start")[0][1]["start"]["tracks"] == ["outbound"]  # type: ignore[index]
    assert report.duration == pytest.approx(0.5)


async def test_fresh_ids_per_run(autojump_clock: MockClock) -> None:
    fake = FakePlivo(duration=0.02)
    with trio.fail_after(5):
        first = await fake.run(scripted_app(Received()))
        second = await fake.run(scripted_app(Received()))
    assert first.stream_id != second.stream_id
    assert first.call_id != second.call_id


async def test_report_is_json_able_and_writes_a_wav(
    tmp_path: Path, autojump_clock: MockClock
) -> None:
    async def script(transport: MessageTransport, stream_id: str, _: Received) -> None:
        await send(transport, play_audio(L16_8K, l16(0.2)))

    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=0.5).run(scripted_app(Received(), script))
    data = report.to_dict()
    text = json.dumps(data)
    assert 'payload"' not in text
    assert data["format"] == "audio/x-l16;rate=8000"
    assert data["heard_seconds"] == pytest.approx(0.5)
    assert "heard" not in data
    path = tmp_path / "heard.wav"
    report.write_wav(path)
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        assert wav.readframes(wav.getnframes()) == report.heard


async def test_run_on_a_transport_the_caller_connected(autojump_clock: MockClock) -> None:
    from trio_plivo.transport import memory_transport_pair

    ours, theirs = memory_transport_pair()
    received = Received()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scripted_app(received), theirs)
        with trio.fail_after(5):
            report = await FakePlivo(duration=0.1).run_on(ours)
    assert received.close_code == 1000
    assert report.counts.media_sent == 5


async def test_app_errors_propagate(autojump_clock: MockClock) -> None:
    async def app(transport: MessageTransport) -> None:
        await transport.receive_message()
        raise KeyError("app bug")

    with trio.fail_after(5), pytest.raises(ExceptionGroup) as caught:
        await FakePlivo(duration=1.0).run(app)
    assert caught.group_contains(KeyError, match="app bug", depth=None)


async def test_an_app_ignoring_the_hang_up_is_cancelled_after_the_grace_time(
    autojump_clock: MockClock,
) -> None:
    cancelled_at: list[float] = []

    async def app(transport: MessageTransport) -> None:
        try:
            with trio.move_on_after(0.1):
                while True:
                    await transport.receive_message()
            await trio.sleep_forever()
        finally:
            cancelled_at.append(trio.current_time())

    start = trio.current_time()
    with trio.fail_after(60):
        report = await FakePlivo(duration=0.5, app_exit_timeout=3.0).run(app)
    assert report.close.by == "plivo"
    assert cancelled_at == [pytest.approx(start + 3.5)]
