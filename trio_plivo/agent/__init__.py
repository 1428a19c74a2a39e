"""The voice agent: an AI on the phone line, running inside the call's handler.

::

    from trio_plivo.agent import AgentConfig, run_agent
    from trio_plivo.agent.providers import DeepgramSTT, ElevenLabsTTS, OpenAILLM

    async def handler(call):
        await run_agent(call, AgentConfig(
            stt=DeepgramSTT(), llm=OpenAILLM(), tts=ElevenLabsTTS(voice_id="..."),
            first_message="Hello! How can I help?",
        ))

Turn detection (VAD + end-of-turn silence), streaming STT -> LLM -> sentences -> TTS ->
``call.play``, barge-in that clears the playback and keeps only what the caller heard in the
conversation, and an end-call that waits for the goodbye to be heard. Services sit behind the
:class:`STT`, :class:`LLM` and :class:`TTS` protocols; :mod:`trio_plivo.agent.offline` has a
keyless default (rule-based menu, espeak-ng or prerecorded prompts, optional pocketsphinx).
"""

from __future__ import annotations

from ._agent import Agent, run_agent
from ._bargein import SpokenSentence, heard_text
from ._config import AgentConfig
from ._conversation import EndCall, LLMEvent, Message, Summary
from ._debug import TurnTiming
from ._errors import ProviderError
from ._protocols import LLM, STT, TTS, LLMSession, Synthesizer, Transcriber
from ._sentences import SentenceChunker
from ._turns import EnergyVad, SileroVad, TurnDetector, Vad, WebRtcVad, default_vad

__all__ = [
    # running
    "Agent",
    "AgentConfig",
    "run_agent",
    # conversation
    "EndCall",
    "LLMEvent",
    "Message",
    "Summary",
    "TurnTiming",
    # services
    "LLM",
    "LLMSession",
    "ProviderError",
    "STT",
    "Synthesizer",
    "TTS",
    "Transcriber",
    # turn taking
    "EnergyVad",
    "SileroVad",
    "TurnDetector",
    "Vad",
    "WebRtcVad",
    "default_vad",
    # text
    "SentenceChunker",
    "SpokenSentence",
    "heard_text",
]
