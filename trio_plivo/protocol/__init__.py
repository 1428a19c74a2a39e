"""Sans-IO stream protocols: wire messages <-> typed events, with no sockets and no trio.

This package (and :mod:`trio_plivo._format`) must never import trio, trio-websocket or
httpx; a test enforces it.
"""

from ._codec import ProviderCodec, StreamState
from ._converter import parse_extra_headers, unstructure_inbound
from ._detect import DetectingCodec
from ._events import (
    CONVERSATION_KINDS,
    Checkpoint,
    ClearAudio,
    ClearedAudio,
    ConversationKind,
    ConversationText,
    Dtmf,
    Hangup,
    InboundEvent,
    Media,
    MuteStream,
    OutboundCommand,
    PlayAudio,
    PlayedStream,
    PlayFailed,
    SendDtmf,
    SpeechStarted,
    SpeechStopped,
    Start,
    Stop,
    StreamError,
    UnknownEvent,
    UnmuteStream,
)
from ._registry import PROVIDERS, codec_factory_for, codec_for
from .browser import BrowserCloseCode, BrowserCodec
from .exotel import ExotelCodec
from .kookoo import KooKooCodec
from .plivo import PlivoCodec
from .signalwire import SignalWireCodec
from .telnyx import TelnyxCodec
from .twilio import TwilioCodec
from .vonage import VonageCodec

__all__ = [
    "PROVIDERS",
    "BrowserCloseCode",
    "BrowserCodec",
    "DetectingCodec",
    "ExotelCodec",
    "KooKooCodec",
    "SignalWireCodec",
    "TelnyxCodec",
    "TwilioCodec",
    "VonageCodec",
    "codec_factory_for",
    "codec_for",
    "CONVERSATION_KINDS",
    "Checkpoint",
    "ClearAudio",
    "ClearedAudio",
    "ConversationKind",
    "ConversationText",
    "Dtmf",
    "Hangup",
    "InboundEvent",
    "Media",
    "MuteStream",
    "OutboundCommand",
    "PlayAudio",
    "PlayFailed",
    "PlayedStream",
    "PlivoCodec",
    "ProviderCodec",
    "SendDtmf",
    "SpeechStarted",
    "SpeechStopped",
    "Start",
    "Stop",
    "StreamError",
    "StreamState",
    "UnknownEvent",
    "UnmuteStream",
    "parse_extra_headers",
    "unstructure_inbound",
]
