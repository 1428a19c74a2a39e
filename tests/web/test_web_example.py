"""examples/plivo_deployment.py end to end on loopback: signed answer, greeting heard in full,
``#`` -> goodbye heard -> REST hang-up; status callbacks logged."""

from __future__ import annotations

import attrs
import numpy as np
import trio
from examples_loader import load_example as load_examples_file
from web_helpers import FORM, TOKEN, request

from trio_plivo import L16_16K, CallConfig
from trio_plivo.audio import WavAudio
from trio_plivo.signatures import signature_headers
from trio_plivo.testing import CallerAudio, FakePlivo


def load_example():
    return load_examples_file("plivo_deployment")


@attrs.define
class RecordingHangup:
    """Stands in for PlivoRestClient: records which calls were hung up."""

    hung_up: list[str] = attrs.Factory(list)

    async def hangup_call(self, call_uuid: str) -> bool:
        self.hung_up.append(call_uuid)
        return True


async def test_deployment_greets_then_hangs_up_over_rest_on_hash(caplog) -> None:
    caplog.set_level("INFO", logger="deployment")
    example = load_example()
    greeting = WavAudio(pcm=(np.ones(4000, "<i2") * 3000).tobytes(), sample_rate=8000)  # 0.5 s
    rest = RecordingHangup()
    front = example.build_front(
        auth_token=TOKEN, config=CallConfig(hangup_client=rest), greeting=greeting
    )
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(front.serve, "127.0.0.1", 0)
            nursery.start_soon(example.log_status, front)
            base = f"http://127.0.0.1:{front.port}"
            answer = await request(
                front.port,
                "POST",
                "/answer",
                headers=signature_headers(f"{base}/answer", TOKEN, params=FORM),
                form=FORM,
            )
            stream_url = answer.stream().text
            assert answer.stream().attrib["contentType"] == "audio/x-l16;rate=16000"
            status = {"Event": "StartStream", "StreamID": "s-1"}
            await request(
                front.port,
                "POST",
                "/status",
                headers=signature_headers(f"{base}/status", TOKEN, params=status),
                form=status,
            )
            fake = FakePlivo(
                format=L16_16K,
                audio=CallerAudio.silence(10),
                dtmf=[("#", 0.2)],
                call_id="caller-1",
            )
            report = await fake.run_url(
                stream_url, headers=signature_headers(stream_url, TOKEN, method="GET")
            )
            front.shutdown()
    assert [(c.name, c.outcome) for c in report.checkpoints] == [
        ("greeting", "played"),
        ("goodbye", "played"),
    ]
    assert rest.hung_up == ["caller-1"]
    assert report.close.by == "app"
    assert "greeting played" in caplog.text
    assert "stream s-1: StartStream" in caplog.text
