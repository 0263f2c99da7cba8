"""The two renderers of the fidelity suite, run the same way on the same input.

dmusd renders through its whole pipeline (`dmusd.commands.render.render_song`, as the CLI does);
the reference is FluidSynth 2.6.0 (../shared/tools/fluidsynth-2.6/, bench/fluidsynth26.py: the
newest release, with its native DLS loader) through its own file renderer (`fluidsynth -F`), in
32-bit float so its output is neither clipped nor dithered (this build has no output limiter
setting; the limiter is off by default in the source). Both run with reverb and chorus off: a
note's level, pitch and envelope are then the voice's alone.
(Debian's FluidSynth 2.3.1 stays the reference of the live JACK bench, bench/live.py.)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import subprocess
from pathlib import Path

import numpy as np
import soundfile
from fluidsynth26 import command as fluidsynth26_command

from dmusd.commands.render import render_song

# dmusd renders at its default level (volume 0) unless that clips its 16-bit file; then again
# at a volume that leaves 1 dB of headroom (the analysis takes the volume back out).
DMUSD_VOLUME_DB = 0.0
FLUID_GAIN = 1.0  # FluidSynth's -g: unity, so its levels read directly in dBFS


def render_dmusd(song: Path, out: Path, bank: Path | list[Path], rate: int) -> dict[str, float]:
    """Renders (a list of banks stacks them, as `--bank A --bank B`); the figures include
    `volume`, the synth volume (dB) the file was made at."""
    figures = _render_dmusd(song, out, bank, rate, DMUSD_VOLUME_DB)
    if figures["clipped"]:
        volume = DMUSD_VOLUME_DB - 20 * math.log10(figures["peak"]) - 1.0
        figures = _render_dmusd(song, out, bank, rate, volume)
    return figures


def _render_dmusd(
    song: Path, out: Path, bank: Path | list[Path], rate: int, volume: float
) -> dict[str, float]:
    args = argparse.Namespace(
        song=str(song),
        output=str(out),
        bank=[str(b) for b in (bank if isinstance(bank, list) else [bank])],
        rate=rate,
        block=1024,
        voices=256,
        interp="cubic",
        no_effects=True,
        volume=volume,
        sample_memory=0,
    )
    with contextlib.redirect_stderr(io.StringIO()):
        figures = render_song(args)
    figures["volume"] = volume
    return figures


_REFERENCE: list[str] = []  # FluidSynth 2.6's argv prefix, made once per run


def reference_argv() -> list[str]:
    if not _REFERENCE:
        _REFERENCE.extend(fluidsynth26_command())
    return list(_REFERENCE)


def fluidsynth_command(song: Path, out: Path, bank: Path, rate: int) -> list[str]:
    return [
        *reference_argv(),
        "-ni",
        "-q",
        "-g",
        str(FLUID_GAIN),
        "-r",
        str(rate),
        "-F",
        str(out),
        "-o",
        "synth.reverb.active=0",
        "-o",
        "synth.chorus.active=0",
        "-o",
        "audio.file.format=float",
        "-o",
        "synth.cpu-cores=1",
        str(bank),
        str(song),
    ]


def start_fluidsynth(song: Path, out: Path, bank: Path, rate: int) -> subprocess.Popen:
    """Starts FluidSynth 2.6 in the background (it runs beside dmusd on the second core)."""
    return subprocess.Popen(
        fluidsynth_command(song, out, bank, rate),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return data, rate


def convert_to_dls(bank: Path, out: Path) -> None:
    """`dmusd bank convert BANK OUT.dls` (Level 2), as a user runs it."""
    from dmusd.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["bank", "convert", str(bank), str(out)])
    if code != 0:
        raise RuntimeError(f"dmusd bank convert {bank} failed with exit code {code}")
