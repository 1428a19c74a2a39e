"""Audio for phone calls: G.711 codecs, L16, resampling, framing, WAV, DTMF, recording.

Pure and synchronous: no trio, no network; the only I/O is files (WAV, recordings, event logs).
Samples are PCM16: ``bytes`` are little-endian unless an :class:`~trio_plivo.AudioFormat` says
otherwise, numpy arrays are native-order ``int16``.

The call's two paths::

    playback  app PCM16 (any rate) -> WireEncoder -> Framer -> 20 ms wire frames
    inbound   wire frame -> WireDecoder -> PCM16 at the rate STT/VAD wants
"""

from __future__ import annotations

from ._convert import WireDecoder, WireEncoder, convert, decode_wire, encode_wire
from ._demo import demo_caller_audio
from ._dtmf import DTMF_DIGITS, DtmfDetector, DtmfPress, dtmf_tones
from ._eventlog import JsonlEventLog
from ._framing import Framer, silence_byte
from ._g711 import (
    alaw_to_pcm16,
    decode_alaw,
    decode_mulaw,
    encode_alaw,
    encode_mulaw,
    mulaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_mulaw,
)
from ._pcm import ByteOrder, downmix, pcm16_from_bytes, pcm16_to_bytes
from ._recorder import StereoRecorder
from ._resample import Quality, Resampler, resample
from ._types import BytesLike, Int16Array
from ._wav import WavAudio, WavSource, WavWriter, read_wav, write_wav

__all__ = [
    # G.711
    "alaw_to_pcm16",
    "decode_alaw",
    "decode_mulaw",
    "encode_alaw",
    "encode_mulaw",
    "mulaw_to_pcm16",
    "pcm16_to_alaw",
    "pcm16_to_mulaw",
    # L16 and samples
    "ByteOrder",
    "BytesLike",
    "Int16Array",
    "downmix",
    "pcm16_from_bytes",
    "pcm16_to_bytes",
    # resampling
    "Quality",
    "Resampler",
    "resample",
    # framing
    "Framer",
    "silence_byte",
    # call-path conversion
    "WireDecoder",
    "WireEncoder",
    "convert",
    "decode_wire",
    "encode_wire",
    # WAV
    "WavAudio",
    "WavSource",
    "WavWriter",
    "demo_caller_audio",
    "read_wav",
    "write_wav",
    # DTMF
    "DTMF_DIGITS",
    "DtmfDetector",
    "DtmfPress",
    "dtmf_tones",
    # recording
    "JsonlEventLog",
    "StereoRecorder",
]
