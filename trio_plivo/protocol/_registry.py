"""Provider names -> codecs, for ``StreamServer(codec_factory=...)`` and ``--provider NAME``.

Read-only: the table is built at import and never mutated (no registration hook, no global
state to leak between tests); pass your own factory for a customised codec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from .._exceptions import ConfigurationError
from ._codec import ProviderCodec
from ._detect import DETECTABLE, DetectingCodec

__all__ = ["ALIASES", "PROVIDERS", "codec_factory_for", "codec_for"]

CodecFactory = Callable[[], ProviderCodec]

#: Every provider by name, plus ``"auto"`` (detect from the first message).
PROVIDERS: Final[Mapping[str, CodecFactory]] = MappingProxyType(
    {**DETECTABLE, "auto": DetectingCodec}
)
#: Other names people use for the same protocol.
ALIASES: Final[Mapping[str, str]] = MappingProxyType({"ozonetel": "kookoo", "nexmo": "vonage"})


def codec_factory_for(name: str) -> CodecFactory:
    """The codec factory for a provider name (case-insensitive; aliases allowed).

    Raises :class:`~trio_plivo.ConfigurationError` naming the known providers.
    """
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return PROVIDERS[key]
    except KeyError:
        raise ConfigurationError(
            f"unknown provider {name!r}; known: {', '.join(sorted(PROVIDERS))}"
        ) from None


def codec_for(name: str) -> ProviderCodec:
    """A fresh codec (one per stream) for a provider name; see :func:`codec_factory_for`."""
    return codec_factory_for(name)()
