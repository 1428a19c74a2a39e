"""A serving process freezes what it loaded and collects less often; `serve` does it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from trio_plivo.cli import main
from trio_plivo.workers import SERVING_GC_THRESHOLDS, tune_gc_for_serving


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tuning_freezes_what_exists_and_raises_the_thresholds(restored_gc: None) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    tune_gc_for_serving()
    assert gc.get_freeze_count() > 1000  # the interpreter and everything imported so far
    assert gc.get_threshold() == SERVING_GC_THRESHOLDS
    assert SERVING_GC_THRESHOLDS[0] > 10 * 700  # far fewer young collections than CPython's


def test_serve_tunes_the_collector_once_the_server_is_built(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    async def serve_nothing(*_: object) -> None:
        seen.append(gc.get_freeze_count())  # what serving would start with

    gc.unfreeze()
    monkeypatch.setattr("trio_plivo.cli._serve._run", serve_nothing)
    assert main(["serve", "echo", "--port", "0"]) == 0
    assert seen and seen[0] > 1000
    assert gc.get_threshold() == SERVING_GC_THRESHOLDS
