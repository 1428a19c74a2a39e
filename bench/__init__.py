"""Benchmarks for trio-plivo (not shipped in the wheel).

``python -m bench`` runs every ``bench/bench_*.py`` module's ``main()``;
``python -m bench NAME`` runs one (``protocol`` or ``bench_protocol``). The WebSocket-layer
load generator and baseline servers are :mod:`bench.loadgen` and :mod:`bench.ws_baselines`.
"""
