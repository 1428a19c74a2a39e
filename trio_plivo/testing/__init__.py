"""Test tools: a simulator that speaks every provider's real stream protocol.

:class:`FakeProvider` (``FakePlivo`` is the same class) plays a provider's side of one audio
stream -- Plivo by default; Twilio, SignalWire, Exotel, Telnyx, Vonage or KooKoo with
``provider=`` -- against an application, in memory or over any
:class:`~trio_plivo.transport.MessageTransport`, and returns a :class:`CallReport` of what
happened: what the caller heard, every event, audible gaps, checkpoint round trips,
barge-ins and protocol violations.

Layout: ``_simulator/`` is the provider simulator (FakeProvider, the session that drives it,
a sans-IO ProviderWire per provider, the playout model, faults, validation, the report);
``_loadtest/`` is the load tester (the real-time call generator, its light per-provider wire,
its report); :func:`run_handler` and the pytest plugin sit on top of the simulator.
"""

from __future__ import annotations

from ._harness import run_handler
from ._simulator._caller_audio import CallerAudio
from ._simulator._fake_plivo import App, FakePlivo, FakeProvider
from ._simulator._faults import Faults
from ._simulator._report import (
    BargeIn,
    CallReport,
    CheckpointRecord,
    ClearRecord,
    CloseInfo,
    ConversationLine,
    Counts,
    EventRecord,
    Gap,
    GapStats,
    SentDtmf,
)
from ._simulator._summary import format_report
from ._simulator._validate import Violation, ViolationKind

__all__ = [
    "App",
    "BargeIn",
    "CallReport",
    "CallerAudio",
    "CheckpointRecord",
    "ClearRecord",
    "CloseInfo",
    "ConversationLine",
    "Counts",
    "EventRecord",
    "FakePlivo",
    "FakeProvider",
    "Faults",
    "Gap",
    "GapStats",
    "SentDtmf",
    "Violation",
    "ViolationKind",
    "format_report",
    "run_handler",
]
