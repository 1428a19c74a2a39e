"""What the simulator knows about each provider: formats, defaults, ids, and its wire.

One read-only table keyed by the registry's provider names
(:data:`trio_plivo.protocol.PROVIDERS` without ``"auto"``); a test checks that the two agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, Literal

import attrs

from ..._exceptions import ConfigurationError
from ..._format import L16_8K, L16_16K, MULAW_8K, AudioFormat, Encoding
from ...protocol import BrowserCodec, ProviderCodec, codec_for
from ...protocol._registry import canonical_provider_name
from ._wire import ProviderWire, WireSetup
from ._wire_browser import BrowserWire
from ._wire_kookoo import KooKooWire
from ._wire_plivo import PlivoWire
from ._wire_twilio import ExotelWire, SignalWireWire, TelnyxWire, TwilioWire
from ._wire_vonage import VonageWire

__all__ = [
    "PHONE_PROVIDERS",
    "SIMULATED",
    "ProviderSpec",
    "app_codec_for",
    "describe_format",
    "provider_spec",
]

End = Literal["stop", "close"]

ALAW_8K: Final = AudioFormat(encoding=Encoding.ALAW, sample_rate=8000)
L16_24K: Final = AudioFormat(encoding=Encoding.L16, sample_rate=24000)


def _big(fmt: AudioFormat) -> AudioFormat:
    return attrs.evolve(fmt, byte_order="big")


def _uuid() -> str:
    return str(uuid.uuid4())


def _sid(prefix: str) -> Callable[[], str]:
    return lambda: prefix + uuid.uuid4().hex


def _digits() -> str:
    return str(uuid.uuid4().int % 10**16).rjust(16, "0")


@attrs.frozen
class ProviderSpec:
    """One provider as the simulator plays it."""

    name: str
    #: How the provider is written in prose and error messages.
    title: str
    #: The formats it streams, by their CLI names (``mulaw8k``, ``l16-16k`` ...); the
    #: default first.
    formats: Mapping[str, AudioFormat]
    default_format: AudioFormat
    #: How its calls end unless told otherwise.
    default_end: End
    wire: Callable[[WireSetup], ProviderWire]
    new_call_id: Callable[[], str]
    new_stream_id: Callable[[], str]
    #: The stream id *is* the call id (KooKoo's ``ucid``).
    stream_is_call: bool = False
    #: The provider has a stop message (``end="stop"`` is possible).
    can_stop: bool = True

    def check_format(self, fmt: AudioFormat) -> None:
        """Raise :class:`ConfigurationError` unless the provider streams ``fmt``."""
        if fmt not in self.formats.values():
            raise ConfigurationError(
                f"{self.title} streams {self.describe_formats()}, not {fmt.to_content_type()}"
                + (" big-endian" if fmt.byte_order == "big" else "")
            )

    def describe_formats(self) -> str:
        """``µ-law 8 kHz, L16 8 kHz or L16 16 kHz``."""
        names = [describe_format(fmt) for fmt in self.formats.values()]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

    def format_named(self, name: str) -> AudioFormat:
        """The format called ``name`` on the CLI, or a :class:`ConfigurationError`."""
        try:
            return self.formats[name]
        except KeyError:
            raise ConfigurationError(
                f"{self.title} streams {self.describe_formats()}: --format "
                f"{' / '.join(self.formats)}, not {name!r}"
            ) from None


def describe_format(fmt: AudioFormat) -> str:
    """``µ-law 8 kHz``, ``L16 16 kHz``, ``L16 16 kHz big-endian``."""
    kinds = {Encoding.MULAW: "µ-law", Encoding.ALAW: "A-law", Encoding.L16: "L16"}
    rate = fmt.sample_rate / 1000
    text = f"{kinds[fmt.encoding]} {rate:g} kHz"
    if fmt.encoding is Encoding.L16 and fmt.byte_order == "big":
        text += " big-endian"
    return text


def _spec(
    name: str,
    title: str,
    formats: dict[str, AudioFormat],
    wire: Callable[[WireSetup], ProviderWire],
    *,
    default: str,
    end: End = "stop",
    call_id: Callable[[], str] = _uuid,
    stream_id: Callable[[], str] = _uuid,
    stream_is_call: bool = False,
    can_stop: bool = True,
) -> ProviderSpec:
    return ProviderSpec(
        name=name,
        title=title,
        formats=MappingProxyType(formats),
        default_format=formats[default],
        default_end=end,
        wire=wire,
        new_call_id=call_id,
        new_stream_id=stream_id,
        stream_is_call=stream_is_call,
        can_stop=can_stop,
    )


#: Every simulated provider by registry name.
SIMULATED: Final[Mapping[str, ProviderSpec]] = MappingProxyType(
    {
        # Plivo documents no stop message: it closes the socket.
        "plivo": _spec(
            "plivo",
            "Plivo",
            {"mulaw8k": MULAW_8K, "l16-8k": L16_8K, "l16-16k": L16_16K},
            PlivoWire,
            default="mulaw8k",
            end="close",
        ),
        "twilio": _spec(
            "twilio",
            "Twilio",
            {"mulaw8k": MULAW_8K},
            TwilioWire,
            default="mulaw8k",
            call_id=_sid("CA"),
            stream_id=_sid("MZ"),
        ),
        "signalwire": _spec(
            "signalwire",
            "SignalWire",
            {"mulaw8k": MULAW_8K, "l16-16k": L16_16K, "l16-24k": L16_24K},
            SignalWireWire,
            default="mulaw8k",
            call_id=_sid("CA"),
            stream_id=_sid("MZ"),
        ),
        "exotel": _spec(
            "exotel",
            "Exotel",
            {"l16-8k": L16_8K, "l16-16k": L16_16K, "l16-24k": L16_24K},
            ExotelWire,
            default="l16-8k",
            call_id=lambda: uuid.uuid4().hex,
            stream_id=_sid("MZ"),
        ),
        # L16 over Telnyx is an RTP payload: network byte order, as the codec assumes.
        "telnyx": _spec(
            "telnyx",
            "Telnyx",
            {
                "mulaw8k": MULAW_8K,
                "alaw8k": ALAW_8K,
                "l16-8k": _big(L16_8K),
                "l16-16k": _big(L16_16K),
            },
            TelnyxWire,
            default="mulaw8k",
            call_id=lambda: "v3:" + uuid.uuid4().hex,
        ),
        # No stop message is documented for Vonage: the socket just closes.
        "vonage": _spec(
            "vonage",
            "Vonage",
            {"l16-16k": L16_16K, "l16-8k": L16_8K, "l16-24k": L16_24K},
            VonageWire,
            default="l16-16k",
            end="close",
            can_stop=False,
        ),
        "kookoo": _spec(
            "kookoo",
            "KooKoo",
            {"l16-8k": L16_8K},
            KooKooWire,
            default="l16-8k",
            call_id=_digits,
            stream_is_call=True,
        ),
        # The /talk page (not a phone provider: never detected, chosen by its own path).
        "browser": _spec(
            "browser",
            "The browser page",
            {
                "l16-16k": L16_16K,
                "l16-8k": L16_8K,
                "l16-24k": L16_24K,
                "l16-48k": AudioFormat(encoding=Encoding.L16, sample_rate=48000),
            },
            BrowserWire,
            default="l16-16k",
        ),
    }
)


#: The telephony providers (everything the simulator plays but the browser page).
PHONE_PROVIDERS: Final = tuple(name for name in SIMULATED if name != "browser")


def app_codec_for(name: str) -> ProviderCodec:
    """A fresh application-side codec for a simulated provider (the browser's included,
    which the provider registry leaves out: its own path selects it)."""
    return BrowserCodec() if canonical_provider_name(name) == "browser" else codec_for(name)


def provider_spec(name: str) -> ProviderSpec:
    """The spec for a provider name (case-insensitive; ``ozonetel``/``nexmo`` aliases)."""
    try:
        return SIMULATED[canonical_provider_name(name)]
    except KeyError:
        raise ConfigurationError(
            f"the simulator cannot be provider {name!r}; it plays {', '.join(SIMULATED)}"
        ) from None
