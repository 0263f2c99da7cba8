"""FileSink: the offline audio sink. It pulls audio from a synth's ISynthSinkDMus block by block,
writes it to a WAV or FLAC file, and drives the master clock.

The port's wave sink does the same live with the audio device: before each block it calls
SyncToMaster with the stream position (fStart on the first block), then Render into a zeroed
buffer, then advances the master clock by the frames it wrote. Offline, the master clock is a
SampleCountClock, so every time in the run follows from the sample count alone and the same
input gives the same file, bit for bit.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import numpy as np
import soundfile

from dmusd.errors import ConfigError, DmusdError
from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock
from dmusd.kernel.miniport import ISynthSinkDMus

FORMATS = {".wav": "WAV", ".flac": "FLAC"}


class FileSink:
    """Writes stereo 16-bit WAV or FLAC (chosen by the file's suffix)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: int,
        clock: SampleCountClock | None = None,
        subtype: str = "PCM_16",
    ) -> None:
        self.path = str(path)
        file_format = FORMATS.get(Path(self.path).suffix.lower())
        if file_format is None:
            raise ConfigError(
                f"cannot tell the audio format from the suffix: use {' or '.join(FORMATS)}",
                key=self.path,
            )
        self.rate = rate
        self.clock = clock if clock is not None else SampleCountClock(rate)
        self.position = 0  # frames written
        self.peak = 0.0  # largest |sample| before clipping
        self.clipped = 0  # samples outside -1..1, clipped
        self._buffer = np.zeros((0, 2), dtype=np.float32)
        try:
            self._file = soundfile.SoundFile(
                self.path, "w", samplerate=rate, channels=2, format=file_format, subtype=subtype
            )
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise DmusdError(f"cannot write the audio file: {error}", where=self.path) from None

    def pull(self, synth: ISynthSinkDMus, frames: int) -> np.ndarray:
        """Render `frames` frames from `synth`, write them, advance the clock. Returns the block
        (a view of an internal buffer, valid until the next call)."""
        if self._buffer.shape[0] < frames:
            self._buffer = np.zeros((frames, 2), dtype=np.float32)
        block = self._buffer[:frames]
        block.fill(0.0)
        synth.SyncToMaster(self.position * REFTIME_PER_SECOND // self.rate, self.position == 0)
        synth.Render(block, frames, self.position)
        peak = float(np.max(np.abs(block))) if frames else 0.0
        self.peak = max(self.peak, peak)
        if peak > 1.0:
            self.clipped += int(np.count_nonzero(np.abs(block) > 1.0))
            np.clip(block, -1.0, 1.0, out=block)
        self._file.write(block)
        self.position += frames
        self.clock.advance(frames)
        return block

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FileSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
