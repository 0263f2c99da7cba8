"""FileSink: the offline audio sink that writes a WAV or FLAC file (BlockSink pulls the pin).

Silence is held back rather than written: a run of frames that round to 0 in 16 bits is
written only when sound follows it, and `close` decides how much of a trailing run to keep. So
the file ends where the sound ends, not where the last block happened to end, and the block size
cannot change the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import numpy as np
import soundfile

from dmusd.errors import ConfigError, DmusdError
from dmusd.io.block_sink import BlockSink, BlockSource
from dmusd.kernel.clock import SampleCountClock

FORMATS = {".wav": "WAV", ".flac": "FLAC"}

__all__ = ["FORMATS", "BlockSource", "FileSink", "audio_format"]


def audio_format(path: str) -> str:
    """libsndfile's format name for a file's suffix; ConfigError naming the file if none."""
    file_format = FORMATS.get(Path(path).suffix.lower())
    if file_format is None:
        raise ConfigError(
            f"cannot tell the audio format from the suffix: use {' or '.join(FORMATS)}", key=path
        )
    return file_format


class FileSink(BlockSink):
    """Writes stereo 16-bit WAV or FLAC (chosen by the file's suffix)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: int,
        clock: SampleCountClock | None = None,
    ) -> None:
        self.path = str(path)
        file_format = audio_format(self.path)
        super().__init__(rate, clock)
        self.written = 0  # frames in the file; the rest (position - written) is held silence
        try:
            self._file = soundfile.SoundFile(
                self.path, "w", samplerate=rate, channels=2, format=file_format, subtype="PCM_16"
            )
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise DmusdError(f"cannot write the audio file: {error}", where=self.path) from None

    def _keep(self, block: np.ndarray, pcm: np.ndarray, loud_end: int) -> None:
        if loud_end:
            self._write_silence(self.position - self.written)
            self._file.write(pcm[:loud_end])  # what follows the last loud frame is held
            self.written += loud_end

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
