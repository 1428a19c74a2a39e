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

from .._exceptions import is_call_end
from ..call import Call, CallConfig, CallHandler
from ..protocol import ProviderCodec
from ._harness import run_handler
from ._simulator._fake_plivo import FakeProvider
from ._simulator._report import CallReport
from ._simulator._summary import format_report

__all__ = ["PlivoSimulator", "plivo_sim"]


@attrs.define
class PlivoSimulator(trio.abc.Clock):
    """Runs Call handlers against :class:`FakeProvider` in memory (see :func:`run_handler`);
    a handler's crash fails the test (see :meth:`run`).

    It is also the test's clock. pytest-trio runs a test on the ``trio.abc.Clock`` among its
    arguments, so ``plivo_sim`` brings virtual time with it: whenever every task is waiting,
    time jumps straight to the next deadline (what ``MockClock(autojump_threshold=0)`` does;
    that class can't be subclassed, and a delegating wrapper would lose its autojump hook).
    Don't also request ``autojump_clock``: a test can have only one clock.
    """

    _now: float = 0.0
    #: The report of the last call :meth:`run` simulated (also when the handler raised).
    last_report: CallReport | None = None

    async def run(
        self,
        handler: CallHandler,
        *,
        config: CallConfig | None = None,
        codec: ProviderCodec | None = None,
        raise_handler_errors: bool = True,
        **fake_options: Any,
    ) -> CallReport:
        """Simulate one call; ``fake_options`` are :class:`FakeProvider` fields.

        If the handler raises (anything but the call ending), the same exception is raised
        here once the call is over, with the call's report in a note and in
        :attr:`last_report`: a crash fails the test instead of passing as a 1011 close and a
        log line. ``raise_handler_errors=False`` is for tests that expect the crash and
        check the report instead.
        """
        failures: list[BaseException] = []

        async def watched(call: Call) -> None:
            try:
                await handler(call)
            except BaseException as exc:
                if not is_call_end(exc) and not isinstance(exc, trio.Cancelled):
                    failures.append(exc)
                raise

        chosen = watched if raise_handler_errors else handler
        report = await run_handler(chosen, FakeProvider(**fake_options), config=config, codec=codec)
        self.last_report = report
        if failures:
            error = failures[0]
            error.add_note(f"the simulated call (plivo_sim.last_report):\n{format_report(report)}")
            raise error
        return report

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
