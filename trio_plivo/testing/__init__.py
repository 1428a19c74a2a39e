"""Test tools: a simulator that speaks every provider's real stream protocol.

:class:`FakeProvider` (``FakePlivo`` is the same class) plays a provider's side of one audio
stream -- Plivo by default; Twilio, SignalWire, Exotel, Telnyx, Vonage or KooKoo with
``provider=`` -- against an application, in memory or over any
:class:`~trio_plivo.transport.MessageTransport`, and returns a :class:`CallReport` of what
happened: what the caller heard, every event, audible gaps, checkpoint round trips,
barge-ins and protocol violations.
"""

from __future__ import annotations

from ._caller_audio import CallerAudio
from ._fake_plivo import App, FakePlivo, FakeProvider
from ._faults import Faults
from ._harness import run_handler
from ._report import (
    BargeIn,
    CallReport,
    CheckpointRecord,
    ClearRecord,
    CloseInfo,
    Counts,
    EventRecord,
    Gap,
    GapStats,
    SentDtmf,
)
from ._summary import format_report
from ._validate import Violation, ViolationKind

__all__ = [
    "App",
    "BargeIn",
    "CallReport",
    "CallerAudio",
    "CheckpointRecord",
    "ClearRecord",
    "CloseInfo",
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
