"""The audio package is pure: importable without trio, with a complete public surface."""

from __future__ import annotations

import subprocess
import sys

import trio_plivo.audio as audio


def test_importing_audio_does_not_import_trio() -> None:
    code = "import sys, trio_plivo.audio; print('trio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_all_names_exist_and_public_names_are_exported() -> None:
    for name in audio.__all__:
        assert hasattr(audio, name), name
    assert len(set(audio.__all__)) == len(audio.__all__)
    public = {
        name
        for name, value in vars(audio).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("trio_plivo.audio.")
    }
    assert public <= set(audio.__all__)
