"""Every provider's per-call parameters reach ``call.extra_headers`` (issue #15, defect 8)."""

from __future__ import annotations

import pytest

from trio_plivo import Call
from trio_plivo.protocol import codec_for
from trio_plivo.testing import FakeProvider, run_handler


@pytest.mark.parametrize("provider", ["plivo", "twilio", "signalwire", "exotel", "telnyx"])
async def test_custom_parameters_are_headers_for_every_provider(
    provider: str, autojump_clock: object
) -> None:
    seen: dict[str, object] = {}

    async def app(call: Call) -> None:
        seen["headers"] = dict(call.extra_headers)
        seen["tenant"] = call.get_header("tenant")

    fake = FakeProvider(provider=provider, duration=0.1, extra_headers={"tenant": "acme"})
    await run_handler(app, fake, codec=codec_for(provider))
    assert seen == {"headers": {"tenant": "acme"}, "tenant": "acme"}
