"""Cloud services for the agent: an OpenAI-compatible LLM, OpenAI and Deepgram STT,
ElevenLabs and OpenAI TTS. Keys come from ``OPENAI_API_KEY``, ``DEEPGRAM_API_KEY`` and
``ELEVENLABS_API_KEY`` (or ``api_key=``), are checked when the provider is created (a
:class:`~trio_plivo.ConfigurationError` before anything connects), and never appear in
reprs, logs or errors. Only httpx (a core dependency) and the project's own WebSocket client
are used: no extra install."""

from __future__ import annotations

from .deepgram_stt import DeepgramSTT
from .elevenlabs_tts import ElevenLabsTTS
from .openai_llm import OpenAILLM
from .openai_stt import OpenAISTT
from .openai_tts import OpenAITTS

__all__ = ["DeepgramSTT", "ElevenLabsTTS", "OpenAILLM", "OpenAISTT", "OpenAITTS"]
