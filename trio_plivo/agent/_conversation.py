"""The conversation: messages, the end-call signal, and the summary handed to ``on_end``."""

from __future__ import annotations

from typing import Literal

import attrs

from ._debug import TurnTiming

__all__ = ["EndCall", "LLMEvent", "Message", "Role", "Summary"]

Role = Literal["user", "assistant"]


@attrs.frozen(kw_only=True)
class Message:
    """One message of the conversation, as the language model sees it."""

    role: Role
    #: For the assistant: the text the caller actually *heard* (truncated after a barge-in),
    #: so the model never believes it said something the caller missed.
    content: str
    #: A user turn made of a key press (``content`` is the digit), not speech.
    dtmf: bool = False
    #: ``False`` for speech the agent detected but could not turn into words (no speech
    #: recognition configured): ``content`` is then empty.
    transcribed: bool = True
    #: An assistant message cut short by the caller (barge-in) or by the end of the call.
    interrupted: bool = False
    #: For an interrupted assistant message: everything the model had generated.
    intended: str | None = None
    #: Trio clock time the message was completed.
    at: float = 0.0


@attrs.frozen
class EndCall:
    """Emitted by a language model (a tool call) or a rule engine: say nothing more, wait
    until what was said has been heard, then hang up."""

    reason: str = ""


#: What :meth:`~trio_plivo.agent.LLMSession.respond` streams.
LLMEvent = str | EndCall


@attrs.frozen(kw_only=True)
class Summary:
    """What ``on_end`` receives (and :func:`~trio_plivo.agent.run_agent` returns)."""

    messages: tuple[Message, ...]
    #: Seconds from the agent's start to its end.
    duration: float
    #: ``"agent"`` (the model or rules ended the call), ``"app"`` (``Agent.end_call``),
    #: ``"caller"`` (hang-up) or ``"cancelled"``.
    ended_by: Literal["agent", "app", "caller", "cancelled"]
    call_id: str | None = None
    #: Per-turn latency breakdown (see :class:`TurnTiming`).
    turns: tuple[TurnTiming, ...] = ()
    #: Turns that ended on a provider error.
    provider_errors: int = 0

    def transcript(self) -> str:
        """The conversation as a person reads it, one line a message::

        agent: Hello! This is the demo [cut off; not heard: agent.]
        caller: (key 1)
        caller: (speech, not understood)
        """
        return "\n".join(_line(message) for message in self.messages)


def _line(message: Message) -> str:
    if message.role == "user":
        if message.dtmf:
            return f"caller: (key {message.content})"
        return (
            f"caller: {message.content}"
            if message.transcribed
            else "caller: (speech, not understood)"
        )
    line = f"agent: {message.content}" if message.content else "agent:"
    if message.interrupted:
        intended = message.intended or ""
        unheard = (
            intended[len(message.content) :].strip()
            if intended.startswith(message.content)
            else intended
        )
        line += f" [cut off; not heard: {unheard}]" if unheard else " [cut off]"
    return line
