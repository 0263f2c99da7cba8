"""PCM sample conversion, vectorised: file bytes <-> float32 in -1..1.

8-bit PCM is unsigned (WAVE convention), 16/24/32-bit is signed little endian, and 32-bit may also
be IEEE float. Scaling by a power of two keeps integer samples exact, so 8/16/24-bit data written
back at its own depth is bit-identical.
"""

from __future__ import annotations

import numpy as np

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def decode(
    data: bytes | memoryview, bits: int, channels: int = 1, is_float: bool = False
) -> np.ndarray:
    """Interleaved sample bytes -> float32 array of shape (frames, channels).

    A trailing partial frame is dropped; the caller has already checked `bits`.
    """
    width = bits // 8
    frames = len(data) // (width * channels)
    count = frames * channels
    if is_float:
        dtype = "<f4" if bits == 32 else "<f8"
        out = np.frombuffer(data, dtype=dtype, count=count).astype(np.float32)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(out, -1.0, 1.0, out=out)
    elif bits == 8:
        out = np.frombuffer(data, dtype=np.uint8, count=count).astype(np.float32)
        out -= 128.0
        out *= 1.0 / 128.0
    elif bits == 16:
        out = np.frombuffer(data, dtype="<i2", count=count).astype(np.float32)
        out *= 1.0 / 32768.0
    elif bits == 24:
        raw = np.frombuffer(data, dtype=np.uint8, count=count * 3).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | raw[:, 1] << 8 | raw[:, 2] << 16
        value -= (value & 0x800000) << 1  # sign-extend
        out = value.astype(np.float32)
        out *= 1.0 / 8388608.0
    elif bits == 32:
        out = np.frombuffer(data, dtype="<i4", count=count).astype(np.float64)
        out = (out * (1.0 / 2147483648.0)).astype(np.float32)
    else:
        raise ValueError(f"unsupported PCM depth {bits}")
    return out.reshape(frames, channels)


def encode(samples: np.ndarray, bits: int) -> bytes:
    """float32 samples (any shape, interleaved order) -> PCM bytes at `bits` (8/16/24 integer,
    32 = IEEE float)."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if bits == 8:
        return (np.clip(np.rint(x * 128.0), -128, 127) + 128).astype(np.uint8).tobytes()
    if bits == 16:
        return np.clip(np.rint(x * 32768.0), -32768, 32767).astype("<i2").tobytes()
    if bits == 24:
        v = np.clip(np.rint(x.astype(np.float64) * 8388608.0), -8388608, 8388607).astype("<i4")
        return v.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    if bits == 32:
        return x.astype("<f4").tobytes()
    raise ValueError(f"unsupported PCM depth {bits}")


def format_tag_for(bits: int) -> int:
    """The wFormatTag `encode` produces at a depth."""
    return WAVE_FORMAT_IEEE_FLOAT if bits == 32 else WAVE_FORMAT_PCM
