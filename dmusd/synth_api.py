"""dmusd.Synth: the synthesizer as a Python object, on the pipeline `dmusd render` plays.

A Synth holds its banks, parsed once, and renders through the same parts as the CLI: a SynthPin
(dmusd/pin/) on a sample-count clock, the song's messages fed by play_song, a BlockSink pulling
the pin (an ArraySink for numpy, a FileSink for files). Every song plays on a fresh pin, so a
Synth gives for a song what `dmusd render` gives, however many songs it played before (to
rounding: the block sizes differ, 1024 frames here and 4096 there, which moved no sample of
the dense bench song by more than 6e-7, under 16-bit resolution);
a caller rendering many files (the batch renderer, a Dask worker) pays the banks' parsing and
the engine's loading once. The first pin opens with the Synth, so a bad volume or a bank beyond
the sample budget is refused there; a later song's pin downloads only the instruments the song
can play (pin/song_programs.py), which changes no sample.

The interactive calls (note_on ... render(frames)) play on a pin of their own, with its own
timeline counted in frames from the first render (`position`); a message goes in at an exact
frame (`frame=`, default the next frame to render), so it starts at that very sample.

Errors are the project's typed errors (dmusd.errors): a bad argument is a ConfigError naming the
keyword, a bad bank a BankError naming the file and offset, a bad MIDI file a MidiFileError.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from typing import Any

import numpy as np
import soundfile

from dmusd.errors import ConfigError
from dmusd.io.array_sink import ArraySink
from dmusd.io.atomic_file import AtomicFile
from dmusd.io.file_sink import FileSink, audio_format
from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock
from dmusd.midifile import MidiSong, parse_midi_bytes, read_midi_file
from dmusd.pin import BUILTIN, ParsedBank, SynthPin, parse_bank
from dmusd.pin.song_player import EventFeed, SongFigures, feed_ahead, play_song
from dmusd.pin.song_programs import song_programs
from dmusd.render_settings import MAX_LENGTH, RenderSettings

SYSTEM_BANKS = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)
Song = str | os.PathLike[str] | bytes | Any  # a path, SMF bytes, or a mido.MidiFile


class MidiFileWarning(UserWarning):
    """A damaged MIDI file that still plays what is complete (the CLI prints these)."""


def find_bank(path: str | None) -> ParsedBank:
    """The bank named, else the built-in GM bank, else a GM bank installed on the system (the
    last two are default GM sets, whose instruments yield to user downloads)."""
    if path:
        return parse_bank(path)
    try:
        return parse_bank(BUILTIN)
    except ImportError:
        pass  # a build without the built-in GM bank
    for candidate in SYSTEM_BANKS:
        if os.path.exists(candidate):
            return parse_bank(candidate, gm=True)
    raise ConfigError("no instrument bank: give --bank FILE (a DLS, SF2 or SF3 file)", key="--bank")


def read_song(song: Song) -> MidiSong:
    """A song from a path, the bytes of a Standard MIDI File, or a mido.MidiFile, read by the
    CLI's reader (dmusd/midifile.py)."""
    if isinstance(song, str | os.PathLike):
        return read_midi_file(song)
    if isinstance(song, bytes | bytearray | memoryview):
        return parse_midi_bytes(bytes(song))
    if hasattr(song, "save") and hasattr(song, "tracks"):  # mido.MidiFile, without importing mido
        data = io.BytesIO()
        song.save(file=data)
        return parse_midi_bytes(data.getvalue(), song.filename or "<mido.MidiFile>")
    raise ConfigError(
        f"cannot play a {type(song).__name__}: give a path, SMF bytes or a mido.MidiFile",
        key="song",
    )


class Synth:
    """An offline synthesizer: banks loaded once, songs rendered to numpy arrays or files.

    banks: DLS, SF2 or SF3 files, later ones overriding earlier ones (default: the built-in GM
    bank); rate: Hz; voices: the voice budget; interpolation: "linear", "cubic" or "sinc";
    effects: reverb and chorus; volume_db: the synth volume (KSPROPERTY_SYNTH_VOLUME, -200..20,
    the synth's +6 dB boost on top); block: frames per Render call (the output depends on it
    only by rounding); sample_memory_mb: the banks' sample budget (0: from the machine's memory);
    max_length: seconds, the longest render.
    """

    def __init__(
        self,
        banks: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
        rate: int = 48000,
        voices: int = 256,
        interpolation: str = "cubic",
        effects: bool = True,
        volume_db: float = 0.0,
        *,
        block: int = 1024,
        sample_memory_mb: int = 0,
        max_length: float = MAX_LENGTH,
    ) -> None:
        if isinstance(banks, str | os.PathLike):
            banks = [banks]
        settings = RenderSettings(
            tuple(os.fspath(b) for b in banks or ()),
            rate,
            voices,
            interpolation,
            bool(effects),
            volume_db,
            block,
            sample_memory_mb,
            max_length,
        )
        settings.check()
        self._open(settings)

    @classmethod
    def from_settings(cls, settings: RenderSettings, *, ready_pin: bool = True) -> Synth:
        """A Synth from settings the caller has checked (the CLI, with its option names).
        ready_pin=False: no pin is opened ahead (for one song: its render downloads only the
        instruments it can play, song_programs.py)."""
        synth = cls.__new__(cls)
        synth._open(settings, ready_pin)
        return synth

    def _open(self, settings: RenderSettings, ready_pin: bool = True) -> None:
        self.settings = settings
        self.rate = settings.rate
        self._config = settings.pin_config()
        self._banks = [parse_bank(path) for path in settings.banks] or [find_bank(None)]
        self._live: tuple[SynthPin, ArraySink, EventFeed] | None = None
        self._spare: tuple[SynthPin, SampleCountClock] | None = None
        if ready_pin:
            self._spare = self._fresh_pin()  # and a bad volume or an oversized bank shows now

    def close(self) -> None:
        """Close the pins; the Synth can still render (it opens new ones)."""
        for pin in (self._spare, self._live):
            if pin is not None:
                pin[0].close()
        self._spare = self._live = None

    def __enter__(self) -> Synth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def banks(self) -> list[str]:
        """The banks' paths, in download order."""
        return [bank.path for bank in self._banks]

    @property
    def bank_warnings(self) -> list[str]:
        """The broken items the banks loaded without (an empty wave, a region linked to a
        missing one ...), each naming its file, chunk and offset (the CLI prints these)."""
        return [str(warning) for bank in self._banks for warning in bank.bank.warnings]

    # -- songs ------------------------------------------------------------------------------
    def render_midi(
        self, song: Song, *, progress: Callable[[float], None] | None = None
    ) -> np.ndarray:
        """A MIDI song (a path, SMF bytes or a mido.MidiFile) as float32 samples of shape
        (frames, 2): the samples `dmusd render` writes with the same settings, before their
        16-bit rounding, the length its file has (the release tails to silence included)."""
        midi = read_song(song)
        for warning in midi.warnings:
            warnings.warn(f"{_name(song)}: {warning}", MidiFileWarning, stacklevel=2)
        return self._render_array(midi.events, midi.duration, tail=True, progress=progress)

    def render_events(
        self,
        events: Iterable[tuple[float, bytes | Sequence[int] | Any]],
        seconds: float | None = None,
    ) -> np.ndarray:
        """(time in seconds, MIDI message) pairs (bytes, a list of ints or a mido.Message) as
        float32 samples of shape (frames, 2). `seconds`: exactly this long; None: until the
        sound after the last message has ended, as render_midi."""
        timed = []
        for i, (when, message) in enumerate(events):
            data = _message_bytes(message, f"events[{i}]")
            if not when >= 0:
                raise ConfigError(f"time {when} is not a time in seconds >= 0", key=f"events[{i}]")
            timed.append((_reftime(when), i, data))
        timed.sort(key=lambda event: (event[0], event[1]))
        if seconds is None:
            return self._render_array(timed, timed[-1][0] if timed else 0, tail=True)
        if not seconds >= 0:
            raise ConfigError(f"{seconds} is not a length in seconds >= 0", key="seconds")
        duration = round(seconds * REFTIME_PER_SECOND)
        return self._render_array([e for e in timed if e[0] < duration], duration, tail=False)

    def render_file(
        self,
        song: Song,
        output: str | os.PathLike[str],
        *,
        progress: Callable[[float], None] | None = None,
    ) -> SongFigures:
        """A song to a 16-bit WAV or FLAC file (by the suffix), as `dmusd render` writes it:
        under a temporary name, renamed to `output` only once complete. Returns its figures."""
        output = os.fspath(output)
        audio_format(output)  # a bad suffix is refused naming OUT, not the temporary file
        atomic = AtomicFile(output)  # a folder that cannot take it is refused before playing
        try:
            midi = song if isinstance(song, MidiSong) else read_song(song)
            pin, clock = self._take_pin(midi.events)
            with closing(pin), FileSink(atomic.path, self.rate, clock) as sink:
                figures = self._play(pin, sink, midi.events, midi.duration, True, progress)
                sink.close(figures.frames)
            atomic.commit()
        except (OSError, soundfile.SoundFileError) as error:
            atomic.discard()
            raise atomic.failure(error) from None
        except BaseException:
            atomic.discard()
            raise
        return figures

    def _render_array(self, events, duration: int, *, tail: bool, progress=None) -> np.ndarray:
        pin, clock = self._take_pin(events)
        with closing(pin):
            sink = ArraySink(self.rate, clock, -(-duration * self.rate // REFTIME_PER_SECOND))
            figures = self._play(pin, sink, events, duration, tail, progress)
            return sink.close(figures.frames)

    def _play(self, pin, sink, events, duration, tail, progress) -> SongFigures:
        settings = self.settings
        cap = round(settings.max_length * self.rate)
        return play_song(
            pin, sink, events, duration, block=settings.block, cap=cap, tail=tail,
            progress=progress,
        )  # fmt: skip

    def _fresh_pin(
        self, programs: frozenset[int] | None = None
    ) -> tuple[SynthPin, SampleCountClock]:
        """A new pin on a new sample-count clock, with the banks downloaded in order (their
        instruments of `programs` only, when given)."""
        clock = SampleCountClock(self.rate)
        pin = SynthPin(self._config, self.rate, clock, idle=False)
        try:
            for number, bank in enumerate(self._banks, 1):
                pin.download(bank, number, programs)
        except BaseException:
            pin.close()
            raise
        return pin, clock

    def _take_pin(self, events=None) -> tuple[SynthPin, SampleCountClock]:
        """The ready pin if there is one, else a new one; for a known list of (time, order,
        bytes) events, a new one holds only the instruments they can play."""
        spare, self._spare = self._spare, None
        if spare is not None:
            return spare
        return self._fresh_pin(None if events is None else song_programs(e[2] for e in events))

    # -- interactive --------------------------------------------------------------------------
    @property
    def position(self) -> int:
        """Frames rendered by render(frames) since the first call (or reset())."""
        return self._live[1].position if self._live else 0

    def reset(self) -> None:
        """Back to frame 0 on a fresh pin: every note, controller and effect tail gone."""
        if self._live is not None:
            self._live[0].close()
        self._live = None

    def send(self, message: bytes | Sequence[int] | Any, *, frame: int | None = None) -> None:
        """Any MIDI message (bytes, a list of ints, a mido.Message; SysEx too) at `frame` on
        the render() timeline (default: the next frame to render)."""
        pin, sink, feed = self._live_pin()
        data = _message_bytes(message, "message")
        if frame is None:
            frame = sink.position
        elif isinstance(frame, bool) or not isinstance(frame, int | np.integer):
            raise ConfigError(f"{frame!r} is not a frame number", key="frame")
        elif frame < sink.position:
            raise ConfigError(
                f"frame {frame} is already rendered (the next one is {sink.position})",
                key="frame",
            )
        feed.add(-(-int(frame) * REFTIME_PER_SECOND // self.rate), data)

    def note_on(self, channel: int, key: int, velocity: int = 100, *, frame: int | None = None):
        """Note on (0-based channel, key and velocity 0..127) at `frame` (default: next)."""
        self.send(_channel_message(0x90, channel, key=key, velocity=velocity), frame=frame)

    def note_off(self, channel: int, key: int, velocity: int = 0, *, frame: int | None = None):
        self.send(_channel_message(0x80, channel, key=key, velocity=velocity), frame=frame)

    def control_change(self, channel: int, control: int, value: int, *, frame: int | None = None):
        self.send(_channel_message(0xB0, channel, control=control, value=value), frame=frame)

    def program_change(self, channel: int, program: int, *, frame: int | None = None):
        self.send(_channel_message(0xC0, channel, program=program), frame=frame)

    def pitch_bend(self, channel: int, value: int, *, frame: int | None = None):
        """value -8192..8191 (0: centre)."""
        if not -8192 <= value <= 8191:
            raise ConfigError(f"pitch bend {value} is outside -8192..8191", key="value")
        bend = value + 8192
        self.send(_channel_message(0xE0, channel, lsb=bend & 0x7F, msb=bend >> 7), frame=frame)

    def render(self, frames: int) -> np.ndarray:
        """The next `frames` frames of the interactive timeline, float32 of shape (frames, 2)."""
        if isinstance(frames, bool) or not isinstance(frames, int | np.integer) or frames < 0:
            raise ConfigError(f"{frames!r} is not a number of frames >= 0", key="frames")
        pin, sink, feed = self._live_pin()
        ahead = feed_ahead(self.settings.block, self.rate)
        end = sink.position + int(frames)
        while sink.position < end:
            feed.feed(pin, sink.clock.GetTime() + ahead)
            sink.pull(pin, min(self.settings.block, end - sink.position))
        return sink.take()

    def _live_pin(self) -> tuple[SynthPin, ArraySink, EventFeed]:
        if self._live is None:
            pin, clock = self._take_pin()
            self._live = (pin, ArraySink(self.rate, clock), EventFeed())
        return self._live


def render_midi(song: Song, **settings: Any) -> np.ndarray:
    """Synth(**settings).render_midi(song): one song with a synth of its own."""
    with Synth(**settings) as synth:
        return synth.render_midi(song)


def render_events(
    events: Iterable[tuple[float, Any]], seconds: float | None = None, **settings: Any
) -> np.ndarray:
    """Synth(**settings).render_events(events, seconds)."""
    with Synth(**settings) as synth:
        return synth.render_events(events, seconds)


def _name(song: Song) -> str:
    if isinstance(song, str | os.PathLike):
        return os.fspath(song)
    return getattr(song, "filename", None) or "<midi>"


def _reftime(seconds: float) -> int:
    """Seconds as 100 ns, rounded up as the MIDI file reader rounds (the sample clock floors:
    a time that is a whole sample stays on that sample)."""
    return math.ceil(round(seconds * REFTIME_PER_SECOND, 3))  # t / 1e7 * 1e7 gives t back


def _message_bytes(message: Any, key: str) -> bytes:
    if hasattr(message, "bytes") and callable(message.bytes):  # mido.Message
        message = message.bytes()
    try:
        data = bytes(message)
    except (TypeError, ValueError):
        raise ConfigError(f"{message!r} is not a MIDI message (bytes)", key=key) from None
    if not data or data[0] < 0x80:
        raise ConfigError(f"{data.hex(' ') or 'nothing'} does not start with a status byte",
                          key=key)  # fmt: skip
    return data


def _channel_message(status: int, channel: int, **data: int) -> bytes:
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= 15:
        raise ConfigError(f"channel {channel!r} is outside 0..15", key="channel")
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127:
            raise ConfigError(f"{name} {value!r} is outside 0..127", key=name)
    return bytes((status | channel, *data.values()))


__all__ = [
    "MidiFileWarning",
    "Synth",
    "find_bank",
    "read_song",
    "render_events",
    "render_midi",
]
