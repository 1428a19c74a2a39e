"""Run a ``Call`` handler against the simulator: the one-liner for users' own tests."""

from __future__ import annotations

from ..call import CallConfig, CallHandler, serve_call
from ..protocol import ProviderCodec
from ..transport import MessageTransport
from ._simulator._fake_plivo import FakeProvider
from ._simulator._providers import app_codec_for
from ._simulator._report import CallReport

__all__ = ["run_handler"]


async def run_handler(
    handler: CallHandler,
    fake: FakeProvider | None = None,
    *,
    config: CallConfig | None = None,
    codec: ProviderCodec | None = None,
    handler_grace: float = 1.0,
) -> CallReport:
    """Run ``handler`` on a call from ``fake`` (default: ``FakePlivo()``), in memory, exactly
    as the server would run it, and return the simulator's :class:`CallReport`.

    ``codec`` defaults to a fresh codec for ``fake.provider`` (pass ``DetectingCodec()`` to
    exercise detection instead).

    Under ``trio.testing.MockClock(autojump_threshold=0)`` (pytest-trio's ``autojump_clock``)
    a call of any length takes milliseconds.
    """
    simulator = fake if fake is not None else FakeProvider()
    chosen = codec if codec is not None else app_codec_for(simulator.provider)

    async def app(transport: MessageTransport) -> None:
        await serve_call(
            transport, handler, codec=chosen, config=config, handler_grace=handler_grace
        )

    return await simulator.run(app)
