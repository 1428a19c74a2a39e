"""Customising the answer XML per call (issue #16, item 11): the front's answer hook."""

from __future__ import annotations

import logging

import trio
from web_helpers import FORM, request, running

from trio_plivo.answers import Response, Speak
from trio_plivo.apps import echo
from trio_plivo.server import StreamServer
from trio_plivo.web import AnswerRequest, PlivoFront


async def test_a_hook_adds_extra_headers_from_the_callers_number(caplog) -> None:
    seen: list[AnswerRequest] = []

    def per_caller(asked: AnswerRequest) -> Response:
        seen.append(asked)
        caller = asked.request.params()["From"]
        return Response(
            asked.default_stream(
                extra_headers={"caller": caller}, content_type="audio/x-l16;rate=16000"
            )
        )

    caplog.set_level(logging.INFO, logger="trio_plivo.web")
    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(echo), answer_hook=per_caller)) as front:
            port = front.port
            answer = await request(port, "POST", "/answer", form=FORM)
    stream = answer.stream()
    assert stream.attrib["extraHeaders"] == f"caller={FORM['From']}"
    assert stream.attrib["contentType"] == "audio/x-l16;rate=16000"
    # The rest is still the default: this host's stream, status callbacks, kept alive.
    assert stream.text == f"ws://127.0.0.1:{port}/stream"
    assert stream.attrib["keepCallAlive"] == "true"
    assert seen[0].stream_url == stream.text
    assert any(
        f"answered POST /answer (call {FORM['CallUUID']})" in r.getMessage() for r in caplog.records
    )


async def test_an_async_hook_may_answer_anything_or_fall_back_to_the_default() -> None:
    async def closed_on_sundays(asked: AnswerRequest) -> Response | None:
        await trio.lowlevel.checkpoint()
        if asked.request.params().get("To") == "closed":
            return Response(Speak("We are closed."))
        return None

    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(echo), answer_hook=closed_on_sundays)) as front:
            closed = await request(front.port, "POST", "/answer", form={**FORM, "To": "closed"})
            default = await request(front.port, "POST", "/answer", form=FORM)
    assert b"<Speak>We are closed.</Speak>" in closed.body
    assert b"<Stream" not in closed.body
    assert default.stream().attrib["bidirectional"] == "true"


async def test_a_failing_hook_is_a_500_and_the_front_goes_on(caplog) -> None:
    def broken(asked: AnswerRequest) -> Response:
        raise RuntimeError("hook bug")

    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(echo), answer_hook=broken)) as front:
            failed = await request(front.port, "POST", "/answer", form=FORM)
            health = await request(front.port, "GET", "/healthz")
    assert failed.status == 500 and b"hook bug" not in failed.body
    assert health.status == 200
    assert "hook bug" in caplog.text
