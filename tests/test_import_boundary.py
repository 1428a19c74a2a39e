"""The sans-IO core never imports an I/O library."""

from __future__ import annotations

import subprocess
import sys

import pytest

SANS_IO_MODULES = [
    "trio_plivo.protocol",
    "trio_plivo._format",
    "trio_plivo._exceptions",
    "trio_plivo.audio",
    "trio_plivo.signatures",
    "trio_plivo.answers",
]
IO_LIBRARIES = ["trio", "trio_websocket", "httpx", "websockets", "anyio"]


@pytest.mark.parametrize("module", SANS_IO_MODULES)
def test_sans_io_module_imports_no_io_library(module: str) -> None:
    # A fresh interpreter, importing the module without the package __init__'s re-exports
    # dragging in the I/O layers: stub the parent package first.
    code = f"""
import importlib.util, sys, types, pathlib
spec = importlib.util.find_spec("trio_plivo")
pkg = types.ModuleType("trio_plivo"); pkg.__path__ = list(spec.submodule_search_locations)
sys.modules["trio_plivo"] = pkg
importlib.import_module({module!r})
print(",".join(sorted(m for m in {IO_LIBRARIES!r} if m in sys.modules)))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"
