"""A voice agent on OpenAI (or any OpenAI-compatible server), optionally Deepgram and
ElevenLabs: listen, think, speak, be interrupted, hang up after the goodbye.

Run:  OPENAI_API_KEY=... python examples/agent_openai.py [PORT]
      (DEEPGRAM_API_KEY / ELEVENLABS_API_KEY set too: streaming STT / ElevenLabs voice;
       OPENAI_BASE_URL=http://localhost:8080/v1: a local OpenAI-compatible LLM)
Try:  trio-plivo simulate ws://127.0.0.1:8000/stream
"""

from __future__ import annotations

import logging
import os
import sys

import trio

from trio_plivo import Call, serve
from trio_plivo.agent import STT, TTS, AgentConfig, Message, Summary, run_agent
from trio_plivo.agent.providers import DeepgramSTT, ElevenLabsTTS, OpenAILLM, OpenAISTT, OpenAITTS

log = logging.getLogger("agent")


def make_config() -> AgentConfig:
    """Providers from the environment; a ConfigurationError here names a missing key."""
    base_url = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
    stt: STT = DeepgramSTT() if os.environ.get("DEEPGRAM_API_KEY") else OpenAISTT()
    tts: TTS = ElevenLabsTTS() if os.environ.get("ELEVENLABS_API_KEY") else OpenAITTS()
    return AgentConfig(
        stt=stt,
        llm=OpenAILLM(os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), base_url=base_url),
        tts=tts,
        system_prompt=(
            "You are the friendly receptionist of a small bakery, on the phone. Answer in one "
            "or two short sentences. When the caller is done, say goodbye and call end_call."
        ),
        first_message="Hello, you've reached the bakery. How can I help?",
        on_message=lambda message: log.info("%s: %s", message.role, _text(message)),
        on_end=_summary,
        debug=True,  # per-turn timings in the log
    )


def _text(message: Message) -> str:
    return (
        f"{message.content} [cut: {message.intended}]" if message.interrupted else message.content
    )


def _summary(summary: Summary) -> None:
    log.info(
        "call %s ended by %s after %.0f s", summary.call_id, summary.ended_by, summary.duration
    )


async def agent(call: Call) -> None:
    await run_agent(call, make_config())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    make_config()  # fail now, before any call, if a key is missing
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    trio.run(serve, agent, "127.0.0.1", port)
