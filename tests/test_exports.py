"""The public surface: everything in __all__ resolves, and the top level stays sans-IO."""

from __future__ import annotations

import subprocess
import sys

import trio_plivo


def test_all_names_resolve() -> None:
    for name in trio_plivo.__all__:
        assert getattr(trio_plivo, name) is not None, name
    assert sorted(trio_plivo.__all__, key=str.lower) == sorted(
        set(trio_plivo.__all__), key=str.lower
    )


def test_importing_the_package_does_not_import_trio() -> None:
    code = "import sys, trio_plivo; print('trio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
