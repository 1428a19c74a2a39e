"""The provider simulator: :class:`FakeProvider` plays a provider's side of one stream.

A :class:`~._session.Session` drives one simulated call over a sans-IO
:class:`~._wire.ProviderWire` (one per provider family: ``_wire_*.py``), with a playout model
of what the caller hears, scripted faults and strict checks of the app's messages, and
returns a :class:`CallReport`. The public names are imported from their modules by
:mod:`trio_plivo.testing`; this package exports nothing of its own.
"""
