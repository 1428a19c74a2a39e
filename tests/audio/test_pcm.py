"""L16 byte order and channel helpers."""

from __future__ import annotations

import numpy as np
import pytest

from trio_plivo import ConfigurationError
from trio_plivo.audio import downmix, pcm16_from_bytes, pcm16_to_bytes


def test_little_endian_is_the_default() -> None:
    samples = pcm16_from_bytes(b"\x01\x02\xff\xff")
    assert samples.tolist() == [0x0201, -1]
    assert pcm16_to_bytes(np.array([0x0201, -2], dtype=np.int16)) == b"\x01\x02\xfe\xff"


def test_big_endian_option() -> None:
    samples = pcm16_from_bytes(b"\x01\x02\xff\xfe", "big")
    assert samples.tolist() == [0x0102, -2]
    assert samples.dtype == np.int16
    assert samples.dtype.isnative
    assert pcm16_to_bytes(samples, "big") == b"\x01\x02\xff\xfe"
    assert pcm16_to_bytes(samples, "little") == b"\x02\x01\xfe\xff"


def test_bad_byte_order_and_odd_length() -> None:
    with pytest.raises(ConfigurationError, match="byte_order"):
        pcm16_from_bytes(b"\x00\x00", "middle")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="even"):
        pcm16_from_bytes(b"\x00")


def test_downmix_averages_and_rounds() -> None:
    stereo = np.array([100, 300, -32768, -32768, 32767, 32767, 1, 2], dtype=np.int16)
    assert downmix(stereo, 2).tolist() == [200, -32768, 32767, 2]  # 1.5 rounds to even
    mono = np.array([5, 6], dtype=np.int16)
    assert downmix(mono, 1) is mono
    with pytest.raises(ConfigurationError):
        downmix(np.zeros(3, dtype=np.int16), 2)
