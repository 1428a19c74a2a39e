"""Type aliases shared by the audio modules."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

#: Anything the codecs accept as raw bytes (frames arrive as ``bytes``; WAV data may be views).
BytesLike: TypeAlias = bytes | bytearray | memoryview

#: Mono PCM16 samples in native byte order, shape ``(n,)``.
Int16Array: TypeAlias = npt.NDArray[np.int16]
