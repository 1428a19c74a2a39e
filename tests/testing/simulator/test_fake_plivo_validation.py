"""Every protocol violation an app can commit is recorded, and none of them crash the call."""

from __future__ import annotations

import base64

import orjson
import pytest
import trio
from fake_plivo_helpers import Received, checkpoint, dumps, l16, play_audio, scripted_app, send
from trio.testing import MockClock

from trio_plivo import L16_8K, L16_16K, MULAW_8K, AudioFormat
from trio_plivo.testing import FakePlivo, ViolationKind
from trio_plivo.testing._simulator._validate import validate_app_message
from trio_plivo.transport import MessageTransport

SID = "stream-1"
B64_320 = base64.b64encode(b"\x00" * 320).decode()


def _play(**media: object) -> str:
    body = {"contentType": "audio/x-l16", "sampleRate": 8000, "payload": B64_320}
    body.update(media)
    return dumps({"event": "playAudio", "media": {k: v for k, v in body.items() if v is not None}})


CASES: list[tuple[str, str | bytes, ViolationKind]] = [
    ("binary", b"\x01\x02", ViolationKind.BINARY_FRAME),
    ("not json", '{"event": "playAudio",', ViolationKind.INVALID_JSON),
    ("array", "[1, 2]", ViolationKind.NOT_AN_OBJECT),
    ("no event", '{"name": "x"}', ViolationKind.MISSING_FIELD),
    ("event not a string", '{"event": 7}', ViolationKind.WRONG_TYPE),
    ("unknown event", '{"event": "hangup"}', ViolationKind.UNKNOWN_EVENT),
    ("media with a rate suffix", _play(contentType="audio/x-l16;rate=8000"), ViolationKind.WRONG_CONTENT_TYPE),
    ("wrong encoding", _play(contentType="audio/x-mulaw"), ViolationKind.WRONG_CONTENT_TYPE),
    ("wrong rate", _play(sampleRate=16000), ViolationKind.WRONG_SAMPLE_RATE),
    ("rate as string", _play(sampleRate="8000"), ViolationKind.WRONG_TYPE),
    ("no content type", _play(contentType=None), ViolationKind.MISSING_FIELD),
    ("no payload", _play(payload=None), ViolationKind.MISSING_FIELD),
    ("bad base64", _play(payload="@@not base64@@"), ViolationKind.BAD_BASE64),
    ("empty payload", _play(payload=""), ViolationKind.EMPTY_PAYLOAD),
    ("half a sample", _play(payload=base64.b64encode(b"\x00" * 3).decode()), ViolationKind.PARTIAL_SAMPLE),
    ("no media", '{"event": "playAudio"}', ViolationKind.MISSING_FIELD),
    ("media not an object", '{"event": "playAudio", "media": "x"}', ViolationKind.WRONG_TYPE),
    ("play with wrong stream", dumps({"event": "playAudio", "streamId": "other", "media": {
        "contentType": "audio/x-l16", "sampleRate": 8000, "payload": B64_320}}), ViolationKind.WRONG_STREAM_ID),
    ("checkpoint without stream", '{"event": "checkpoint", "name": "a"}', ViolationKind.MISSING_FIELD),
    ("checkpoint wrong stream", dumps({"event": "checkpoint", "streamId": "other", "name": "a"}), ViolationKind.WRONG_STREAM_ID),
    ("checkpoint without name", dumps({"event": "checkpoint", "streamId": SID}), ViolationKind.MISSING_FIELD),
    ("checkpoint empty name", dumps({"event": "checkpoint", "streamId": SID, "name": ""}), ViolationKind.WRONG_TYPE),
    ("clear without stream", '{"event": "clearAudio"}', ViolationKind.MISSING_FIELD),
    ("clear wrong stream", dumps({"event": "clearAudio", "streamId": "other"}), ViolationKind.WRONG_STREAM_ID),
    ("dtmf letter", '{"event": "sendDTMF", "dtmf": "12E"}', ViolationKind.BAD_DTMF),
    ("dtmf empty", '{"event": "sendDTMF", "dtmf": ""}', ViolationKind.BAD_DTMF),
    ("dtmf missing", '{"event": "sendDTMF"}', ViolationKind.MISSING_FIELD),
    ("dtmf as number", '{"event": "sendDTMF", "dtmf": 5}', ViolationKind.WRONG_TYPE),
]  # fmt: skip


@pytest.mark.parametrize(("message", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_violation_is_recorded_and_the_message_ignored(
    message: str | bytes, kind: ViolationKind, autojump_clock: MockClock
) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        await trio.sleep(0.1)
        await send(transport, message)
        await send(transport, checkpoint(stream_id, "after"))  # the call goes on

    received = Received()
    fake = FakePlivo(format=L16_8K, duration=0.5, stream_id=SID)
    with trio.fail_after(5):
        report = await fake.run(scripted_app(received, script))
    assert [v.kind for v in report.violations] == [kind]
    violation = report.violations[0]
    assert violation.at == pytest.approx(0.1)
    assert violation.detail
    # The bad message took no effect: nothing played, nothing cleared, no DTMF, no checkpoint.
    assert report.time_to_first_audio is None
    assert report.clears == ()
    assert report.sent_dtmf == ()
    assert [c.name for c in report.checkpoints] == ["after"]
    assert [m["name"] for _, m in received.named("playedStream")] == ["after"]
    assert received.named("clearedAudio") == []


async def test_unknown_fields_are_reported_but_the_command_applies(
    autojump_clock: MockClock,
) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        media = orjson.loads(play_audio(L16_8K, l16(0.1)))
        media["extra"] = 1
        media["media"]["codec"] = "x"
        await send(transport, dumps(media))
        await send(
            transport, dumps({"event": "checkpoint", "streamId": stream_id, "name": "a", "x": 2})
        )

    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=0.5).run(scripted_app(Received(), script))
    assert [v.kind for v in report.violations] == [ViolationKind.UNKNOWN_FIELD] * 3
    assert report.time_to_first_audio == pytest.approx(0.0)
    assert report.checkpoints[0].acked_at == pytest.approx(0.1)


async def test_play_audio_with_the_right_stream_id_is_tolerated(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        message = orjson.loads(play_audio(L16_8K, l16(0.1)))
        message["streamId"] = stream_id
        await send(transport, dumps(message))

    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=0.3).run(scripted_app(Received(), script))
    assert report.violations == ()
    assert report.time_to_first_audio == pytest.approx(0.0)


@pytest.mark.parametrize("fmt", [MULAW_8K, L16_8K, L16_16K])
def test_each_negotiated_format_accepts_only_itself(fmt: AudioFormat) -> None:
    for other in (MULAW_8K, L16_8K, L16_16K):
        checked = validate_app_message(play_audio(other, b"\x00" * 320), fmt=fmt, stream_id=SID)
        assert (checked.command is not None) == (other == fmt)


@pytest.mark.parametrize(("delay", "violations"), [(0.2, [ViolationKind.AFTER_STOP]), (0.05, [])])
async def test_messages_after_stop_are_violations_unless_already_in_flight(
    autojump_clock: MockClock, delay: float, violations: list[ViolationKind]
) -> None:
    # Within stop_grace (0.1 s) of the stop a message was on its way before the app could
    # know: dropped, not a violation. Later, the app ignored the stop.
    async def app(transport: MessageTransport) -> None:
        while True:
            message = orjson.loads(await transport.receive_message())
            if message["event"] == "stop":
                await trio.sleep(delay)
                await send(transport, play_audio(MULAW_8K, b"\xff" * 160))
                await transport.aclose()
                return

    with trio.fail_after(5):
        report = await FakePlivo(duration=0.1, end="stop").run(app)
    assert [v.kind for v in report.violations] == violations
    assert report.time_to_first_audio is None  # dropped either way: the call is over
    assert report.close.by == "app"


async def test_many_violations_never_crash_the_simulator(autojump_clock: MockClock) -> None:
    async def script(transport: MessageTransport, stream_id: str, received: Received) -> None:
        for _, message, _ in CASES:
            await send(transport, message)
            await trio.sleep(0.01)

    with trio.fail_after(5):
        report = await FakePlivo(format=L16_8K, duration=1.0, stream_id=SID).run(
            scripted_app(Received(), script)
        )
    assert [v.kind for v in report.violations] == [kind for _, _, kind in CASES]
    assert report.counts.messages_received == len(CASES)
    assert report.close.by == "plivo"
