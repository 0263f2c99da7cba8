"""FileSink: the offline audio sink. It pulls audio from a synth pin block by block, writes it to a
WAV or FLAC file, and drives the master clock.

The audio sink does the same live with the audio device: each block it has the pin render into
a zeroed buffer at the output's frame position and master time (the pin calls SyncToMaster,
fStart on the first block, then its stream's Render), then the master clock moves on by the
frames written. Offline, the master clock is a
SampleCountClock, so every time in the run follows from the sample count alone and the same
input gives the same file, bit for bit.

Silence is held back rather than written: a run of frames that round to 0 in 16 bits is
written only when sound follows it, and `close` decides how
much of a trailing run to keep. So the file ends where the sound ends, not where the last block
happened to end, and the block size cannot change the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np
import soundfile

from dmusd.errors import ConfigError, DmusdError
from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock

FORMATS = {".wav": "WAV", ".flac": "FLAC"}
SILENCE = 0.5 / 32768.0  # below half a 16-bit step: stored as 0


def audio_format(path: str) -> str:
    """libsndfile's format name for a file's suffix; ConfigError naming the file if none."""
    file_format = FORMATS.get(Path(path).suffix.lower())
    if file_format is None:
        raise ConfigError(
            f"cannot tell the audio format from the suffix: use {' or '.join(FORMATS)}", key=path
        )
    return file_format


class BlockSource(Protocol):
    """What a sink pulls: a synth pin (dmusd/pin/synth_pin.py)."""

    def render(
        self, buffer: np.ndarray, frames: int, position: int, t: int, start: bool
    ) -> None: ...


class FileSink:
    """Writes stereo 16-bit WAV or FLAC (chosen by the file's suffix)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: int,
        clock: SampleCountClock | None = None,
    ) -> None:
        self.path = str(path)
        file_format = audio_format(self.path)
        self.rate = rate
        self.clock = clock if clock is not None else SampleCountClock(rate)
        self.position = 0  # frames rendered
        self.written = 0  # frames in the file; the rest (position - written) is held silence
        self.peak = 0.0  # largest |sample| before clipping
        self.clipped = 0  # samples outside the 16-bit range, clipped
        self._buffer = np.zeros((0, 2), dtype=np.float32)
        self._pcm = np.zeros((0, 2), dtype=np.int16)
        try:
            self._file = soundfile.SoundFile(
                self.path, "w", samplerate=rate, channels=2, format=file_format, subtype="PCM_16"
            )
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise DmusdError(f"cannot write the audio file: {error}", where=self.path) from None

    def pull(self, source: BlockSource, frames: int) -> np.ndarray:
        """Render `frames` frames from `source`, write them (or hold them if silent), advance the
        clock. Returns the block (a view of an internal buffer, valid until the next call)."""
        if self._buffer.shape[0] < frames:
            self._buffer = np.zeros((frames, 2), dtype=np.float32)
            self._pcm = np.zeros((frames, 2), dtype=np.int16)
        block, pcm = self._buffer[:frames], self._pcm[:frames]
        block.fill(0.0)
        t = self.position * REFTIME_PER_SECOND // self.rate
        source.render(block, frames, self.position, t, self.position == 0)
        if frames:
            self.peak = max(self.peak, float(np.max(np.abs(block))))
        # Our own rounding to 16 bits (libsndfile floors): a sample under half a step is 0.
        scaled = np.rint(block * 32768.0)
        self.clipped += int(np.count_nonzero((scaled > 32767.0) | (scaled < -32768.0)))
        np.clip(scaled, -32768.0, 32767.0, out=scaled)
        pcm[:] = scaled
        loud = np.nonzero(pcm.any(axis=1))[0]
        if loud.size:
            last = int(loud[-1])
            self._write_silence(self.position - self.written)
            self._file.write(pcm[: last + 1])  # what follows the last loud frame is held
            self.written += last + 1
        self.position += frames
        self.clock.advance(frames)
        return block

    @property
    def sound_end(self) -> int:
        """The frame after the last one with sound in it."""
        return self.written

    def _write_silence(self, frames: int) -> None:
        zeros = np.zeros((min(max(frames, 0), 65536), 2), dtype=np.int16)
        while frames > 0:
            n = min(frames, zeros.shape[0])
            self._file.write(zeros[:n])
            frames -= n
            self.written += n

    def close(self, length: int | None = None) -> None:
        """Finish the file, `length` frames long if that is more than the sound (default: end
        where the sound ends); frames after the sound are written as zeros."""
        if length is not None:
            self._write_silence(length - self.written)
        self._file.close()

    def __enter__(self) -> FileSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._file.close()
