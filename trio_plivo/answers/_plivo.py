"""Plivo XML verbs: immutable values that validate when built and render with ElementTree.

Every verb is a frozen attrs class taking snake_case keywords with Python types (``bool``,
``int``, :class:`~trio_plivo.AudioFormat`, ``dict``). Unset (``None``) attributes are left out
of the XML so Plivo's own defaults apply. Text and attribute values are escaped by
:mod:`xml.etree.ElementTree`; nothing is assembled by string concatenation, so a caller name
or a query string full of ``&`` and ``<`` cannot break (or inject into) the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import ClassVar, Final, TypeAlias

import attrs

from .._exceptions import ConfigurationError
from .._format import L16_8K, AudioFormat
from ._plivo_options import (
    check_audio_track,
    check_http_url,
    check_int,
    check_method,
    check_stream_url,
    encode_extra_headers,
    normalise_content_type,
)

__all__ = ["Hangup", "Play", "Redirect", "Response", "Speak", "Stream", "Verb", "Wait"]

_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>'
_HANGUP_REASONS: Final = ("rejected", "busy")


# --- checks for optional keywords: None passes through, anything else is validated -----------


def _opt_bool(value: bool | None, what: str) -> bool | None:
    # "false" is truthy: a string here is a bug that would silently flip the meaning.
    if value is not None and not isinstance(value, bool):
        raise ConfigurationError(f"{what} must be True or False, got {value!r}")
    return value


def _opt_int(value: int | None, what: str, *, low: int, high: int | None = None) -> int | None:
    return None if value is None else check_int(value, what, low=low, high=high)


def _opt_method(value: str | None, what: str) -> str | None:
    return None if value is None else check_method(value, what)


def _opt_http_url(value: str | None, what: str) -> str | None:
    return None if value is None else check_http_url(value, what)


def _opt_text(value: str | None, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigurationError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _xml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(tag: str, text: str | None, attributes: Mapping[str, object]) -> ET.Element:
    element = ET.Element(tag)
    for name, value in attributes.items():
        if value is not None:
            element.set(name, _xml_value(value))
    element.text = text
    return element


# --- verbs ------------------------------------------------------------------------------------


@attrs.frozen(init=False)
class Stream:
    """``<Stream>``: fork the call's audio to a WebSocket (the ws/wss URL is the element text).

    For a voice agent use ``bidirectional=True, keep_call_alive=True`` and set
    ``content_type`` explicitly (Plivo's documented default is L16 at 8 kHz, some of its own
    pages say mu-law; being explicit removes the doubt). ``content_type`` takes an
    :class:`~trio_plivo.AudioFormat` or its string form, ``extra_headers`` a ``dict`` or a
    ``"k=v,k=v"`` string. Attributes hold the values as they will be rendered.
    """

    url: str
    bidirectional: bool | None
    audio_track: str | None
    stream_timeout: int | None
    status_callback_url: str | None
    status_callback_method: str | None
    content_type: str | None
    extra_headers: str | None
    keep_call_alive: bool | None
    noise_cancellation: bool | None
    noise_cancellation_level: int | None

    def __init__(
        self,
        url: str,
        *,
        bidirectional: bool | None = None,
        audio_track: str | None = None,
        stream_timeout: int | None = None,
        status_callback_url: str | None = None,
        status_callback_method: str | None = None,
        content_type: AudioFormat | str | None = None,
        extra_headers: Mapping[str, str] | str | None = None,
        keep_call_alive: bool | None = None,
        noise_cancellation: bool | None = None,
        noise_cancellation_level: int | None = None,
    ) -> None:
        bidirectional = _opt_bool(bidirectional, "bidirectional")
        if audio_track is not None:
            check_audio_track(audio_track, bidirectional=bidirectional)
        noise_cancellation = _opt_bool(noise_cancellation, "noise_cancellation")
        level = _opt_int(noise_cancellation_level, "noise_cancellation_level", low=60, high=100)
        if level is not None and not noise_cancellation:
            raise ConfigurationError(
                "noise_cancellation_level is only used with noise_cancellation=True"
            )
        self.__attrs_init__(
            url=check_stream_url(url),
            bidirectional=bidirectional,
            audio_track=audio_track,
            stream_timeout=_opt_int(stream_timeout, "stream_timeout", low=1),
            status_callback_url=_opt_http_url(status_callback_url, "status_callback_url"),
            status_callback_method=_opt_method(status_callback_method, "status_callback_method"),
            content_type=None if content_type is None else normalise_content_type(content_type),
            # An empty dict means "no extra headers", not an empty attribute.
            extra_headers=(None if extra_headers is None else encode_extra_headers(extra_headers))
            or None,
            keep_call_alive=_opt_bool(keep_call_alive, "keep_call_alive"),
            noise_cancellation=noise_cancellation,
            noise_cancellation_level=level,
        )

    @property
    def audio_format(self) -> AudioFormat:
        """The format Plivo will stream (its documented default when ``content_type`` is unset),
        to cross-check against the ``start`` frame's ``mediaFormat``."""
        if self.content_type is None:
            return L16_8K
        return AudioFormat.from_content_type(self.content_type)

    def _to_element(self) -> ET.Element:
        return _element(
            "Stream",
            self.url,
            {
                "bidirectional": self.bidirectional,
                "audioTrack": self.audio_track,
                "streamTimeout": self.stream_timeout,
                "statusCallbackUrl": self.status_callback_url,
                "statusCallbackMethod": self.status_callback_method,
                "contentType": self.content_type,
                "extraHeaders": self.extra_headers,
                "keepCallAlive": self.keep_call_alive,
                "noiseCancellation": self.noise_cancellation,
                "noiseCancellationLevel": self.noise_cancellation_level,
            },
        )


@attrs.frozen(init=False)
class Speak:
    """``<Speak>``: text-to-speech. ``loop=0`` repeats until the call moves on."""

    text: str
    voice: str | None
    language: str | None
    loop: int | None

    def __init__(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        loop: int | None = None,
    ) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError(f"Speak needs non-empty text, got {text!r}")
        self.__attrs_init__(
            text=text,
            voice=_opt_text(voice, "voice"),
            language=_opt_text(language, "language"),
            loop=_opt_int(loop, "loop", low=0),
        )

    def _to_element(self) -> ET.Element:
        return _element(
            "Speak", self.text, {"voice": self.voice, "language": self.language, "loop": self.loop}
        )


@attrs.frozen(init=False)
class Play:
    """``<Play>``: play an audio file from an http(s) URL. ``loop=0`` repeats forever."""

    url: str
    loop: int | None

    def __init__(self, url: str, *, loop: int | None = None) -> None:
        self.__attrs_init__(
            url=check_http_url(url, "the Play URL"), loop=_opt_int(loop, "loop", low=0)
        )

    def _to_element(self) -> ET.Element:
        return _element("Play", self.url, {"loop": self.loop})


@attrs.frozen(init=False)
class Wait:
    """``<Wait>``: pause ``length`` seconds; with ``silence=True`` end early on silence
    (``min_silence`` in milliseconds); ``beep=True`` beeps at the end (voicemail)."""

    length: int | None
    silence: bool | None
    min_silence: int | None
    beep: bool | None

    def __init__(
        self,
        *,
        length: int | None = None,
        silence: bool | None = None,
        min_silence: int | None = None,
        beep: bool | None = None,
    ) -> None:
        silence = _opt_bool(silence, "silence")
        min_silence = _opt_int(min_silence, "min_silence", low=1)
        if min_silence is not None and not silence:
            raise ConfigurationError("min_silence is only used with silence=True")
        self.__attrs_init__(
            length=_opt_int(length, "length", low=1),
            silence=silence,
            min_silence=min_silence,
            beep=_opt_bool(beep, "beep"),
        )

    def _to_element(self) -> ET.Element:
        return _element(
            "Wait",
            None,
            {
                "length": self.length,
                "silence": self.silence,
                "minSilence": self.min_silence,
                "beep": self.beep,
            },
        )


@attrs.frozen(init=False)
class Hangup:
    """``<Hangup>``: end the call now, or ``schedule`` seconds from now; ``reason`` rejects an
    unanswered call as ``"rejected"`` or ``"busy"``."""

    reason: str | None
    schedule: int | None

    def __init__(self, *, reason: str | None = None, schedule: int | None = None) -> None:
        if reason is not None and reason not in _HANGUP_REASONS:
            raise ConfigurationError(
                f"Hangup reason must be one of {_HANGUP_REASONS}, got {reason!r}"
            )
        self.__attrs_init__(reason=reason, schedule=_opt_int(schedule, "schedule", low=1))

    def _to_element(self) -> ET.Element:
        return _element("Hangup", None, {"reason": self.reason, "schedule": self.schedule})


@attrs.frozen(init=False)
class Redirect:
    """``<Redirect>``: fetch the next XML document from ``url``."""

    url: str
    method: str | None

    def __init__(self, url: str, *, method: str | None = None) -> None:
        self.__attrs_init__(
            url=check_http_url(url, "the Redirect URL"),
            method=_opt_method(method, "Redirect method"),
        )

    def _to_element(self) -> ET.Element:
        return _element("Redirect", self.url, {"method": self.method})


#: Any verb a :class:`Response` may contain.
Verb: TypeAlias = Stream | Speak | Play | Wait | Hangup | Redirect
_VERBS: Final = (Stream, Speak, Play, Wait, Hangup, Redirect)


@attrs.frozen(init=False)
class Response:
    """A Plivo XML document: ``Response(Speak("Hi"), Stream("wss://..."))``.

    ``str(response)`` and :meth:`to_xml` give the document with its XML declaration; serve it
    with :attr:`media_type`.
    """

    media_type: ClassVar[str] = "application/xml"

    verbs: tuple[Verb, ...]

    def __init__(self, *verbs: Verb) -> None:
        for verb in verbs:
            if not isinstance(verb, _VERBS):
                raise ConfigurationError(
                    f"Response takes Stream, Speak, Play, Wait, Hangup or Redirect, "
                    f"got {type(verb).__name__}"
                )
        self.__attrs_init__(verbs=tuple(verbs))

    def to_element(self) -> ET.Element:
        """The document as an ElementTree element (for embedding or inspection)."""
        root = ET.Element("Response")
        root.extend(verb._to_element() for verb in self.verbs)
        return root

    def to_xml(self) -> str:
        """The document as text, starting with ``<?xml version="1.0" encoding="UTF-8"?>``."""
        return _DECLARATION + ET.tostring(self.to_element(), encoding="unicode")

    def __str__(self) -> str:
        return self.to_xml()
