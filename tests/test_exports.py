"""The public surface: everything in __all__ resolves, and the top level stays sans-IO."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import trio_plivo
from trio_plivo.protocol import PROVIDERS

#: The provider HTTP surfaces, one layer each (a module per provider inside).
HTTP_LAYERS = ["trio_plivo.answers", "trio_plivo.signatures", "trio_plivo.rest", "trio_plivo.web"]


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


@pytest.mark.parametrize("layer", HTTP_LAYERS)
def test_http_layers_export_what_they_list(layer: str) -> None:
    module = importlib.import_module(layer)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{layer}.{name}"
    assert len(module.__all__) == len(set(module.__all__))


def test_no_provider_named_module_at_the_package_top() -> None:
    top = Path(trio_plivo.__file__).parent
    names = {path.stem for path in top.glob("*.py")} | {
        path.name for path in top.iterdir() if (path / "__init__.py").exists()
    }
    providers = set(PROVIDERS) - {"auto"}
    assert {n for n in names if any(p in n for p in providers)} == set()
    for gone in ("xml", "signature", "status", "twilio_signature", "twilio_rest"):
        assert importlib.util.find_spec(f"trio_plivo.{gone}") is None, gone
