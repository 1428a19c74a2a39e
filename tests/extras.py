"""Tests of optional parts skip, saying which extra would run them."""

from __future__ import annotations

import importlib.util

import pytest


def needs_extra(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip unless ``module`` is installed; the reason names the extra that brings it."""
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"needs the {extra!r} extra ({module} is not installed): "
        f"pip install 'trio-plivo[{extra}]'",
    )
