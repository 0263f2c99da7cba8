"""Item 3 of the issue-12 report: resonant filters, measured by the rendered level.

The fix lowers the filter's pass band by half the resonance, for SF2 (SoundFont 2.01 8.1.3, as
FluidSynth does) and for DLS (the DLS2 filter). Each synth renders the same purpose-made banks:
the sawtooth SF2 of tests/synth/test_filter_level_render.py (2 kHz low-pass with 18 dB of
resonance, the same with none, and the resonant one swept up four octaves) and its DLS
equivalent (a 440 Hz sine, with and without the 2 kHz / 18 dB filter). Each synth is compared
with itself (resonant minus plain), then the two gaps with each other: FluidSynth's absolute
level differs from dmusd's by a gain.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from fidelity_render import fluidsynth_command, read_audio, render_dmusd

from dmusd.banks import units
from dmusd.banks.connection import CONN_DST_FILTER_CUTOFF, CONN_DST_FILTER_Q, connection
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import Instrument, make_patch
from dmusd.synth.engine.filter import lowpass_response_db
from tests.synth.song_render import note_off, note_on, program, write_song
from tests.synth.test_filter_level_render import PLAIN, SWEEP, saw_sf2, two_notes
from tests.synth.test_stream import bank_of, region, sine

if TYPE_CHECKING:
    from fidelity_issue12 import Context

FLUID_LATENCY = 64  # samples: FluidSynth 2.6's file renderer starts this late
CHORD = (45, 52, 57, 61, 64)


def _dls_filters(path: Path) -> Path:
    """The DLS test's bank: program 0 a plain 440 Hz sine, program 1 the same through a 2 kHz
    low-pass with 18 dB of resonance (DLS2 CONN_DST_FILTER_CUTOFF / _Q)."""
    cutoff = connection(CONN_DST_FILTER_CUTOFF, units.abs_pitch(2000.0))
    q = connection(CONN_DST_FILTER_Q, units.fixed(180))  # tenths of a dB
    wave = sine()
    save_dls(
        bank_of(
            Instrument(make_patch(0), "plain", [region(wave)], ()),
            Instrument(make_patch(1), "resonant", [region(wave)], (cutoff, q)),
        ),
        path,
    )
    return path


def _both(ctx: Context, name: str, bank: Path, events) -> tuple[np.ndarray, np.ndarray, dict]:
    """dmusd's left channel (its volume taken out), FluidSynth's (aligned), dmusd's figures."""
    song = write_song(ctx.work / f"{name}.mid", events)
    ours, theirs = ctx.work / f"{name}.dmusd.wav", ctx.work / f"{name}.fluid.wav"
    figures = render_dmusd(song, ours, bank, ctx.rate)
    done = subprocess.run(fluidsynth_command(song, theirs, bank, ctx.rate), capture_output=True)
    a = read_audio(ours)[0][:, 0].astype(np.float64) * 10 ** (-figures["volume"] / 20)
    b = read_audio(theirs)[0][FLUID_LATENCY:, 0].astype(np.float64) if not done.returncode else None
    return a, b, figures


def _level(x: np.ndarray, rate: int, start: float, end: float) -> float:
    part = x[int(start * rate) : int(end * rate)]
    return float(20 * np.log10(np.sqrt(np.mean(part * part)) + 1e-12))


def _peak(x: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(x).max() + 1e-12))


def _gap_rows(label: str, a: np.ndarray, b: np.ndarray | None, rate: int, first: str) -> tuple:
    """Rows for a two-note file: each synth's first and second note and their gap
    (resonant minus plain, whichever came first)."""
    rows, gaps = [], []
    for synth, x in (("dmusd", a), ("FluidSynth 2.6", b)):
        if x is None:
            rows.append(f"| {label} | {synth} | refused the bank | | |")
            continue
        one, two = _level(x, rate, 0.3, 0.9), _level(x, rate, 1.3, 1.9)
        gap = one - two if first == "resonant" else two - one
        gaps.append(gap)
        res, plain = (one, two) if first == "resonant" else (two, one)
        rows.append(f"| {label} | {synth} | {res:.1f} | {plain:.1f} | {gap:+.1f} |")
    return rows, gaps


def item_3(ctx: Context) -> str:
    rate = ctx.rate
    sf2 = ctx.work / "item3-saw.sf2"
    sf2.write_bytes(saw_sf2())
    dls = _dls_filters(ctx.work / "item3-filters.dls")

    # resonant then plain (SF2, key 57); plain then resonant (DLS, A4), one second each
    a, b, _ = _both(ctx, "item3-sf2", sf2, two_notes())
    sf2_rows, sf2_gaps = _gap_rows("SF2 sawtooth", a, b, rate, "resonant")
    dls_events = [(0.0, note_on(69)), (1.0, note_off(69)), (1.0, program(1)),
                  (1.0, note_on(69)), (2.0, note_off(69))]  # fmt: skip
    a, b, _ = _both(ctx, "item3-dls", dls, dls_events)
    dls_rows, dls_gaps = _gap_rows("DLS sine", a, b, rate, "plain")
    design = lowpass_response_db(2000.0, 18.0, 440.0, rate)

    # the sweep: a five-note chord on the swept resonant preset, then on the plain one; the
    # limiter figure is what the issue saw (on for half the frames before the fix)
    sweep_rows, peaks = [], {}
    for preset, label in ((SWEEP, "swept resonant"), (PLAIN, "plain")):
        events = [(0.0, program(preset))] + [(0.0, note_on(k)) for k in CHORD]
        events += [(1.5, note_off(k)) for k in CHORD]
        a, b, figures = _both(ctx, f"item3-chord{preset}", sf2, events)
        frames = round(figures["seconds"] * rate)
        peaks[preset] = (_peak(a), _peak(b) if b is not None else None)
        limited = figures["limited"]
        fluid = f"{peaks[preset][1]:.1f}" if b is not None else "refused"
        sweep_rows.append(
            f"| {label} | {peaks[preset][0]:.1f} | {limited} of {frames} | "
            f"{figures['volume']:+.1f} | {fluid} |"
        )
        if preset == SWEEP:
            swept_limited = limited
    (ours, theirs), (ours_plain, theirs_plain) = peaks[SWEEP], peaks[PLAIN]
    sweep_gap = f"dmusd {ours - ours_plain:+.1f} dB"
    if theirs is not None and theirs_plain is not None:
        sweep_gap += f", FluidSynth 2.6 {theirs - theirs_plain:+.1f} dB"

    def diff(gaps: list[float]) -> str:
        return f"{round(gaps[0] - gaps[1], 2) + 0.0:+.2f} dB" if len(gaps) == 2 else "n/a"

    gaps_agree = all(len(g) == 2 and abs(g[0] - g[1]) < 1.5 for g in (sf2_gaps, dls_gaps))
    verdict = (
        "a resonant note plays as far under its plain one in dmusd as in FluidSynth 2.6 "
        "(within 1.5 dB), for SF2 and for DLS"
        if gaps_agree
        else "the resonant notes' gaps still differ from FluidSynth 2.6's by more than 1.5 dB"
    )
    limiter = (
        "the swept chord stays under dmusd's limiter (0 limited frames), where it drove it on "
        "half the frames before the fix"
        if swept_limited == 0
        else f"the swept chord still drives dmusd's limiter ({swept_limited} frames)"
    )

    return "\n".join(
        [
            "### 3. Resonant filters are too loud",
            "",
            "The purpose-made banks of tests/synth/test_filter_level_render.py: an SF2 sawtooth "
            "(key 57, 220.5 Hz) low-passed at 2 kHz with 18 dB of resonance (initialFilterQ "
            "180) and without, one second each, and a DLS 440 Hz sine with and without the same "
            "DLS2 filter. RMS over 0.3-0.9 s of each note, dBFS (dmusd's volume taken out; "
            "FluidSynth at -g 1, so only each synth's own gap compares):",
            "",
            "| bank | synth | resonant | plain | resonant - plain |",
            "|---|---|---|---|---|",
            *sf2_rows,
            *dls_rows,
            "",
            f"Gap dmusd - FluidSynth 2.6: SF2 {diff(sf2_gaps)}, DLS {diff(dls_gaps)}. The DLS "
            f"gap dmusd's filter is designed to give at 440 Hz is {design:+.1f} dB (half the "
            "resonance off the pass band, plus the slope's rise below the cutoff).",
            "",
            "The sweep of the issue: the chord " + ", ".join(map(str, CHORD)) + " for 1.5 s on "
            "the resonant preset swept from 500 Hz up four octaves by the modulation envelope, "
            "and on the plain preset (dmusd at its default volume 0):",
            "",
            "| preset | dmusd peak dBFS | dmusd limiter frames | dmusd volume | "
            "FluidSynth 2.6 peak dBFS |",
            "|---|---|---|---|---|",
            *sweep_rows,
            "",
            f"Swept peak - plain peak: {sweep_gap}. With the pass band lowered by half the "
            f"resonance, {verdict}; {limiter}.",
            "",
        ]
    )
