"""The real path for the control-logic tests: a Standard MIDI File written with mido, a bank
file, `dmusd render` run as the CLI runs it, and the audio read back and measured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from bench.fluidsynth26 import command as fluidsynth26
from dmusd.cli import main

from .audio import cents, zero_crossing_frequency
from .test_stream import cc, key_hz, note_off, note_on

__all__ = ["cc", "note_off", "note_on"]  # the message helpers the render tests share

RATE = 48000
TICKS_PER_SECOND = 960  # 480 ticks a beat at 120 bpm


def write_song(path: Path, events: list[tuple[float, bytes]]) -> Path:
    """A format 0 file from (seconds, message bytes); SysEx as F0 ... F7."""
    track, now = mido.MidiTrack(), 0
    for seconds, data in sorted(events, key=lambda e: e[0]):
        tick = round(seconds * TICKS_PER_SECOND)
        if data[0] == 0xF0:
            msg = mido.Message("sysex", data=list(data[1:-1]))
        else:
            msg = mido.Message.from_bytes(list(data))
        track.append(msg.copy(time=tick - now))
        now = tick
    song = mido.MidiFile(type=0, ticks_per_beat=480)
    song.tracks.append(track)
    song.save(path)
    return path


def render(tmp_path: Path, bank: Path, events, *options, name: str = "song") -> np.ndarray:
    """Render the events with `dmusd render` (no effects); the left channel, checked to have
    rendered cleanly (exit 0, no limiter)."""
    song = write_song(tmp_path / f"{name}.mid", events)
    out = tmp_path / f"{name}.wav"
    code = main(["render", str(song), "-o", str(out), "--bank", str(bank), "--no-effects",
                 *map(str, options)])  # fmt: skip
    assert code == 0
    x, rate = sf.read(out)
    assert rate == RATE
    return x[:, 0]


def fluid_render(tmp_path: Path, bank: Path, events) -> np.ndarray:
    """The same events rendered by FluidSynth 2.6 (no effects, low gain); the left channel."""
    song = write_song(tmp_path / "fluid.mid", events)
    out = tmp_path / "fluid.wav"
    subprocess.run(
        [*fluidsynth26(), "-ni", "-q", "-g", "0.2", "-r", str(RATE), "-F", str(out),
         "-o", "synth.reverb.active=0", "-o", "synth.chorus.active=0",
         "-o", "audio.file.format=float", str(bank), str(song)],
        check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    x, rate = sf.read(out)
    assert rate == RATE
    return x[:, 0]


def span(x: np.ndarray, start: float, end: float) -> np.ndarray:
    return x[int(start * RATE) : int(end * RATE)]


def pitch_at(x: np.ndarray, start: float, end: float, key: float) -> float:
    """Cents between the signal's pitch over [start, end) s and `key`."""
    return cents(zero_crossing_frequency(span(x, start, end), RATE), key_hz(key))


def level_db(x: np.ndarray, start: float, end: float) -> float:
    """RMS level over [start, end) s, dB."""
    part = span(x, start, end)
    return float(20.0 * np.log10(np.sqrt(np.mean(part * part)) + 1e-12))


def program(number: int, ch: int = 0) -> bytes:
    return bytes([0xC0 | ch, number])


def rpn(number: int, msb: int, lsb: int | None = None, ch: int = 0) -> list[bytes]:
    """RPN select, data entry MSB (and LSB), then the null RPN."""
    out = [cc(101, number >> 7, ch), cc(100, number & 0x7F, ch), cc(6, msb, ch)]
    if lsb is not None:
        out.append(cc(38, lsb, ch))
    return [*out, cc(101, 127, ch), cc(100, 127, ch)]


def nrpn(msb: int, lsb: int, data_msb: int, data_lsb: int | None = None, ch: int = 0) -> list:
    """NRPN select then data entry (LSB first when given, as SF2.01 NRPNs are sent)."""
    out = [cc(99, msb, ch), cc(98, lsb, ch)]
    if data_lsb is not None:
        out.append(cc(38, data_lsb, ch))
    return [*out, cc(6, data_msb, ch)]


def at(seconds: float, messages: list[bytes]) -> list[tuple[float, bytes]]:
    return [(seconds, m) for m in messages]


GM_ON = bytes.fromhex("f07e7f0901f7")
GM2_ON = bytes.fromhex("f07e7f0903f7")
GS_RESET = bytes.fromhex("f04110421240007f0041f7")
XG_ON = bytes.fromhex("f043104c00007e00f7")


def master_coarse(semitones: int) -> bytes:
    return bytes([0xF0, 0x7F, 0x7F, 0x04, 0x04, 0x00, 64 + semitones, 0xF7])


def master_fine(cents_: float) -> bytes:
    value = round(8192 + cents_ * 8192 / 100)
    return bytes([0xF0, 0x7F, 0x7F, 0x04, 0x03, value & 0x7F, value >> 7, 0xF7])
