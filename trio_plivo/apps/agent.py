"""The ``agent`` app: a voice agent that works offline, with no keys.

``trio-plivo serve agent`` answers with a rule-based menu (greeting, key or spoken choices,
an echo of what it understood, goodbye and hang-up), spoken by espeak-ng when the ``tts``
extra is installed and by prerecorded prompts otherwise; it understands speech when the
``stt-lite`` extra (pocketsphinx) is installed, and key presses always.
``TRIO_PLIVO_AGENT_DEBUG=1`` logs every turn's timings. For a real AI, see
``examples/agent_openai.py``.
"""

from __future__ import annotations

import logging
import os

from ..agent import AgentConfig, Summary, run_agent
from ..agent._protocols import STT, TTS
from ..agent.offline import (
    EspeakTTS,
    PocketsphinxSTT,
    PromptTTS,
    RuleDialogue,
    espeak_available,
    pocketsphinx_available,
)
from ..call import Call

__all__ = ["agent", "offline_agent_config"]

logger = logging.getLogger("trio_plivo.apps.agent")


def offline_agent_config(
    *, tts: TTS | None = None, stt: STT | None = None, debug: bool | None = None
) -> AgentConfig:
    """The offline agent's configuration: the best parts installed, unless given."""
    if tts is None:
        tts = EspeakTTS() if espeak_available() else PromptTTS()
    if stt is None and pocketsphinx_available():
        stt = PocketsphinxSTT()
    rules = RuleDialogue()
    if debug is None:
        debug = os.environ.get("TRIO_PLIVO_AGENT_DEBUG", "") not in ("", "0")
    return AgentConfig(
        llm=rules,
        tts=tts,
        stt=stt,
        first_message=rules.first_message,
        on_end=_log_summary,
        apology=None,
        debug=debug,
    )


async def agent(call: Call) -> None:
    """Run the offline voice agent on ``call``."""
    config = offline_agent_config()
    logger.info(
        "call %s: offline agent (voice %s, %s)",
        call.call_id,
        type(config.tts).__name__,
        type(config.stt).__name__ if config.stt else "no speech recognition: voice turns, keys",
    )
    await run_agent(call, config)


def _log_summary(summary: Summary) -> None:
    logger.info(
        "call %s: agent ended by %s after %.1f s, %d messages:\n%s",
        summary.call_id,
        summary.ended_by,
        summary.duration,
        len(summary.messages),
        summary.transcript(),
    )
