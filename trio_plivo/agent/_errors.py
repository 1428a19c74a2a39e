"""Errors of the voice agent, in the project's one hierarchy."""

from __future__ import annotations

from .._exceptions import TrioPlivoError

__all__ = ["ProviderError"]


class ProviderError(TrioPlivoError):
    """An STT, LLM or TTS service failed (HTTP error, broken stream, bad answer, timeout).

    The agent catches it per turn: the turn ends (with an apology if the TTS still works) and
    the call goes on. ``provider`` names the service (``"openai-llm"``, ``"deepgram"`` ...),
    ``status_code`` is the HTTP status when there was one. Messages never contain API keys.
    """

    def __init__(self, provider: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.status_code = status_code
