"""pytest fixtures for testing trio-plivo apps, installed as a ``pytest11`` plugin.

Available in any project that installs trio-plivo (with pytest-trio)::

    async def test_my_app(plivo_sim):
        report = await plivo_sim.run(my_handler, audio=CallerAudio.demo(), dtmf=[("5", 1.0)])
        assert report.checkpoints[0].outcome == "played"

``plivo_sim`` runs on pytest-trio's ``autojump_clock``, so simulated calls of any length
finish in milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
import trio

from ..call import CallConfig, CallHandler
from ..protocol import ProviderCodec
from ._harness import run_handler
from ._simulator._fake_plivo import FakePlivo
from ._simulator._report import CallReport

__all__ = ["PlivoSimulator", "plivo_sim"]


@attrs.define
class PlivoSimulator(trio.abc.Clock):
    """Runs Call handlers against :class:`FakePlivo` in memory (see :func:`run_handler`).

    It is also the test's clock. pytest-trio runs a test on the ``trio.abc.Clock`` among its
    arguments, so ``plivo_sim`` brings virtual time with it: whenever every task is waiting,
    time jumps straight to the next deadline (what ``MockClock(autojump_threshold=0)`` does;
    that class can't be subclassed, and a delegating wrapper would lose its autojump hook).
    Don't also request ``autojump_clock``: a test can have only one clock.
    """

    _now: float = 0.0

    async def run(
        self,
        handler: CallHandler,
        *,
        config: CallConfig | None = None,
        codec: ProviderCodec | None = None,
        **fake_options: Any,
    ) -> CallReport:
        """Simulate one call; ``fake_options`` are :class:`FakePlivo` fields."""
        return await run_handler(handler, FakePlivo(**fake_options), config=config, codec=codec)

    # --- trio.abc.Clock ---------------------------------------------------------------------

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        return self._now

    def deadline_to_sleep_time(self, deadline: float) -> float:
        # Trio asks only when no task can run: jump to the deadline instead of sleeping.
        # With no deadline at all, wait for I/O (e.g. a loopback socket) in real time.
        if math.isinf(deadline):
            return _IDLE_WAIT_S
        self._now = max(self._now, deadline)
        return 0.0


_IDLE_WAIT_S = 86400.0


@pytest.fixture
def plivo_sim() -> PlivoSimulator:
    """A :class:`PlivoSimulator`; the test runs on its virtual clock."""
    return PlivoSimulator()
