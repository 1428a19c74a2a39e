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

__all__ = [
    "ALIASES",
    "PROVIDERS",
    "canonical_provider_name",
    "codec_factory_for",
    "codec_for",
    "provider_matrix_markdown",
]

CodecFactory = Callable[[], ProviderCodec]

#: Every provider by name, plus ``"auto"`` (detect from the first message).
PROVIDERS: Final[Mapping[str, CodecFactory]] = MappingProxyType(
    {**DETECTABLE, "auto": DetectingCodec}
)
#: Other names people use for the same protocol.
ALIASES: Final[Mapping[str, str]] = MappingProxyType({"ozonetel": "kookoo", "nexmo": "vonage"})


def canonical_provider_name(name: str) -> str:
    """``name`` as the registry spells it: case and spaces ignored, aliases resolved."""
    key = name.strip().lower()
    return ALIASES.get(key, key)


def codec_factory_for(name: str) -> CodecFactory:
    """The codec factory for a provider name (case-insensitive; aliases allowed).

    Raises :class:`~trio_plivo.ConfigurationError` naming the known providers.
    """
    try:
        return PROVIDERS[canonical_provider_name(name)]
    except KeyError:
        raise ConfigurationError(
            f"unknown provider {name!r}; known: {', '.join(sorted(PROVIDERS))}"
        ) from None


def codec_for(name: str) -> ProviderCodec:
    """A fresh codec (one per stream) for a provider name; see :func:`codec_factory_for`."""
    return codec_factory_for(name)()


def provider_matrix_markdown() -> str:
    """The README's provider matrix, generated from the codecs' own capability flags (so the
    documentation cannot drift from the code)."""

    def yes(flag: bool, yes_text: str, no_text: str) -> str:
        return yes_text if flag else no_text

    rows = [
        "| Provider | `--provider` | Frame | Marks acked on clear | DTMF in | DTMF out | Hang-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, factory in PROVIDERS.items():
        if name == "auto":
            continue
        codec = factory()
        rows.append(
            f"| {codec.provider} | `{name}` | {codec.frame_ms} ms "
            f"| {yes(codec.acks_checkpoints_on_clear, 'echoed (ignored)', 'no')} "
            f"| {yes(codec.has_dtmf_events, 'events', 'detected in audio')} "
            f"| {yes(codec.supports_dtmf_out, 'native', 'in-band tones')} "
            f"| {yes(codec.supports_hangup, 'in-stream', '`hangup_client` or close')} |"
        )
    return "\n".join(rows)
