"""Item 5 of the issue-12 report: NRPNs, each measured on the rendered note.

Rendered with the purpose-made SF2 of tests/synth/test_nrpn_render.py (a sine, a sawtooth
low-passed at 4 kHz, a sine with a 0.25 s attack, the unfiltered sawtooth; drum kits of the
sine and of the unfiltered sawtooth) and a preset made here with a decay, a release and a
delayed vibrato (what the time NRPNs scale), by dmusd and FluidSynth 2.6:
- SoundFont 2.01 generator offsets (NRPN MSB 120): pitch, attenuation, filter cutoff and Q,
  volume envelope attack/decay/release, vibrato LFO depth, rate and delay. FluidSynth
  implements these (fluid_gen_scale_nrpn), so both synths are measured and compared.
- GS and XG part NRPNs (MSB 1): vibrato rate/depth/delay, TVF cutoff/resonance, TVA
  attack/decay/release.
- GS and XG drum instrument NRPNs (LSB = key): pitch, level, pan, reverb and chorus sends, and
  XG's fine pitch (the sends from a render with the effects on, dmusd's alone).
FluidSynth 2.6 translates only GS vibrato rate/depth/delay (MSB 1, LSB 8-10) to CC 76-78, which
none of its default modulators reads, and ignores the other GS/XG NRPNs (fluid_synth.c,
fluid_synth_cc_LOCAL); its column measures the same file to show that, and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from fidelity_render import fluidsynth_command, read_audio, render_dmusd

from dmusd.banks import sf2_generators as G
from dmusd.commands.render import render_song
from tests.banks.builders import SfSample, SfZone, sf2_bytes
from tests.synth.song_render import (
    GS_RESET,
    XG_ON,
    at,
    cc,
    level_db,
    note_off,
    note_on,
    nrpn,
    pitch_at,
    program,
    span,
    write_song,
)
from tests.synth.test_nrpn_render import (
    SAW,
    SLOW,
    centroid_hz,
    nrpn_sf2,
    rise_time,
    vibrato_depth,
)

if TYPE_CHECKING:
    from fidelity_issue12 import Context

FLUID_LATENCY = 64  # samples: FluidSynth 2.6's file renderer starts this late
NOT_IMPLEMENTED = "not implemented (a)"  # the footnotes are in item_5's text
NOT_HEARD = "not heard (b)"
AGREE: list[bool] = []  # per SF2 NRPN row: dmusd and FluidSynth within 5 % (item_5 resets it)


def _pair(ctx: Context, name: str, bank: Path, events) -> tuple[np.ndarray, np.ndarray | None]:
    """dmusd (its volume taken out) and FluidSynth 2.6 (aligned) renders, stereo."""
    song = write_song(ctx.work / f"{name}.mid", events)
    ours, theirs = ctx.work / f"{name}.dmusd.wav", ctx.work / f"{name}.fluid.wav"
    volume = render_dmusd(song, ours, bank, ctx.rate)["volume"]
    done = subprocess.run(fluidsynth_command(song, theirs, bank, ctx.rate), capture_output=True)
    a = read_audio(ours)[0].astype(np.float64) * 10 ** (-volume / 20)
    b = read_audio(theirs)[0][FLUID_LATENCY:].astype(np.float64) if not done.returncode else None
    return a, b


def _wet(ctx: Context, song: Path, bank: Path, volume: float) -> np.ndarray:
    """dmusd with its reverb and chorus on (render_dmusd renders dry), at the dry volume."""
    out = song.with_suffix(".wet.dmusd.wav")
    args = argparse.Namespace(song=str(song), output=str(out), bank=[str(bank)],
                              rate=ctx.rate, block=1024, voices=256, interp="cubic",
                              no_effects=False, volume=volume, sample_memory=0)  # fmt: skip
    with contextlib.redirect_stderr(io.StringIO()):
        render_song(args)
    return read_audio(out)[0].astype(np.float64)


def _num(form: str, value: float) -> str:
    """value in form, a rounded-away negative zero written +0."""
    text = form.format(value)
    return text.replace("-", "+") if float(text) == 0 else text


def sf2_nrpn(generator: int, offset: int, ch: int) -> list[bytes]:
    """The test's SF2.01 NRPN (MSB 120, data 8192 + offset, LSB first) on any channel."""
    data = 8192 + offset
    return nrpn(120, generator, data >> 7, data & 0x7F, ch=ch)


def vibrato_rate(x: np.ndarray, start: float, end: float, key: float) -> float:
    """Hz of the pitch track's swing (crossings of its mean), 10 ms a point."""
    track = np.array([pitch_at(x, t, t + 0.01, key) for t in np.arange(start, end, 0.01)])
    signs = np.sign(track - track.mean())
    crossings = np.count_nonzero(signs[1:] != signs[:-1])
    return float(crossings / 2 / (end - start))


def _sf2_events() -> list:
    """One channel per measurement, one after another, so no offset carries over."""
    return [
        # ch 0, sine: +2 semitones coarse tune at 0.5 s, +100 cB attenuation at 1.0 s
        (0.0, note_on(69)), *at(0.5, sf2_nrpn(G.COARSE_TUNE, 2, 0)),
        *at(1.0, sf2_nrpn(G.INITIAL_ATTENUATION, 100, 0)), (1.5, note_off(69)),
        # ch 1, sawtooth (4 kHz low-pass): cutoff -2400 cents at 2.1 s
        (1.6, program(SAW, ch=1)), (1.6, note_on(57, ch=1)),
        *at(2.1, sf2_nrpn(G.INITIAL_FILTER_FC, -1200, 1)), (2.6, note_off(57, ch=1)),
        # ch 2, the same sawtooth: +18 dB resonance (180 cB) at 3.2 s
        (2.7, program(SAW, ch=2)), (2.7, note_on(57, ch=2)),
        *at(3.2, sf2_nrpn(G.INITIAL_FILTER_Q, 180, 2)), (3.7, note_off(57, ch=2)),
        # ch 3, slow sine (0.25 s attack): +1200 time cents on the next note
        (3.8, program(SLOW, ch=3)), (3.8, note_on(69, ch=3)), (4.5, note_off(69, ch=3)),
        *at(4.6, sf2_nrpn(G.ATTACK_VOL_ENV, 600, 3)), (4.6, note_on(69, ch=3)),
        (5.5, note_off(69, ch=3)),
        # ch 4, sine: vibrato depth +100 cents, then the vibrato LFO +1200 cents (x2)
        *at(5.6, sf2_nrpn(G.VIB_LFO_TO_PITCH, 50, 4)), (5.6, note_on(69, ch=4)),
        (6.6, note_off(69, ch=4)), *at(6.7, sf2_nrpn(G.FREQ_VIB_LFO, 300, 4)),
        (6.7, note_on(69, ch=4)), (7.7, note_off(69, ch=4)),
    ]  # fmt: skip


def _sf2_figures(x: np.ndarray) -> list[float]:
    return [
        pitch_at(x, 0.55, 0.95, 69),
        level_db(x, 1.05, 1.45) - level_db(x, 0.55, 0.95),
        centroid_hz(span(x, 2.15, 2.55)) / centroid_hz(span(x, 1.65, 2.05)),
        level_db(x, 3.25, 3.65) - level_db(x, 2.75, 3.15),
        rise_time(x, 4.6, 5.45) / rise_time(x, 3.8, 4.45),
        vibrato_depth(x, 5.8, 6.55, 69),
        vibrato_rate(x, 5.8, 6.55, 69),
        vibrato_rate(x, 6.9, 7.65, 69),
    ]


SF2_ROWS = [  # generator (number) and data offset (x FluidSynth's scale), measure, expected
    ("coarseTune (51) +2", "pitch of the sounding note, cents", "+200", "{:+.1f}"),
    ("initialAttenuation (48) +100", "level change, dB", "-10.0", "{:+.2f}"),
    ("initialFilterFc (8) -1200 (x2 cents)", "spectral centroid after / before", "< 0.6",
     "{:.2f}"),
    ("initialFilterQ (9) +180 cB", "level change of the sawtooth, dB", "about -8 (item 3)",
     "{:+.2f}"),
    ("attackVolEnv (34) +600 (x2 tc)", "attack time, next note / plain", "2.0", "{:.2f}"),
    ("vibLfoToPitch (6) +50 (x2 cents)", "vibrato depth, +- cents (c)", "100", "{:.1f}"),
    ("freqVibLFO (24) +300 (x4 cents)", "vibrato rate, Hz (8.2 before)", "16.4", "{:.1f}"),
]  # fmt: skip


def _sf2_rows(a: np.ndarray, b: np.ndarray | None) -> list[str]:
    ours = _sf2_figures(a[:, 0])
    theirs = _sf2_figures(b[:, 0]) if b is not None else [None] * len(ours)
    # the last two figures are one row: the rate before and after the NRPN
    ours = [*ours[:6], ours[7]]
    theirs = [*theirs[:6], theirs[7]]
    rows = []
    for (what, measure, expected, form), x, y in zip(SF2_ROWS, ours, theirs, strict=True):
        cell = "refused" if y is None else _num(form, y)
        AGREE.append(y is not None and abs(x - y) <= max(0.5, 0.05 * abs(x)))
        rows.append(f"| SF2 MSB 120: {what} | {measure} | {expected} | {_num(form, x)} | {cell} |")
    return rows


def _part_events(reset: bytes) -> list:
    """GS/XG part NRPNs (MSB 1), data 64 = no change; each on its own channel."""
    return [
        (0.0, reset),
        # ch 0, sine: vibrato depth 127, then rate 127 as well
        *at(0.1, nrpn(1, 0x09, 127)), (0.1, note_on(69)), (1.1, note_off(69)),
        *at(1.2, nrpn(1, 0x08, 127)), (1.2, note_on(69)), (2.2, note_off(69)),
        # ch 1, sawtooth: TVF cutoff 0 at 2.8 s
        (2.3, program(SAW, ch=1)), (2.3, note_on(57, ch=1)),
        *at(2.8, nrpn(1, 0x20, 0, ch=1)), (3.3, note_off(57, ch=1)),
        # ch 2, sawtooth: TVF resonance 127 at 3.9 s
        (3.4, program(SAW, ch=2)), (3.4, note_on(57, ch=2)),
        *at(3.9, nrpn(1, 0x21, 127, ch=2)), (4.4, note_off(57, ch=2)),
        # ch 3, slow sine: TVA attack +32 steps on the next note
        (4.5, program(SLOW, ch=3)), (4.5, note_on(69, ch=3)), (5.2, note_off(69, ch=3)),
        *at(5.3, nrpn(1, 0x63, 64 + 32, ch=3)), (5.3, note_on(69, ch=3)),
        (6.2, note_off(69, ch=3)),
    ]  # fmt: skip


def _part_figures(x: np.ndarray) -> list[float]:
    return [
        vibrato_depth(x, 0.3, 1.05, 69),
        vibrato_rate(x, 1.4, 2.15, 69) / max(vibrato_rate(x, 0.3, 1.05, 69), 1e-9),
        centroid_hz(span(x, 2.85, 3.25)) / centroid_hz(span(x, 2.35, 2.75)),
        level_db(x, 3.95, 4.35) - level_db(x, 3.45, 3.85),
        rise_time(x, 5.3, 6.15) / rise_time(x, 4.5, 5.15),
    ]


PART_ROWS = [  # LSB and data, measure, expected (dmusd's steps, nrpn.py), format
    ("vibrato depth (0x09) 127", "vibrato depth, +- cents (c)", "98.4", "{:.1f}"),
    ("vibrato rate (0x08) 127", "vibrato rate, after / before", "2.0", "{:.2f}"),
    ("TVF cutoff (0x20) 0", "spectral centroid after / before", "< 0.6", "{:.2f}"),
    ("TVF resonance (0x21) 127", "level change of the sawtooth, dB", "about -9", "{:+.2f}"),
    ("TVA attack (0x63) +32", "attack time, next note / plain", "2.0", "{:.2f}"),
]


def _part_rows(ctx: Context, bank: Path, label: str, reset: bytes) -> list[str]:
    a, b = _pair(ctx, f"item5-part-{label}", bank, _part_events(reset))
    ours = _part_figures(a[:, 0])
    theirs = _part_figures(b[:, 0]) if b is not None else [None] * len(ours)
    rows = []
    for i, ((what, measure, expected, form), x, y) in enumerate(
        zip(PART_ROWS, ours, theirs, strict=True)
    ):
        # FluidSynth maps GS vibrato rate/depth/delay to CCs; nothing else, and nothing in XG
        why = NOT_HEARD if label == "GS" and i < 2 else NOT_IMPLEMENTED
        cell = "refused" if y is None else f"{why}: {_num(form, y)}"
        rows.append(
            f"| {label} MSB 1: {what} | {measure} | {expected} | {_num(form, x)} | {cell} |"
        )
    return rows


# -- envelope decay/release and vibrato delay: a purpose-made preset that has them to scale ----
DECAY_TC = 1200  # 2 s: 10 dB of decay in about 0.2 s, toward a 20 dB sustain
RELEASE_TC = 1200
VIB_DELAY_TC = -1586  # 0.4 s


def envelope_sf2() -> bytes:
    """A looped 440 Hz sine (key 69) with a 2 s decay to 20 dB of sustain, a 2 s release and
    50 cents of vibrato after 0.4 s: what the decay, release and delay NRPNs scale."""
    n = 100 * 40
    data = np.round(np.sin(2 * np.pi * np.arange(n) / 100) * 20000).astype(np.int16)
    zone = [(G.DECAY_VOL_ENV, DECAY_TC), (G.SUSTAIN_VOL_ENV, 200),
            (G.RELEASE_VOL_ENV, RELEASE_TC), (G.DELAY_VIB_LFO, VIB_DELAY_TC),
            (G.VIB_LFO_TO_PITCH, 50), (G.SAMPLE_MODES, 1), (G.SAMPLE_ID, 0)]  # fmt: skip
    return sf2_bytes(
        [SfSample(data, 44000, 69, 0, (0, n), "sine")],
        [("env", [SfZone(zone)])],
        [("env", 0, 0, [SfZone([(G.INSTRUMENT, 0)])])],
    )


def _envelope_events(reset: bytes | None, longer: list[list[bytes]]) -> list:
    """Channel 1: a plain note, then (after `longer`'s first two NRPN groups: decay, release)
    another; channel 2 the same for the vibrato delay (the third group)."""
    t = 0.1 if reset else 0.0
    events = [(0.0, reset)] if reset else []
    events += [(t, note_on(69)), (t + 1.0, note_off(69)),
               *at(t + 1.6, longer[0]), *at(t + 1.6, longer[1]),
               (t + 1.6, note_on(69)), (t + 2.6, note_off(69)),
               (t + 3.3, note_on(69, ch=1)), (t + 4.0, note_off(69, ch=1)),
               *at(t + 4.1, longer[2]), (t + 4.1, note_on(69, ch=1)),
               (t + 5.1, note_off(69, ch=1))]  # fmt: skip
    return events


def _envelope_db(x: np.ndarray, start: float, end: float) -> np.ndarray:
    """Peak level, dB, of each 5 ms from start to end."""
    part = np.abs(span(x, start, end))
    hop = len(part) // max(1, round((end - start) * 200))
    return 20 * np.log10(np.array([part[i : i + hop].max() for i in range(0, len(part), hop)]))


def _fall_time(x: np.ndarray, start: float, end: float) -> float:
    """Seconds from the loudest point in [start, end) until 10 dB below it."""
    env = _envelope_db(x, start, end)
    top = int(np.argmax(env))
    below = np.nonzero(env[top:] < env[top] - 10)[0]
    return float(below[0] / 200) if below.size else float("nan")


def _vibrato_onset(x: np.ndarray, start: float, end: float) -> float:
    """Seconds from start until the pitch first swings 20 cents off key 69."""
    for t in np.arange(start, end, 0.01):
        if abs(pitch_at(x, t, t + 0.01, 69)) > 20:
            return float(t - start)
    return float("nan")


def _envelope_figures(x: np.ndarray, t: float) -> list[float]:
    return [
        _fall_time(x, t + 1.6, t + 2.55) / _fall_time(x, t, t + 0.95),
        _fall_time(x, t + 2.6, t + 3.2) / _fall_time(x, t + 1.0, t + 1.6),
        _vibrato_onset(x, t + 4.1, t + 5.0) / _vibrato_onset(x, t + 3.3, t + 3.95),
    ]


ENVELOPE_ROWS = [  # SF2 generator and offset (x FluidSynth's scale), GS/XG LSB, measure
    ("decayVolEnv (36) +300 (x2 tc)", "TVA decay (0x64) +32", "time to fall 10 dB from the peak"),
    ("releaseVolEnv (38) +300 (x2 tc)", "TVA release (0x66) +32",
     "time to fall 10 dB after note-off"),
    ("delayVibLFO (23) +300 (x2 tc)", "vibrato delay (0x0A) +32",
     "time until the pitch swings 20 cents"),
]  # fmt: skip


def _envelope_rows(ctx: Context) -> dict[str, list[str]]:
    """SF2 NRPNs (both synths) and GS/XG part NRPNs on decay, release and vibrato delay."""
    bank = ctx.work / "item5-envelope.sf2"
    bank.write_bytes(envelope_sf2())
    sf2 = [sf2_nrpn(G.DECAY_VOL_ENV, 300, 0), sf2_nrpn(G.RELEASE_VOL_ENV, 300, 0),
           sf2_nrpn(G.DELAY_VIB_LFO, 300, 1)]  # fmt: skip
    part = [nrpn(1, 0x64, 64 + 32), nrpn(1, 0x66, 64 + 32), nrpn(1, 0x0A, 64 + 32, ch=1)]
    out: dict[str, list[str]] = {}
    for label, reset, longer in (("SF2", None, sf2), ("GS", GS_RESET, part), ("XG", XG_ON, part)):
        a, b = _pair(ctx, f"item5-env-{label}", bank, _envelope_events(reset, longer))
        t = 0.1 if reset else 0.0
        ours = _envelope_figures(a[:, 0], t)
        theirs = _envelope_figures(b[:, 0], t) if b is not None else None
        rows = out.setdefault(label, [])
        for i, (gen, lsb, measure) in enumerate(ENVELOPE_ROWS):
            what = f"SF2 MSB 120: {gen}" if label == "SF2" else f"{label} MSB 1: {lsb}"
            expected = "1.41" if label == "SF2" else "2.0"  # 600 time cents; 32 x 37.5
            if theirs is None:
                cell = "refused"
            elif label == "SF2":
                cell = f"{theirs[i]:.2f}"
                AGREE.append(abs(ours[i] - theirs[i]) <= 0.05 * ours[i])
            else:  # FluidSynth maps GS vibrato delay to CC 78; ignores decay, release, XG
                why = NOT_HEARD if label == "GS" and i == 2 else NOT_IMPLEMENTED
                cell = f"{why}: {theirs[i]:.2f}"
            rows.append(
                f"| {what} | {measure}, next note / plain | {expected} | {ours[i]:.2f} | {cell} |"
            )
    return out


DRUM_NOTES = (60, 62, 64, 65)  # one 0.4 s note each, 0.5 s apart from 0.2 s


def _drum_events(reset: bytes, xg: bool) -> list:
    """Channel 10, one key per parameter, key 64 untouched (XG: fine-tuned only)."""
    ch = 9
    events = [(0.0, reset),
              *at(0.1, nrpn(0x18, 60, 64 + 12, ch=ch)),  # key 60 an octave up
              *at(0.1, nrpn(0x1A, 62, 64, ch=ch)),  # key 62 at level 64
              *at(0.1, nrpn(0x1C, 65, 1, ch=ch))]  # key 65 hard left  # fmt: skip
    if xg:
        events += at(0.1, nrpn(0x19, 64, 64 + 20, ch=ch))  # key 64 +20 cents
    for i, key in enumerate(DRUM_NOTES):
        t = 0.2 + 0.5 * i
        events += [(t, note_on(key, ch=ch)), (t + 0.4, note_off(key, ch=ch))]
    return events


def _note(i: int) -> tuple[float, float]:
    t = 0.2 + 0.5 * i
    return t + 0.1, t + 0.35


def _drum_figures(x: np.ndarray, xg: bool) -> list[float]:
    left, right = x[:, 0], x[:, 1]
    ref = level_db(left, *_note(2))
    figures = [
        pitch_at(left, *_note(0), 60),
        level_db(left, *_note(1)) - ref,
        level_db(left, *_note(3)) - level_db(right, *_note(3)),
    ]
    if xg:
        figures.append(pitch_at(left, *_note(2), 64))
    return figures


def _send_events(reset: bytes, reverb: bool) -> list:
    """Channel 10 with one effect's send up (CC 91 or 93), so the drum send has something to
    lower: at 0.2 s key 67 with its reverb send at 0 (or key 69 with its chorus send at 0),
    then at 1.2 s key 64 as the kit plays it (the lowered key first: no tail before it)."""
    ch = 9
    key = 67 if reverb else 69
    events = [(0.0, reset), (0.05, cc(91, 127 if reverb else 0, ch)),
              (0.05, cc(93, 0 if reverb else 127, ch)),
              *at(0.1, nrpn(0x1D if reverb else 0x1E, key, 0, ch=ch)),
              (0.2, note_on(key, ch=ch)), (0.6, note_off(key, ch=ch)),
              (1.2, note_on(64, ch=ch)), (1.6, note_off(64, ch=ch)),
              (2.3, cc(7, 100))]  # an event on channel 1 keeps the file going  # fmt: skip
    return events


def _send_change(ctx: Context, bank: Path, label: str, reverb: bool) -> tuple[float, float]:
    """The effect's part (wet - dry) of the lowered key and of key 64, dB against key 64's dry
    level: the reverb's tail after the note (0.05-0.55 s after it), the chorus while it
    sounds."""
    name = f"item5-{'reverb' if reverb else 'chorus'}-{label}"
    reset = GS_RESET if label == "GS" else XG_ON
    song = write_song(ctx.work / f"{name}.mid", _send_events(reset, reverb))
    dry_path = ctx.work / f"{name}.dmusd.wav"
    volume = render_dmusd(song, dry_path, bank, ctx.rate)["volume"]
    wet = _wet(ctx, song, bank, volume)[:, 0]
    dry = read_audio(dry_path)[0].astype(np.float64)[:, 0]
    n = min(len(wet), len(dry))
    part = wet[:n] - dry[:n]
    start, end = (0.45, 0.95) if reverb else (0.1, 0.35)
    ref = level_db(dry, 1.3, 1.55)
    return level_db(part, 0.2 + start, 0.2 + end) - ref, level_db(
        part, 1.2 + start, 1.2 + end
    ) - ref


def _drum_rows(ctx: Context, bank: Path, label: str, reset: bytes, xg: bool) -> list[str]:
    a, b = _pair(ctx, f"item5-drums-{label}", bank, _drum_events(reset, xg))
    ours = _drum_figures(a, xg)
    theirs = _drum_figures(b, xg) if b is not None else None
    rows_in = [
        ("pitch (0x18) key 60 +12", "pitch of key 60 from its own, cents", "+1200"),
        ("level (0x1A) key 62 64", "level against key 64 (untouched), dB", "-11.9"),
        ("pan (0x1C) key 65 1", "left - right, dB", "hard left"),
    ]
    if xg:
        rows_in.append(("fine pitch (0x19) key 64 +20", "pitch of key 64, cents", "+20"))
    rows = []
    for i, (what, measure, expected) in enumerate(rows_in):
        cell = "refused" if theirs is None else f"{NOT_IMPLEMENTED}: {_num('{:+.1f}', theirs[i])}"
        rows.append(f"| {label} drum: {what} | {measure} | {expected} | {ours[i]:+.1f} | {cell} |")
    # the sends need the effects on: dmusd alone (FluidSynth 2.6 has no drum NRPNs at all)
    for what, reverb in (("reverb (0x1D) key 67 0", True), ("chorus (0x1E) key 69 0", False)):
        lowered, plain = _send_change(ctx, bank, label, reverb)
        got = "silent" if lowered < -100 else f"{lowered:+.1f}"
        effect = "reverb tail" if reverb else "chorus part"
        rows.append(
            f"| {label} drum: {what} | {effect} (wet - dry) against the dry note, dB "
            f"| silent (key 64: {plain:+.1f}) | {got} | {NOT_IMPLEMENTED} |"
        )
    return rows


def item_5(ctx: Context) -> str:
    AGREE.clear()
    bank = ctx.work / "item5-nrpn.sf2"
    bank.write_bytes(nrpn_sf2())
    a, b = _pair(ctx, "item5-sf2", bank, _sf2_events())
    envelope = _envelope_rows(ctx)
    rows = _sf2_rows(a, b) + envelope["SF2"]
    for label, reset in (("GS", GS_RESET), ("XG", XG_ON)):
        rows += _part_rows(ctx, bank, label, reset) + envelope[label]
    rows += _drum_rows(ctx, bank, "GS", GS_RESET, xg=False)
    rows += _drum_rows(ctx, bank, "XG", XG_ON, xg=True)
    return "\n".join(
        [
            "### 5. NRPN",
            "",
            "The purpose-made SF2 of tests/synth/test_nrpn_render.py (a sine, a sawtooth "
            "low-passed at 4 kHz, a sine with a 0.25 s attack, the unfiltered sawtooth; kits of "
            "the sine and the sawtooth) and one more preset made here (a sine with a 2 s decay "
            "to 20 dB of sustain, a 2 s release and 50 cents of vibrato after 0.4 s), one "
            "measurement per channel and time span, each file rendered by dmusd and FluidSynth "
            "2.6. SF2 NRPNs: data 8192 + offset, LSB before MSB, FluidSynth's scale per "
            "generator; GS/XG part NRPNs: data entry MSB, 64 = no change, after a GS reset or "
            "XG on; drum NRPNs: LSB = key, on channel 10:",
            "",
            "| NRPN | measured | expected | dmusd | FluidSynth 2.6 |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "(a) FluidSynth 2.6 does not implement it: fluid_synth_cc_LOCAL (fluid_synth.c) "
            "takes MSB 120 (SF2.01), MSB 127 (AWE32) and, in GS mode only, MSB 1 LSB 8-10; it "
            "has no drum instrument NRPNs. Its figure is the note unchanged. "
            "(b) FluidSynth 2.6 turns GS vibrato rate/depth/delay into CC 76/77/78, which none "
            "of its default modulators reads: a bank without modulators for them hears nothing. "
            "(c) 10 ms pitch windows read a vibrato's swing a few per cent short, both synths "
            "alike.",
            "",
            "The SoundFont 2.01 NRPNs are where the two synths compare: "
            f"{sum(AGREE)} of {len(AGREE)} measured agree within 5 %. The GS/XG part and drum "
            "NRPNs are dmusd's alone, each heard at the "
            "size dmusd's steps give it (nrpn.py: the manuals give no unit).",
            "",
        ]
    )
