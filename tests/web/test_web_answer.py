"""``/answer`` through the one-port front over loopback: Stream XML, proxies, signatures."""

from __future__ import annotations

import pytest
import trio
from web_helpers import FORM, TOKEN, request, running

from trio_plivo import ConfigurationError
from trio_plivo.apps import echo
from trio_plivo.server import StreamServer
from trio_plivo.signatures import SignatureValidator, signature_headers
from trio_plivo.testing import CallerAudio, FakePlivo
from trio_plivo.web import PlivoFront

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.com"}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_answer_points_at_this_host(method: str) -> None:
    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(echo))) as front:
            form = FORM if method == "POST" else None
            port = front.port
            answer = await request(port, method, "/answer", form=form)
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/xml"
    assert answer.headers["connection"] == "close"
    stream = answer.stream()
    assert stream.text == f"ws://127.0.0.1:{port}/stream"
    assert stream.attrib == {
        "bidirectional": "true",
        "keepCallAlive": "true",
        "contentType": "audio/x-mulaw;rate=8000",
        "statusCallbackUrl": f"http://127.0.0.1:{port}/status",
        "statusCallbackMethod": "POST",
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_answer_behind_a_tls_proxy_uses_forwarded_headers(method: str) -> None:
    server = StreamServer(echo, path="/media")
    with trio.fail_after(10):
        async with running(PlivoFront(server, content_type="audio/x-l16;rate=16000")) as front:
            form = FORM if method == "POST" else None
            answer = await request(front.port, method, "/answer", headers=FORWARDED, form=form)
            # Host alone still counts; X-Forwarded-Host wins over it.
            plain_host = await request(
                front.port, method, "/answer", host="internal:8000", form=form
            )
    stream = answer.stream()
    assert stream.text == "wss://bot.example.com/media"
    assert stream.attrib["statusCallbackUrl"] == "https://bot.example.com/status"
    assert stream.attrib["contentType"] == "audio/x-l16;rate=16000"
    assert plain_host.stream().text == "ws://internal:8000/media"


async def test_public_url_overrides_and_keeps_the_proxy_path_prefix() -> None:
    front = PlivoFront(StreamServer(echo), public_url="wss://edge.example/bot/stream")
    with trio.fail_after(10):
        async with running(front):
            answer = await request(front.port, "GET", "/answer", headers=FORWARDED)
    stream = answer.stream()
    assert stream.text == "wss://edge.example/bot/stream"
    assert stream.attrib["statusCallbackUrl"] == "https://edge.example/bot/status"


async def test_bad_requests_are_refused_plainly() -> None:
    with trio.fail_after(10):
        async with running(PlivoFront(StreamServer(echo))) as front:
            assert (await request(front.port, "DELETE", "/answer")).status == 405
            assert (await request(front.port, "POST", "/nowhere", form={})).status == 404
            assert (await request(front.port, "GET", "/nowhere")).status == 404  # stream server
            assert (await request(front.port, "GET", "/answer", host="a/b?c")).status == 400
            big = {"x": "y" * 70_000}
            assert (await request(front.port, "POST", "/answer", form=big)).status == 413


def test_front_configuration_is_checked_up_front() -> None:
    with pytest.raises(ConfigurationError):
        PlivoFront(StreamServer(echo), content_type="audio/wav")
    with pytest.raises(ConfigurationError):
        PlivoFront(StreamServer(echo), public_url="https://not-a-ws-url.example/stream")
    with pytest.raises(ConfigurationError):
        PlivoFront(StreamServer(echo), answer_path="/stream")
    validator = SignatureValidator(TOKEN, public_url="wss://a.example/stream")
    with pytest.raises(ConfigurationError):
        PlivoFront(
            StreamServer(echo, signature_validator=validator),
            public_url="wss://b.example/stream",
        )


# --- signatures -----------------------------------------------------------------------------


def signed_front() -> PlivoFront:
    return PlivoFront(StreamServer(echo, signature_validator=SignatureValidator(TOKEN)))


async def test_signed_answer_post_and_get_pass_forged_ones_get_403(caplog) -> None:
    caplog.set_level("DEBUG")
    front = signed_front()
    with trio.fail_after(10):
        async with running(front):
            port = front.port
            post_url = "https://bot.example.com/answer"
            good_post = signature_headers(post_url, TOKEN, method="POST", params=FORM)
            get_url = "https://bot.example.com/answer?CallUUID=abc&From=1"
            good_get = signature_headers(get_url, TOKEN, method="GET")
            forged = signature_headers(post_url, "someone-elses-token", method="POST", params=FORM)
            tampered = {**good_post}  # right signature, different form fields
            ok_post = await request(
                port, "POST", "/answer", headers=FORWARDED | good_post, form=FORM
            )
            ok_get = await request(
                port, "GET", "/answer?CallUUID=abc&From=1", headers=FORWARDED | good_get
            )
            unsigned = await request(port, "POST", "/answer", headers=FORWARDED, form=FORM)
            bad = await request(port, "POST", "/answer", headers=FORWARDED | forged, form=FORM)
            changed = await request(
                port, "POST", "/answer", headers=FORWARDED | tampered, form={**FORM, "To": "1"}
            )
            # Signed for the public https URL, but arriving without the proxy's headers:
            # the URL it addressed (http://127.0.0.1/...) is not what was signed.
            no_proxy = await request(port, "POST", "/answer", headers=good_post, form=FORM)
    assert ok_post.status == 200
    assert ok_post.stream().text == "wss://bot.example.com/stream"
    assert ok_get.status == 200
    assert [a.status for a in (unsigned, bad, changed, no_proxy)] == [403] * 4
    assert b"<Stream" not in bad.body
    assert front.statistics().refused_signatures == 4
    assert front.statistics().answers == 2
    # Secrets stay out of logs and reprs.
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(front)
    assert "refused POST /answer" in caplog.text


async def test_signed_answer_validates_against_the_public_url_when_configured() -> None:
    public = "wss://edge.example/bot/stream"
    server = StreamServer(echo, signature_validator=SignatureValidator(TOKEN, public_url=public))
    front = PlivoFront(server, public_url=public)
    signed = signature_headers("https://edge.example/bot/answer", TOKEN, params=FORM)
    with trio.fail_after(10):
        async with running(front):
            # The proxy rewrote everything; only the configured URL knows what Plivo called.
            answer = await request(
                front.port, "POST", "/answer", headers=signed, form=FORM, host="10.0.0.7:8000"
            )
    assert answer.status == 200
    assert answer.stream().text == public


# --- the whole loop: answer, then a call on the URL it gave --------------------------------


async def test_answer_then_a_simulated_call_on_the_returned_url() -> None:
    called: list[str] = []

    async def app(call) -> None:
        called.append(call.call_id)
        await echo(call)

    server = StreamServer(app, signature_validator=SignatureValidator(TOKEN))
    front = PlivoFront(server)
    with trio.fail_after(20):
        async with running(front):
            answer_url = f"http://127.0.0.1:{front.port}/answer"
            answer = await request(
                front.port,
                "POST",
                "/answer",
                headers=signature_headers(answer_url, TOKEN, params=FORM),
                form=FORM,
            )
            stream_url = answer.stream().text
            assert stream_url is not None
            fake = FakePlivo(audio=CallerAudio.silence(0.5), call_id="loop-call")
            report = await fake.run_url(
                stream_url, headers=signature_headers(stream_url, TOKEN, method="GET")
            )
    assert called == ["loop-call"]
    assert report.violations == ()
    assert report.counts.media_sent == 25
    assert report.counts.play_audio_received == 25  # echoed over the same fast path
    assert front.statistics().handed_to_stream_server == 1
