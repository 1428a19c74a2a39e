"""Public home of the cloud providers (see :mod:`trio_plivo.agent._providers`)."""

from __future__ import annotations

from ._providers import DeepgramSTT, ElevenLabsTTS, OpenAILLM, OpenAISTT, OpenAITTS

__all__ = ["DeepgramSTT", "ElevenLabsTTS", "OpenAILLM", "OpenAISTT", "OpenAITTS"]
