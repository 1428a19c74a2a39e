"""The keyless, offline default: a rule-based menu, espeak-ng (extra ``tts``) or
prerecorded prompts, optional pocketsphinx (extra ``stt-lite``)."""

from __future__ import annotations

from .espeak_tts import EspeakTTS, espeak_available
from .pocketsphinx_stt import PocketsphinxSTT, menu_grammar, pocketsphinx_available
from .prompts import PromptTTS
from .rules import RuleDialogue

__all__ = [
    "EspeakTTS",
    "PocketsphinxSTT",
    "PromptTTS",
    "RuleDialogue",
    "espeak_available",
    "menu_grammar",
    "pocketsphinx_available",
]
