"""Issue 12, item 8 of the fidelity report: the controllers dmusd lacked, measured over time.

Renders the event lists of tests/synth/test_controllers_render.py (portamento by CC5/CC65 and
by CC84, mono mode CC126 and poly mode CC127, RPN 5 on the mod wheel's vibrato, master tuning
SysEx on a note already sounding) on that module's bank of sines with dmusd and FluidSynth 2.6,
and measures the same figures in both: pitch in cents against a key, glide arrival, and level
steps (each synth's level against itself, as their gains differ).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from fidelity_item6 import FLUID_DELAY, fixture_bank
from fidelity_master_tuning import reference_song
from fidelity_render import fluidsynth_command, read_audio, render_dmusd

from tests.synth import test_controllers_render as tc
from tests.synth.song_render import (
    at,
    cc,
    level_db,
    master_coarse,
    master_fine,
    note_off,
    note_on,
    pitch_at,
    program,
    rpn,
    span,
    write_song,
)

if TYPE_CHECKING:
    from fidelity_issue12 import Context

Measure = Callable[[np.ndarray], str]


def _n(value: float, digits: int = 1) -> str:
    """Signed, with no '-0' (a rounded -0.04 is a zero)."""
    return f"{round(value, digits) + 0.0:+.{digits}f}"


GLIDE_TIMES = np.arange(6) * 0.05


def _cents(start: float, end: float, key: float) -> Measure:
    return lambda x: f"{_n(pitch_at(x, start, end, key))} ct"


def _arrival(start: float, end: float, key: float) -> Measure:
    """When a glide that began at `start` first comes within 5 cents of `key` (20 ms steps)."""

    def measure(x: np.ndarray) -> str:
        near = tc.pitch_track(x, start, end, key) > -5
        return f"{start + 0.02 * np.argmax(near):.2f} s" if near.any() else "not by the end"

    return measure


def _glide(start: float, key: float) -> Measure:
    """The pitch against `key` in 20 ms windows at start + 0, 50, .. 250 ms."""

    def measure(x: np.ndarray) -> str:
        return " / ".join(_n(pitch_at(x, t, t + 0.02, key), 0) for t in start + GLIDE_TIMES)

    return measure


def _expected_glide(cents: float) -> str:
    """A glide from `cents` at CC5 = 40, the tests' rate (36 semitones in 0.71 s), as the
    windows of _glide average it (their middle, 10 ms in)."""
    rate = 3600 / 0.71
    return " / ".join(_n(min(0.0, cents + rate * (t + 0.01)), 0) for t in GLIDE_TIMES)


def _step(before: float, after: float) -> Measure:
    """Level in the 50 ms after `after` minus the 50 ms before `before`: a new attack dips."""
    return lambda x: (
        f"{_n(level_db(x, after, after + 0.05) - level_db(x, before - 0.05, before))} dB"
    )


def _both_keys(start: float, end: float) -> Measure:
    """E4's spectral peak against C4's over [start, end): both keys sound when near 0 dB."""

    def measure(x: np.ndarray) -> str:
        part = span(x, start, end)
        spectrum = np.abs(np.fft.rfft(part * np.hanning(part.size)))
        freqs = np.fft.rfftfreq(part.size, 1 / 48000)
        c4, e4 = (spectrum[np.argmin(abs(freqs - hz))] for hz in (261.6, 329.6))
        ratio = 20 * np.log10(e4 / c4)
        return f"{_n(ratio)} dB" if ratio < 60 else f"E4 alone (C4 {ratio:.0f} dB under)"

    return measure


def _depth(start: float, end: float) -> Measure:
    return lambda x: f"{tc.vibrato_depth(x, start, end):.1f} ct"


def _ratio(x: np.ndarray) -> str:
    return f"{tc.vibrato_depth(x, 1.3, 2.0) / tc.vibrato_depth(x, 0.3, 1.0):.2f}"


# (controller, events, [(what is measured, expected, how)]); the events are the tests'
CASES = [
    ("CC65 on, CC5 = 40: key 60 then 72",
     [*at(0.0, [cc(65, 127), cc(5, 40)]), (0.0, note_on(60)), (0.5, note_off(60)),
      (0.5, note_on(72)), (1.5, note_off(72))], [
        ("against 72 at 0.50, 0.55 .. 0.75 s (ct)", _expected_glide(-1200), _glide(0.5, 72)),
        ("reaches 72", "0.74 s (36 semitones in 0.71 s)", _arrival(0.5, 1.4, 72)),
        ("72 at 0.9-1.4 s", "+0 ct", _cents(0.9, 1.4, 72)),
     ]),
    ("CC84 = 48 (CC5 = 40, CC65 off): key 60 after 60, 72",
     [(0.0, note_on(60)), (0.5, note_off(60)), (0.5, note_on(72)), (1.0, note_off(72)),
      *at(1.0, [cc(5, 40), cc(84, 48)]), (1.0, note_on(60)), (1.5, note_off(60)),
      (1.5, note_on(67)), (2.0, note_off(67))], [
        ("72 at 0.51-0.53 s (no CC65)", "+0 ct", _cents(0.51, 0.53, 72)),
        ("against 60 at 1.00, 1.05 .. 1.25 s (ct)", _expected_glide(-1200), _glide(1.0, 60)),
        ("reaches 60", "1.24 s", _arrival(1.0, 1.5, 60)),
        ("67 at 1.51-1.53 s (CC84 spent)", "+0 ct", _cents(1.51, 1.53, 67)),
     ]),
    ("CC126 (mono), 0.2 s attack: 60, then 64 over it, 64 up",
     [(0.0, program(tc.SLOW)), (0.0, cc(126, 1)), (0.0, note_on(60)), (0.5, note_on(64)),
      (1.0, note_off(64)), (1.5, note_off(60))], [
        ("64 at 0.55-0.95 s", "+0 ct", _cents(0.55, 0.95, 64)),
        ("level step at 0.5 s (legato)", "+0 dB (no new attack)", _step(0.45, 0.5)),
        ("60 at 1.02-1.45 s (64 up)", "+0 ct", _cents(1.02, 1.45, 60)),
        ("level step at 1.0 s", "+0 dB", _step(0.95, 1.0)),
     ]),
    ("CC126 + CC65, CC5 = 40: 60, then 72 over it",
     [*at(0.0, [cc(126, 1), cc(65, 127), cc(5, 40)]), (0.0, note_on(60)),
      (0.5, note_on(72)), (1.2, note_off(72)), (1.2, note_off(60))], [
        ("against 72 at 0.50, 0.55 .. 0.75 s (ct)", _expected_glide(-1200), _glide(0.5, 72)),
        ("reaches 72", "0.74 s", _arrival(0.5, 1.2, 72)),
     ]),
    ("CC127 (poly) after mono: 60, then 64 over it",
     [(0.0, program(tc.SLOW)), (0.0, cc(126, 1)), (0.0, note_on(60)), (0.5, note_on(64)),
      (1.0, note_off(64)), (1.0, note_off(60)),
      (1.2, cc(127, 0)), (1.2, note_on(60)), (1.7, note_on(64)),
      (2.2, note_off(60)), (2.2, note_off(64))], [
        ("mono: E4 peak against C4, 0.6-0.9 s", "E4 alone", _both_keys(0.6, 0.9)),
        ("poly: E4 peak against C4, 1.95-2.15 s", "both (near 0 dB)", _both_keys(1.95, 2.15)),
     ]),
    ("RPN 5 = 2 semitones at 1 s, mod wheel full (50 ct vibrato)",
     [(0.0, program(tc.VIBRATO)), (0.0, cc(1, 127)), (0.0, note_on(69)),
      *at(1.0, rpn(5, 2, 0)), (2.0, note_off(69))], [
        ("vibrato depth 0.3-1.0 s", "50 ct (GM2 default)", _depth(0.3, 1.0)),
        ("vibrato depth 1.3-2.0 s", "200 ct", _depth(1.3, 2.0)),
        ("ratio", "4", _ratio),
     ]),
]  # fmt: skip

MASTER = [(0.0, note_on(69)), (0.5, master_coarse(2)), (1.0, master_fine(50)),
          (1.5, master_coarse(0)), (2.0, note_off(69))]  # fmt: skip
MASTER_SPANS = [(0.1, 0.45, 0), (0.55, 0.95, 200), (1.05, 1.45, 250), (1.55, 1.95, 50)]


def _fluid(song: Path, out: Path, bank: Path, rate: int) -> np.ndarray:
    """FluidSynth 2.6's render, left channel, moved 64 samples earlier to line up with dmusd."""
    subprocess.run(fluidsynth_command(song, out, bank, rate), check=True, capture_output=True)
    return read_audio(out)[0][FLUID_DELAY:, 0]


def _dmusd(song: Path, out: Path, bank: Path, rate: int) -> np.ndarray:
    render_dmusd(song, out, bank, rate)
    return read_audio(out)[0][:, 0]


def item_8(ctx: Context) -> str:
    assert ctx.rate == 48000  # the tests' pitch helpers measure at 48 kHz
    bank = fixture_bank(tc.bank, ctx.work / "item8")
    rows = []
    for i, (title, events, measures) in enumerate(CASES):
        song = write_song(ctx.work / f"item8-{i}.mid", events)
        a = _dmusd(song, ctx.work / f"item8-{i}.dmusd.wav", bank, ctx.rate)
        b = _fluid(song, ctx.work / f"item8-{i}.fluid.wav", bank, ctx.rate)
        for j, (what, expected, measure) in enumerate(measures):
            rows.append(
                f"| {title if j == 0 else ''} | {what} | {expected} | {measure(a)} | {measure(b)} |"
            )
    # master tuning: FluidSynth 2.6 ignores the SysEx, so dmusd is held to the expected pitch;
    # the suite's reference for such files (RPN 1/2 on every channel) is shown beside it
    song = write_song(ctx.work / "item8-master.mid", MASTER)
    a = _dmusd(song, ctx.work / "item8-master.dmusd.wav", bank, ctx.rate)
    b = _fluid(song, ctx.work / "item8-master.fluid.wav", bank, ctx.rate)
    rpn_copy = reference_song(song, ctx.work)  # item8-master.channel-tuning.mid
    c = _fluid(rpn_copy, ctx.work / "item8-master-rpn.fluid.wav", bank, ctx.rate)
    title = "master coarse +2, fine +50 ct, coarse 0 on a sounding A4"
    for j, (start, end, expected) in enumerate(MASTER_SPANS):
        got = [f"{_n(pitch_at(x, start, end, 69))} ct" for x in (a, b, c)]
        rows.append(
            f"| {title if j == 0 else ''} | A4 at {start:.2f}-{end:.2f} s | {expected:+d} ct | "
            f"{got[0]} | {got[1]} (RPN copy: {got[2]}) |"
        )
    return "\n".join(
        [
            "### 8. Missing controllers",
            "",
            "The event lists of tests/synth/test_controllers_render.py on its DLS of sines "
            "(program 0 a plain sine, 2 with a 0.2 s attack, 1 with 50 cents of vibrato on the "
            "mod wheel), rendered by both synths; pitch in cents against the key named, levels "
            "as each synth's own steps (FluidSynth's render moved 64 samples earlier).",
            "",
            "| controller | measured | expected | dmusd | FluidSynth 2.6 |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Every controller moves dmusd's pitch and level as the issue asks, and FluidSynth 2.6 "
            "plays the same file to the same held pitches and level steps (0.1 cent, 0.1 dB). "
            "Its portamento (the XG/GS time curve of fluid_chan.c for CC5 = 40) glides a little "
            "slower, some 50 cents behind dmusd late in the octave, and arrives one 20 ms step "
            "later (the first 20 ms window of each glide reads 30-60 cents above the expected "
            "line in both synths alike: a limit of a zero-crossing count over a window that "
            "opens at the note-on, not of either synth); its vibrato on the same DLS connection "
            "is some 8 % shallower as measured here (not looked into), and RPN 5 scales both "
            "by 4. FluidSynth 2.6 ignores Master Fine and Coarse Tuning SysEx (its handler knows "
            "MTS and the GM/GS/XG resets only), so its render of the file stays at A4; dmusd "
            "is held to the expected pitch instead, and to the suite's reference for such "
            "files (bench/fidelity_master_tuning.py: FluidSynth playing each master tuning as "
            "RPN 1 or 2 on all 16 channels), which it matches to 0.1 cent.",
            "",
        ]
    )
