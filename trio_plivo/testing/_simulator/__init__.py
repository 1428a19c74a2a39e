"""The provider simulator: :class:`FakeProvider` plays a provider's side of one stream.

A :class:`~._session.Session` drives one simulated call over a sans-IO
:class:`~._wire.ProviderWire` (one per provider family: ``_wire_*.py``), with a playout model
of what the caller hears, scripted faults and strict checks of the app's messages, and
returns a :class:`CallReport`.
"""

from __future__ import annotations

from ._caller_audio import CallerAudio
from ._fake_plivo import App, FakePlivo, FakeProvider
from ._faults import Faults
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
]
