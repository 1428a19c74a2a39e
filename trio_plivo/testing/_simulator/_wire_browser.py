"""The browser page's side of the conversation protocol (:mod:`trio_plivo.protocol.browser`).

What the ``/talk`` page sends: a JSON ``start`` with the rate it captures at, the microphone
as binary PCM16 frames every 20 ms, key presses as ``{"type":"dtmf","keys":...}``, a
``mark`` echo once its player has played up to a mark, ``cleared`` after emptying its player,
and ``hangup``. What it accepts: binary audio of any length (its player buffers), ``mark``,
``clear``, ``endCall`` and the conversation lines (``userMessage``, ``assistantMessage``,
``cancelLastAssistantMessage``), which the simulator records for the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ._validate import (
    CheckedMessage,
    CheckpointCommand,
    ClearAudioCommand,
    ConversationTextCommand,
    HangupCommand,
    PlayAudioCommand,
    Problem,
    absent_or_wrong,
    check_pcm16_frame,
    rejected,
)
from ._wire import CommandWire, WireMessage

__all__ = ["BrowserWire"]

_TEXT_KINDS: Final = frozenset({"userMessage", "assistantMessage", "cancelLastAssistantMessage"})
_ALLOWED_KEYS: Final = {
    "mark": frozenset({"type", "name"}),
    "clear": frozenset({"type"}),
    "endCall": frozenset({"type"}),
    **{kind: frozenset({"type", "text"}) for kind in _TEXT_KINDS},
}


class BrowserWire(CommandWire):
    """The talk page's side of one browser conversation (JSON commands named by ``type``,
    not numbered)."""

    provider = "browser"
    COMMAND_KEY = "type"
    COMMANDS = _ALLOWED_KEYS
    TITLE = "the page"
    play_event = "audio"

    def opening(self) -> list[WireMessage]:
        start = {"sampleRate": self.setup.format.sample_rate, "metadata": dict(self.setup.headers)}
        return [WireMessage("start", start, sequenced=False)]

    def media(self, chunk: int, at: float, payload: bytes) -> WireMessage:
        return WireMessage("audio", payload)

    def dtmf(self, digit: str, at: float) -> WireMessage:
        return WireMessage("dtmf", {"keys": digit})

    def played(self, name: str, at: float) -> WireMessage:
        return WireMessage("mark", {"name": name})

    def cleared(self, dropped: Sequence[str]) -> list[WireMessage]:
        return [WireMessage("cleared", {})]

    def stop(self) -> WireMessage | None:
        return WireMessage("hangup", {})

    def encode(self, message: WireMessage) -> dict[str, object] | bytes:
        body = message.body
        if isinstance(body, bytes):
            return body
        return {"type": message.event, **body}

    def check_command(
        self, kind: str, data: dict[str, object], problems: list[Problem]
    ) -> CheckedMessage:
        command: CheckpointCommand | ClearAudioCommand | HangupCommand | ConversationTextCommand
        if kind == "mark":
            name = data.get("name")
            if not isinstance(name, str) or not name:
                return rejected(absent_or_wrong(name), "mark needs a 'name'", event=kind, data=data)
            command = CheckpointCommand(name)
        elif kind == "clear":
            command = ClearAudioCommand()
        elif kind == "endCall":
            command = HangupCommand()
        else:
            text = data.get("text")
            if not isinstance(text, str):
                return rejected(
                    absent_or_wrong(text), f"{kind} needs a 'text'", event=kind, data=data
                )
            command = ConversationTextCommand(kind, text)
        return CheckedMessage(event=kind, data=data, command=command, problems=tuple(problems))

    def check_audio(self, audio: bytes) -> CheckedMessage:
        if (rejection := check_pcm16_frame(audio, "audio")) is not None:
            return rejection
        # The page's player buffers whatever length it gets: no frame size to keep to.
        return CheckedMessage(
            event="audio", data=None, command=PlayAudioCommand(audio), problems=()
        )
