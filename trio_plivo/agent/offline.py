"""Public home of the offline pieces (see :mod:`trio_plivo.agent._offline`)."""

from __future__ import annotations

from ._offline.espeak_tts import EspeakTTS, espeak_available
from ._offline.pocketsphinx_stt import PocketsphinxSTT, menu_grammar, pocketsphinx_available
from ._offline.prompts import PromptTTS
from ._offline.rules import RuleDialogue

__all__ = [
    "EspeakTTS",
    "PocketsphinxSTT",
    "PromptTTS",
    "RuleDialogue",
    "espeak_available",
    "menu_grammar",
    "pocketsphinx_available",
]
