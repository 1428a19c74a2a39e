"""Public home of the offline pieces (see :mod:`trio_plivo.agent._offline`)."""

from __future__ import annotations

from ._offline import (
    EspeakTTS,
    PocketsphinxSTT,
    PromptTTS,
    RuleDialogue,
    espeak_available,
    menu_grammar,
    pocketsphinx_available,
)

__all__ = [
    "EspeakTTS",
    "PocketsphinxSTT",
    "PromptTTS",
    "RuleDialogue",
    "espeak_available",
    "menu_grammar",
    "pocketsphinx_available",
]
