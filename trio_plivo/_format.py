"""``AudioFormat``: what bytes on the wire mean (encoding, rate, channels).

Shared by the protocol layer (``start.mediaFormat``), the audio module (conversion targets) and
the playback queue (20 ms framing). Pure data, no I/O.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from ._exceptions import ConfigurationError

__all__ = ["L16_8K", "L16_16K", "MULAW_8K", "AudioFormat", "Encoding"]


class Encoding(enum.Enum):
    """Sample encodings used by telephony media streams. Values are Plivo's bare MIME types."""

    MULAW = "audio/x-mulaw"
    ALAW = "audio/x-alaw"
    L16 = "audio/x-l16"

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self is Encoding.L16 else 1


# Spellings seen across providers, lower-cased; maps to our canonical enum.
_ENCODING_ALIASES: Final[dict[str, Encoding]] = {
    "audio/x-mulaw": Encoding.MULAW,
    "audio/mulaw": Encoding.MULAW,
    "audio/pcmu": Encoding.MULAW,
    "pcmu": Encoding.MULAW,
    "mulaw": Encoding.MULAW,
    "ulaw": Encoding.MULAW,
    "audio/x-alaw": Encoding.ALAW,
    "audio/pcma": Encoding.ALAW,
    "pcma": Encoding.ALAW,
    "alaw": Encoding.ALAW,
    "audio/x-l16": Encoding.L16,
    "audio/l16": Encoding.L16,
    "l16": Encoding.L16,
    "audio/x-raw": Encoding.L16,
    "linear16": Encoding.L16,
    "pcm16": Encoding.L16,
}


def parse_encoding(text: str) -> Encoding:
    """Map a provider's encoding name (``audio/x-mulaw``, ``PCMU``, ``audio/l16`` ...) to
    :class:`Encoding`. Raises ``ValueError`` for anything unknown."""
    try:
        return _ENCODING_ALIASES[text.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown audio encoding {text!r}") from None


@attrs.frozen(kw_only=True)
class AudioFormat:
    """An audio format: ``encoding`` at ``sample_rate`` Hz with ``channels`` channels.

    L16 means signed 16-bit samples in ``byte_order`` (Plivo and every provider here use
    little-endian, unlike the RFC's network order).
    """

    encoding: Encoding
    sample_rate: int = attrs.field(validator=attrs.validators.gt(0))
    channels: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    byte_order: str = attrs.field(
        default="little", validator=attrs.validators.in_(("little", "big"))
    )

    @property
    def content_type(self) -> str:
        """The bare MIME type (``audio/x-l16``), as Plivo's ``playAudio`` wants it."""
        return self.encoding.value

    @property
    def bytes_per_sample(self) -> int:
        return self.encoding.bytes_per_sample * self.channels

    def bytes_for(self, milliseconds: float) -> int:
        """How many bytes ``milliseconds`` of audio take (rounded down to whole samples)."""
        return int(self.sample_rate * milliseconds / 1000) * self.bytes_per_sample

    def duration_ms(self, nbytes: int) -> float:
        """How long ``nbytes`` of audio in this format play, in milliseconds."""
        return nbytes / self.bytes_per_sample * 1000 / self.sample_rate

    @classmethod
    def from_content_type(cls, text: str) -> AudioFormat:
        """Parse ``audio/x-l16;rate=16000`` (the Plivo XML form). Raises ``ConfigurationError``."""
        mime, _, params = text.partition(";")
        try:
            encoding = parse_encoding(mime)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        rate = 8000
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "rate":
                try:
                    rate = int(value)
                except ValueError:
                    raise ConfigurationError(f"bad rate in content type {text!r}") from None
        return cls(encoding=encoding, sample_rate=rate)

    def to_content_type(self) -> str:
        """The XML form, ``audio/x-mulaw;rate=8000``."""
        return f"{self.encoding.value};rate={self.sample_rate}"

    def __str__(self) -> str:
        return self.to_content_type()


MULAW_8K: Final = AudioFormat(encoding=Encoding.MULAW, sample_rate=8000)
L16_8K: Final = AudioFormat(encoding=Encoding.L16, sample_rate=8000)
L16_16K: Final = AudioFormat(encoding=Encoding.L16, sample_rate=16000)
