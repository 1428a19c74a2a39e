"""``AgentConfig``: what the agent says, which services it uses, how it takes turns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from .._exceptions import ConfigurationError
from ._conversation import Message, Summary
from ._protocols import LLM, STT, TTS
from ._turns import VadFactory, default_vad

__all__ = ["AgentConfig"]

#: ``on_message`` / ``on_end`` may be plain functions or coroutine functions.
OnMessage = Callable[[Message], Awaitable[None] | None]
OnEnd = Callable[[Summary], Awaitable[None] | None]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"{attribute.name} must be positive, got {value}")


@attrs.frozen(kw_only=True)
class AgentConfig:
    """Configuration of a voice agent (micdrop-like: prompt, first message, callbacks).

    ``llm`` and ``tts`` are required; ``stt`` is optional (without one the agent is driven by
    key presses alone, e.g. the offline rule-based menu).
    """

    llm: LLM
    tts: TTS
    stt: STT | None = None
    #: The language model's instructions.
    system_prompt: str = (
        "You are a friendly voice assistant on a phone call. Answer in one or two short "
        "spoken sentences, without lists or markdown. When the caller wants to end the call, "
        "say goodbye and call the end_call tool."
    )
    #: Said as soon as the call starts (interruptible), before the caller speaks.
    first_message: str | None = None
    #: Called with every completed message (user turns, and assistant messages as heard).
    on_message: OnMessage | None = None
    #: Called once with the :class:`Summary` when the agent stops (also after a hang-up).
    on_end: OnEnd | None = None
    #: Builds the VAD for the STT's sample rate (default: webrtcvad mode 3).
    vad: VadFactory = default_vad
    #: Silence after speech that ends the caller's turn.
    end_of_turn_ms: float = attrs.field(default=600.0, validator=_positive)
    #: Voiced audio needed to count as the start of speech.
    min_speech_ms: float = attrs.field(default=60.0, validator=_positive)
    #: Caller speech at least this long while the bot talks (or thinks) is a barge-in:
    #: playback is cleared and the answer abandoned. Shorter sounds ("mm-hm", a cough) are
    #: ignored.
    min_barge_in_ms: float = attrs.field(default=300.0, validator=_positive)
    #: Whether the caller can interrupt at all (speech or a key press).
    allow_barge_in: bool = True
    #: Audio kept from before the detected start of speech, for STT.
    preroll_ms: float = attrs.field(default=200.0, validator=_positive)
    #: An utterance longer than this is cut and transcribed as is.
    max_utterance_s: float = attrs.field(default=30.0, validator=_positive)
    #: Said after a provider error ended a turn (``None``: stay silent).
    apology: str | None = "Sorry, I had a problem there. Could you say that again?"
    #: Each provider step (STT final, LLM token, TTS chunk) must arrive within this.
    provider_timeout: float = attrs.field(default=15.0, validator=_positive)
    #: How long to wait for the goodbye to be heard before hanging up anyway.
    goodbye_timeout: float = attrs.field(default=30.0, validator=_positive)
    #: Inside a long sentence, place a playback mark every this many ms of audio, so a
    #: barge-in knows what was heard even before the sentence has been fully synthesised.
    mark_every_ms: float = attrs.field(default=500.0, validator=_positive)
    #: Log every turn's timings at INFO (they are in the summary either way).
    debug: bool = False
