"""Issue 12, item 6 of the fidelity report: bank select read by the mode the last reset set.

Renders, with dmusd and FluidSynth 2.6, one short file per mode (GM2 System On, GM System On,
XG System On, GS reset) on the bank of tests/synth/test_bank_modes_render.py, whose every
instrument is a sine of its own pitch: the pitch of each note says which instrument or kit the
bank select played. Then, on TimGM6mb (bank 0 and eight kits, no GM2 variation), GM2 variation
and kit selects after GM2 System On and without it: dmusd's missed patches, and whether each
synth played the GM sound or a kit (each note's spectrum against the synth's own references).
"""

from __future__ import annotations

import inspect
import math
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from fidelity_render import fluidsynth_command, read_audio, render_dmusd

from tests.synth import test_bank_modes_render as modes
from tests.synth.audio import zero_crossing_frequency
from tests.synth.song_render import GM2_ON, GM_ON, GS_RESET, XG_ON, cc, span, write_song

if TYPE_CHECKING:
    from fidelity_issue12 import Context

FLUID_DELAY = 64  # samples: FluidSynth's output lags its events by one 64-sample block
SYNTHS = (("dmusd", 0), ("fluid", FLUID_DELAY))  # a render's suffix, samples to drop

# the test bank's sines (a period at 44 kHz each) and what they stand for
NAMES = {
    modes.MELODIC: "bank 0 program 0",
    modes.KIT: "standard kit",
    modes.KIT_8: "kit 8",
    modes.VARIATION: "variation 121/1",
    modes.SFX: "SFX kit (MSB 126)",
}

# per mode: the reset, then (what is selected, MIDI channel, MSB, LSB, program, expected period)
CASES = {
    "GM2": (GM2_ON, [
        ("MSB 120 program 8", 0, 120, 0, 8, modes.KIT_8),
        ("MSB 121 LSB 1", 0, 121, 1, 0, modes.VARIATION),
        ("MSB 121 LSB 5 (not in the bank)", 0, 121, 5, 0, modes.MELODIC),
        ("channel 10, MSB 121", 9, 121, 0, 0, modes.MELODIC),
        ("channel 10, MSB 120", 9, 120, 0, 0, modes.KIT),
    ]),
    "GM": (GM_ON, [
        ("MSB 120 (no such bank)", 0, 120, 0, 0, modes.MELODIC),
        ("MSB 121 LSB 5 (no such bank)", 0, 121, 5, 0, modes.MELODIC),
        ("channel 10", 9, 0, 0, 8, modes.KIT_8),
    ]),
    "XG": (XG_ON, [
        ("MSB 127 program 8", 0, 127, 0, 8, modes.KIT_8),
        ("MSB 127 program 0", 0, 127, 0, 0, modes.KIT),
        ("MSB 126", 0, 126, 0, 0, modes.SFX),
        ("MSB 0", 0, 0, 0, 0, modes.MELODIC),
    ]),
    "GS": (GS_RESET, [
        ("channel 10 program 8", 9, 0, 0, 8, modes.KIT_8),
        ("MSB 127 (no such bank)", 0, 127, 0, 0, modes.MELODIC),
        ("MSB 0", 0, 0, 0, 0, modes.MELODIC),
    ]),
}  # fmt: skip

# TimGM6mb has no GM2 variation: variations (121/1..3) of a few programs, which their capital
# tones answer, and two kit selects (kits 0 and 8, both in TimGM6mb) on channel 1
GM2_PARTS = [(121, lsb, p) for p in (0, 24, 48) for lsb in (1, 2, 3)] + [(120, 0, 0), (120, 0, 8)]


class _Folder:
    """What the test bank's fixture asks of pytest's tmp_path_factory."""

    def __init__(self, root: Path):
        self.root = root

    def mktemp(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def fixture_bank(fixture, work: Path) -> Path:
    """The bank a test module's `bank` fixture writes, made in `work`: the fixture function
    itself, unwrapped from pytest's decorator, so the section plays the tests' bank exactly."""
    return inspect.unwrap(fixture)(_Folder(work))


def _events(reset: bytes, cases: list) -> list[tuple[float, bytes]]:
    events = [(0.0, reset)]
    for i, (_, ch, msb, lsb, prog, _) in enumerate(cases):
        t = 0.1 + 0.5 * i  # a note every 0.5 s, as the tests play them
        events += [*modes.select(t, msb, lsb, prog, ch=ch), *modes.notes(t, ch=ch)]
    return events


def _fluid(song: Path, out: Path, bank: Path, rate: int) -> str | None:
    """FluidSynth 2.6 renders; None when it did, else its error."""
    done = subprocess.run(fluidsynth_command(song, out, bank, rate), capture_output=True, text=True)
    return None if done.returncode == 0 else done.stderr.strip()[-200:]


def _heard(x, start: float) -> str:
    """The instrument whose sine is nearest the note's pitch (within 10 cents), else the Hz."""
    part = span(x, start + 0.05, start + 0.4)
    hz = zero_crossing_frequency(part, 48000) if abs(part).max() > 1e-4 else 0.0
    if hz == 0:
        return "silent"
    period = min(NAMES, key=lambda p: abs(math.log2(hz * p / 44000)))
    if abs(1200 * math.log2(hz * period / 44000)) < 10:
        return NAMES[period]
    return f"{hz:.0f} Hz (none of the bank's)"


def _mark(heard: str, period: int) -> str:
    return heard if heard == NAMES[period] else f"**{heard}**"


def _timgm_song(path: Path, reset: list[bytes], parts: list[tuple[int, int, int, int]]) -> Path:
    """An A4 every 0.25 s for each (channel, MSB, LSB, program), after the reset if any."""
    events = [(0.0, m) for m in reset]
    for i, (ch, msb, lsb, prog) in enumerate(parts):
        t = 0.1 + 0.25 * i  # short notes: the patch lookups are what is counted here
        # all sound off, else the last note's release sounds into this one's spectrum; 30 ms
        # early, as FluidSynth 2.6 lets a CC120 at the new note's own tick leave the old voice on
        events += [(t - 0.03, cc(120, 0, ch)), *modes.select(t, msb, lsb, prog, ch=ch),
                   (t, modes.note_on(69, ch=ch)),
                   (t + 0.2, modes.note_off(69, ch=ch))]  # fmt: skip
    return write_song(path, events)


def _spectra(x, count: int) -> list:
    """Each note's magnitude spectrum, unit length (what it sounds like, not how loud)."""
    out = []
    for i in range(count):
        t = 0.1 + 0.25 * i
        part = span(x, t + 0.02, t + 0.18)
        mag = np.abs(np.fft.rfft(part * np.hanning(part.size)))
        out.append(mag / (np.linalg.norm(mag) + 1e-12))
    return out


def _timgm_heard(x, melodic: list, kit: list) -> str:
    """How many variation selects sounded like their bank 0 program and how many kit selects
    like the kit's key 69 (each note's spectrum against the same synth's render of both)."""
    like_kit = [float(s @ k) > float(s @ m) for s, m, k in zip(_spectra(x, len(melodic)),
                melodic, kit, strict=True)]  # fmt: skip
    kits = len([p for p in GM2_PARTS if p[0] == 120])
    variations = len(GM2_PARTS) - kits
    melodic_count = variations - sum(like_kit[:variations])
    return (
        f"variations: {melodic_count} of {variations} the GM sound; "
        f"kit selects: {sum(like_kit[variations:])} of {kits} a kit"
    )


def item_6(ctx: Context) -> str:
    assert ctx.rate == 48000  # the tests' pitch helpers measure at 48 kHz
    bank = fixture_bank(modes.bank, ctx.work / "item6")
    rows = []
    for mode, (reset, cases) in CASES.items():
        song = write_song(ctx.work / f"item6-{mode}.mid", _events(reset, cases))
        ours, theirs = ctx.work / f"item6-{mode}.dmusd.wav", ctx.work / f"item6-{mode}.fluid.wav"
        missed = int(render_dmusd(song, ours, bank, ctx.rate)["missed_patches"])
        a = read_audio(ours)[0][:, 0]
        error = _fluid(song, theirs, bank, ctx.rate)
        b = read_audio(theirs)[0][FLUID_DELAY:, 0] if error is None else None
        for i, (label, _, _, _, _, period) in enumerate(cases):
            t = 0.1 + 0.5 * i
            ref = _mark(_heard(b, t), period) if b is not None else f"refused: {error}"
            first = f"{mode} | {missed}" if i == 0 else " | "
            rows.append(
                f"| {first} | {label} | {NAMES[period]} | {_mark(_heard(a, t), period)} | {ref} |"
            )
    # each synth's own A4 of the bank 0 program and of the kit each select could mean
    count = len(GM2_PARTS)
    refs = [(0, 0, 0, p) for _, _, p in GM2_PARTS] + [
        (9, 0, 0, p if msb == 120 else 0) for msb, _, p in GM2_PARTS
    ]
    ref_song = _timgm_song(ctx.work / "item6-timgm-ref.mid", [GM_ON], refs)
    render_dmusd(ref_song, ctx.work / "item6-timgm-ref.dmusd.wav", ctx.timgm, ctx.rate)
    _fluid(ref_song, ctx.work / "item6-timgm-ref.fluid.wav", ctx.timgm, ctx.rate)
    references = []
    for synth, skip in SYNTHS:
        x = read_audio(ctx.work / f"item6-timgm-ref.{synth}.wav")[0][skip:, 0]
        spectra = _spectra(x, 2 * count)
        references.append((spectra[:count], spectra[count:]))
    timgm = []
    for label, reset in (("after GM2 System On", [GM2_ON]), ("without it (GM)", [])):
        name = f"item6-timgm-{len(timgm)}"
        parts = [(0, msb, lsb, p) for msb, lsb, p in GM2_PARTS]
        song = _timgm_song(ctx.work / f"{name}.mid", reset, parts)
        figures = render_dmusd(song, ctx.work / f"{name}.dmusd.wav", ctx.timgm, ctx.rate)
        error = _fluid(song, ctx.work / f"{name}.fluid.wav", ctx.timgm, ctx.rate)
        cells = []
        for (synth, skip), ref in zip(SYNTHS, references, strict=True):
            if synth == "fluid" and error is not None:
                cells.append(f"refused: {error}")
                continue
            x = read_audio(ctx.work / f"{name}.{synth}.wav")[0][skip:, 0]
            cells.append(_timgm_heard(x, *ref))
        timgm.append(f"| {label} | {int(figures['missed_patches'])} | {cells[0]} | {cells[1]} |")
    return "\n".join(
        [
            "### 6. Bank select by mode",
            "",
            "The bank of tests/synth/test_bank_modes_render.py (a DLS: bank 0 program 0, the "
            "standard kit, kit 8, the GM2 variation MSB 121 / LSB 1 program 0 and an SFX kit at "
            "MSB 126, each a sine of its own pitch), one file per mode: the reset, then a bank "
            "select and an A4 every 0.5 s. Which instrument played is read from each note's "
            "pitch (10 cents of the instrument's sine); a bold cell is not what the mode asks for.",
            "",
            "| mode | missed patches (dmusd) | bank select | expected | dmusd | FluidSynth 2.6 |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"TimGM6mb (bank 0 and eight kits, no variation): {len(GM2_PARTS) - 2} GM2 "
            "variation selects (MSB 121, LSB 1-3 of programs 0, 24 and 48) then two kit "
            "selects (MSB 120, programs 0 and 8) on channel 1, an A4 each 0.25 s, after GM2 "
            "System On and in a copy without it. Each note is "
            "told by its spectrum, against the same synth's A4 of the bank 0 program and of "
            "the kit (key 69: a cabasa).",
            "",
            "| file | missed patches (dmusd) | dmusd | FluidSynth 2.6 |",
            "|---|---|---|---|",
            *timgm,
            "",
            "dmusd plays what each mode asks for, and FluidSynth 2.6 (whose GM2 and XG bank "
            "styles, fluid_chan.c, follow the resets) agrees everywhere but one: for XG MSB 126 "
            "it plays the standard kit, since it maps every XG drum MSB (120, 126, 127) to SF2 "
            "bank 128 (its own comment there: ideally the MSB would be the bank, FluidSynth "
            "issue 1524). A GM2 variation nobody has plays its capital tone and is no missed "
            "patch (0 after GM2 System On); read as GM, the same file counts every variation "
            "and MSB 120 select as missed and plays the kit selects melodic, which is what "
            "dmusd did in GM2 mode before.",
            "",
        ]
    )
