"""The control API over real sockets (issue #14, item 2): a simulated call is listed, and
clear, play (each body form), dtmf and hangup reach the simulated provider as the right
messages, in order with the call's own audio; errors are JSON."""

from __future__ import annotations

import base64
import io
import logging
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import numpy as np
import pytest
import trio

from trio_plivo import L16_16K, ConfigurationError
from trio_plivo.call import Call
from trio_plivo.server import StreamServer
from trio_plivo.testing import CallerAudio, CallReport, FakePlivo
from trio_plivo.web import PlivoFront

TOKEN = "control-token-never-logged-5b2e91"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def until(check, seconds: float = 10) -> None:
    """Poll ``check()`` (sync or async) until it is true; fail after ``seconds``."""
    with trio.fail_after(seconds):
        while True:
            result = check()
            if hasattr(result, "__await__"):
                result = await result
            if result:
                return
            await trio.sleep(0.01)


async def quiet_app(call: Call) -> None:
    """Plays nothing by itself: everything heard came through the control API."""
    async for _ in call:
        pass


@asynccontextmanager
async def a_call(
    fake: FakePlivo, app=quiet_app
) -> AsyncIterator[tuple[httpx.AsyncClient, PlivoFront, list[CallReport]]]:
    front = PlivoFront(StreamServer(app), control_token=TOKEN)
    reports: list[CallReport] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(front.serve, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{front.port}"

        async def run() -> None:
            reports.append(await fake.run_url(f"ws://127.0.0.1:{front.port}/stream"))

        nursery.start_soon(run)
        async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=10) as client:
            await until(lambda: len(front.server.calls) > 0)
            yield client, front, reports
        await until(lambda: reports, seconds=30)
        front.shutdown()


async def test_a_live_call_is_listed_and_found_by_either_id() -> None:
    fake = FakePlivo(format=L16_16K, audio=CallerAudio.silence(1.5))
    async with a_call(fake) as (client, front, _):
        listed = (await client.get("/calls")).json()["calls"]
        (entry,) = listed
        one = (await client.get(f"/calls/{entry['stream_id']}")).json()
        missing = await client.get("/calls/no-such-call")
    assert entry["call_id"] == fake_call_id(entry) and entry["provider"] == "plivo"
    assert entry["media_format"] == "audio/x-l16;rate=16000"
    assert entry["started_at"].endswith("+00:00") and entry["node"] == front.node
    assert {"frames_in", "frames_out", "frames_dropped", "pending_marks", "lead_ms"} <= set(entry)
    assert one["call_id"] == entry["call_id"]
    assert missing.status_code == 404 and missing.json() == {"error": "no live call 'no-such-call'"}


def fake_call_id(entry: dict[str, object]) -> object:
    return entry["call_id"]  # FakePlivo makes a fresh uuid: listed as the call knows it


async def test_play_in_each_form_then_clear_and_marks() -> None:
    fake = FakePlivo(format=L16_16K, audio=CallerAudio.silence(4))
    tone = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440) * 8000).astype("<i2")
    wav = io.BytesIO()
    with wave.open(wav, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(tone[:800].tobytes())
    async with a_call(fake) as (client, _, reports):
        call_id = (await client.get("/calls")).json()["calls"][0]["call_id"]
        kookoo = await client.post(
            f"/calls/{call_id}/play",
            json={"samples": tone[:800].tolist(), "sample_rate": 8000, "mark": "samples"},
        )
        pcm = await client.post(
            f"/calls/{call_id}/play",
            json={"audio": base64.b64encode(tone[:1600].tobytes()).decode(), "sample_rate": 8000},
        )
        as_wav = await client.post(
            f"/calls/{call_id}/play",
            content=wav.getvalue(),
            headers={"Content-Type": "audio/wav"},
        )

        async def samples_resolved() -> bool:
            mark = (await client.get(f"/calls/{call_id}/marks/samples")).json()
            return bool(mark["status"] != "pending")

        await until(samples_resolved, seconds=5)
        played = (await client.get(f"/calls/{call_id}/marks/samples")).json()
        long = await client.post(
            f"/calls/{call_id}/play",
            json={"samples": [1000] * 80000, "sample_rate": 8000, "mark": "long"},
        )
        await trio.sleep(0.3)
        cleared = await client.post(f"/calls/{call_id}/clear")
    assert kookoo.status_code == pcm.status_code == as_wav.status_code == long.status_code == 202
    assert kookoo.json()["mark"] == "samples" and pcm.json()["mark"].startswith("control-")
    assert played["status"] == "played" and played["played_ms"] == pytest.approx(100, abs=1)
    (long_mark,) = cleared.json()["marks"]
    assert long_mark["name"] == "long" and long_mark["status"] == "cleared"
    assert 100 < long_mark["played_ms"] < 1000  # cut a few hundred ms into the 10 s clip
    (report,) = reports
    assert len(report.clears) == 1
    # The long clip's mark sits behind 10 s of audio: cleared here before it was ever sent.
    assert [c.name for c in report.checkpoints] == ["samples", "control-1", "control-2"]
    assert report.violations == ()


async def test_dtmf_and_hangup_reach_the_provider_in_order() -> None:
    fake = FakePlivo(audio=CallerAudio.silence(5))
    async with a_call(fake) as (client, front, reports):
        call_id = (await client.get("/calls")).json()["calls"][0]["call_id"]
        dtmf = await client.post(f"/calls/{call_id}/dtmf", json={"digits": "12#"})
        hangup = await client.post(f"/calls/{call_id}/hangup")
        await until(lambda: len(front.server.calls) == 0, seconds=5)
        gone = await client.post(f"/calls/{call_id}/dtmf", json={"digits": "1"})
    assert dtmf.status_code == 200 and hangup.status_code == 200
    assert gone.status_code == 404
    (report,) = reports
    assert [d.digits for d in report.sent_dtmf] == ["12#"]
    assert report.close.by == "app"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"digits": ""}, 400, "'digits' must be a non-empty string"),
        (None, 400, "the body must be a JSON object"),
    ],
)
async def test_bad_dtmf_bodies_are_400_json(body, status, error) -> None:
    async with a_call(FakePlivo(audio=CallerAudio.silence(2))) as (client, _, _):
        call_id = (await client.get("/calls")).json()["calls"][0]["call_id"]
        answer = await client.post(f"/calls/{call_id}/dtmf", json=body)
    assert answer.status_code == status and error in answer.json()["error"]


async def test_bad_audio_and_limits() -> None:
    async with a_call(FakePlivo(audio=CallerAudio.silence(2))) as (client, front, _):
        call_id = (await client.get("/calls")).json()["calls"][0]["call_id"]
        answers = {
            "both": await client.post(
                f"/calls/{call_id}/play", json={"samples": [1], "audio": "AAA="}
            ),
            "range": await client.post(f"/calls/{call_id}/play", json={"samples": [40000]}),
            "base64": await client.post(f"/calls/{call_id}/play", json={"audio": "!!"}),
            "wav": await client.post(
                f"/calls/{call_id}/play", content=b"RIFFnope", headers={"Content-Type": "audio/wav"}
            ),
            "json": await client.post(
                f"/calls/{call_id}/play", content=b"{", headers={"Content-Type": "application/json"}
            ),
            "method": await client.get(f"/calls/{call_id}/play"),
            "route": await client.post(f"/calls/{call_id}/dance"),
            "big": await client.post(
                f"/calls/{call_id}/play",
                content=b"x" * (front._control.max_body_size + 1),  # type: ignore[union-attr]
                headers={"Content-Type": "application/json"},
            ),
        }
    statuses = {name: a.status_code for name, a in answers.items()}
    assert statuses == {
        "both": 400, "range": 400, "base64": 400, "wav": 400, "json": 400,
        "method": 405, "route": 404, "big": 413,
    }  # fmt: skip
    for answer in answers.values():
        assert answer.headers["content-type"] == "application/json"
        assert set(answer.json()) == {"error"} and "Traceback" not in answer.text


async def test_a_missing_or_wrong_token_is_401_and_never_logged(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with a_call(FakePlivo(audio=CallerAudio.silence(2))) as (client, _, _):
        none = await client.get("/calls", headers={"Authorization": ""})
        wrong = await client.get("/calls", headers={"Authorization": "Bearer " + "x" * 30})
        basic = await client.get("/calls", headers={"Authorization": f"Basic {TOKEN}"})
        unread = await client.post(
            "/calls/x/play", content=b"{", headers={"Authorization": "Bearer nope"}
        )
    for answer in (none, wrong, basic, unread):
        assert answer.status_code == 401
        assert answer.json() == {"error": "a bearer token is required"}
        assert answer.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in caplog.text


def test_the_token_is_required_to_be_long_and_stays_out_of_the_repr() -> None:
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        PlivoFront(StreamServer(quiet_app), control_token="short")
    front = PlivoFront(StreamServer(quiet_app), control_token=TOKEN)
    assert TOKEN not in repr(front) and TOKEN not in repr(front._control)
