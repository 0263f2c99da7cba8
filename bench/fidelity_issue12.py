"""The issue-12 part of the fidelity report: one section per item, each measured by rendering.

Every section is one function `item_N(ctx) -> str` (markdown) listed in SECTIONS: items 1, 2, 4,
7 and 9 here, 3, 5, 6 and 8 in their own files (bench/fidelity_itemN.py). A section renders
what it needs with dmusd (render_song, the CLI's path) and FluidSynth 2.6 (the reference) into
ctx.work and says what it measured; nothing here is a pass/fail test (tests/ has those).
"""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
from fidelity_causes import likely_cause
from fidelity_compare import compare, raw_levels
from fidelity_item3 import item_3
from fidelity_item5 import item_5
from fidelity_item6 import item_6
from fidelity_item8 import item_8
from fidelity_measure import Render, whole_file
from fidelity_notes import read_notes
from fidelity_render import fluidsynth_command, read_audio, render_dmusd
from fidelity_report import SUMMARY_HEAD, FileResult, file_section, summary_row

from dmusd.banks import load_bank
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import make_patch
from dmusd.midifile import read_midi_file
from tests.banks.builders import broken_dls_bytes, broken_sf2_bytes
from tests.banks.sf3_convert import convert_sf2_to_sf3
from tests.synth.audio import zero_crossing_frequency
from tests.synth.test_stream import bank_of, instrument, region, sine


@dataclass(slots=True)
class Context:
    work: Path  # renders go here
    rate: int
    midi: Path  # the shared test MIDI files
    timgm: Path  # TimGM6mb.sf2
    dls: Path | None  # TimGM6mb converted by `dmusd bank convert` (None in --quick)
    renders: dict[str, tuple[Path, Path, dict]]  # the main suite: name -> (dmusd, fluid, figs)
    fluid_version: str


def _load(path: Path, rate: int) -> Render:
    audio, got = read_audio(path)
    assert got == rate, f"{path} is at {got} Hz"
    return Render.of(audio, rate)


def _fluid(song: Path, out: Path, bank: Path, rate: int) -> int:
    """FluidSynth 2.6 renders song with bank; its exit status (0 when it rendered)."""
    return _fluid_run(song, out, bank, rate)[0]


def _fluid_run(song: Path, out: Path, bank: Path, rate: int) -> tuple[int, str]:
    """Exit status and the last error FluidSynth 2.6 printed."""
    done = subprocess.run(fluidsynth_command(song, out, bank, rate), capture_output=True, text=True)
    errors = [line.split("error:", 1)[1].strip() for line in done.stderr.splitlines()
              if "error:" in line and "exc:" in line]  # fmt: skip
    return done.returncode, errors[-1] if errors else ""


def _seconds(x: np.ndarray, rate: int, count: int) -> list[tuple[float, float]]:
    """(RMS dBFS, zero-crossing Hz or 0 when silent) of each whole second, edges trimmed."""
    out = []
    for i in range(count):
        part = x[i * rate + rate // 10 : (i + 1) * rate - rate // 10]
        power = float((part.astype(np.float64) ** 2).mean()) if len(part) else 0.0
        level = 10 * np.log10(power) if power > 1e-14 else -140.0
        hz = zero_crossing_frequency(part, rate) if level > -60 else 0.0
        out.append((level, hz))
    return out


def _program_song(path: Path, parts: list[tuple[int, int, int, int]]) -> Path:
    """One A4 note a second for each (channel, bank MSB, bank LSB, program)."""
    track = mido.MidiTrack()
    for channel, msb, lsb, program in parts:
        track.append(mido.Message("control_change", channel=channel, control=0, value=msb))
        track.append(mido.Message("control_change", channel=channel, control=32, value=lsb))
        track.append(mido.Message("program_change", channel=channel, program=program))
        track.append(mido.Message("note_on", channel=channel, note=69, velocity=100))
        track.append(mido.Message("note_off", channel=channel, note=69, time=912))
        track.append(mido.Message("control_change", channel=channel, control=0, value=0, time=48))
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(path)
    return path


def _cell(level: float, hz: float) -> str:
    return "silent" if hz == 0 else f"{hz:.1f} Hz, {level:.1f} dBFS"


# -- item 1 ---------------------------------------------------------------------------------------
def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append(0x80 | (value & 0x7F))
    return bytes(reversed(out))


def _with_stray_bytes(source: Path, clean: Path, stray: Path) -> int:
    """Write a file's messages as one format 0 track as they are (clean) and with a recorder's
    system bytes among them (stray): a clock at every event, an MTC quarter frame and a song
    position now and then, active sensing between note data bytes. Each event keeps its status
    byte (system common messages cancel running status). Returns how many were added."""
    mid = mido.MidiFile(source)
    plain, dirty = bytearray(), bytearray()
    added = 0
    for i, msg in enumerate(mido.merge_tracks(mid.tracks)):
        if msg.type == "end_of_track":
            continue
        if msg.type == "sysex":
            raw = b"\xf0" + _vlq(len(msg.data) + 1) + bytes(msg.data) + b"\xf7"
        else:
            raw = bytes(msg.bin())
        plain += _vlq(msg.time) + raw
        dirty += _vlq(msg.time) + b"\xf8"  # the clock byte takes the delta, the event follows
        added += 1
        if i % 4 == 1:
            dirty += b"\x00\xf1\x25"
            added += 1
        if i % 9 == 2:
            dirty += b"\x00\xf2\x10\x02"
            added += 1
        if msg.type in ("note_on", "note_off"):
            raw = raw[:2] + b"\xfe" + raw[2:]
            added += 1
        dirty += b"\x00" + raw
    end = b"\x00\xff\x2f\x00"
    head = b"MThd" + struct.pack(">IHHH", 6, 0, 1, mid.ticks_per_beat)
    for path, body in ((clean, plain + end), (stray, dirty + end)):
        path.write_bytes(head + b"MTrk" + struct.pack(">I", len(body)) + bytes(body))
    return added


def item_1(ctx: Context) -> str:
    src = ctx.midi / "test-c-major-scale.mid"
    clean, stray = ctx.work / "scale-clean.mid", ctx.work / "scale-stray.mid"
    added = _with_stray_bytes(src, clean, stray)
    counted = read_midi_file(stray).stray_system
    wavs = {}
    for name, song in (("clean", clean), ("stray", stray)):
        wavs[name] = ctx.work / f"item1-{name}.dmusd.wav"
        render_dmusd(song, wavs[name], ctx.timgm, ctx.rate)
    a, _ = read_audio(wavs["stray"])
    b, _ = read_audio(wavs["clean"])
    same = a.shape == b.shape and np.array_equal(a, b)
    heard = {}
    for n, song in (("clean", clean), ("stray", stray)):
        out = ctx.work / f"item1-{n}.fluid.wav"
        code = _fluid(song, out, ctx.timgm, ctx.rate)
        x = read_audio(out)[0] if code == 0 else np.zeros((0, 2))
        power = float((x.astype(np.float64) ** 2).mean()) if len(x) else 0.0
        level = f"{10 * np.log10(power):.1f} dBFS" if power > 0 else "silence"
        heard[n] = f"{len(x) / ctx.rate:.2f} s, {level}"
    return "\n".join(
        [
            "### 1. Stray system bytes in a MIDI file",
            "",
            f"`test-c-major-scale.mid` rewritten with {added} stray system messages (a clock "
            "before every event, active sensing between note data bytes, MTC quarter frames and "
            "song positions; dmusd/midifile.py says what is done with each and with running "
            f"status). dmusd counted {counted}, and its render of the stray file is "
            f"{'bit-identical to' if same else 'DIFFERENT from'} its render of the clean one. "
            f"FluidSynth 2.6 renders the clean file as {heard['clean']} and the stray one as "
            f"{heard['stray']} (its SMF reader stops the file at 'Unrecognized MIDI event "
            "0xF8': fluid_midi.c reads F1-FE as channel messages).",
            "",
        ]
    )


# -- item 2 ---------------------------------------------------------------------------------------
def item_2(ctx: Context) -> str:
    song = _program_song(ctx.work / "item2-programs.mid", [(0, 0, 0, p) for p in (0, 1, 2)])
    lines = ["### 2. One broken item does not spoil a bank", ""]
    lines.append(
        "Banks from tests/banks/builders.py: a DLS with an empty pool wave (what converters "
        "write for an SF2 ROM sample), a region linked to a pool entry that does not exist and "
        "a connection to an unknown destination; an SF2 with a ROM sample. Programs 0, 1, 2 at "
        "A4, one second each."
    )
    lines += [
        "",
        "| bank | warnings (dmusd) | program | dmusd | FluidSynth 2.6 |",
        "|---|---|---|---|---|",
    ]
    for kind, data in (("DLS", broken_dls_bytes()), ("SF2", broken_sf2_bytes())):
        bank = ctx.work / f"item2-broken.{kind.lower()}"
        bank.write_bytes(data)
        warnings = len(load_bank(bank).warnings)
        ours, theirs = ctx.work / f"item2-{kind}.dmusd.wav", ctx.work / f"item2-{kind}.fluid.wav"
        render_dmusd(song, ours, bank, ctx.rate)
        code, error = _fluid_run(song, theirs, bank, ctx.rate)
        a = _seconds(read_audio(ours)[0].mean(axis=1), ctx.rate, 3)
        b = _seconds(read_audio(theirs)[0].mean(axis=1), ctx.rate, 3) if code == 0 else None
        for p in range(3):
            ref = _cell(*b[p]) if b else f"refused (exit {code}: {error})"
            lines.append(f"| {kind} | {warnings} | {p} | {_cell(*a[p])} | {ref} |")
    lines += [
        "",
        "dmusd plays what is left and lists every skipped item with its file, chunk, offset "
        "and index (`dmusd bank check` fails on them unless --allow-warnings). FluidSynth 2.6 "
        "refuses this DLS whole at the region whose wave link is out of range (the wlnk at "
        "offset 0x1a6 = 422, the offset dmusd's warning names), and answers a program the "
        "SF2 lacks (2) with another preset where dmusd counts a missed patch. The level gap "
        "on the SF2 is dmusd's default level, 7.5 dB under FluidSynth's -g 1 (see the gain "
        "alignment above).",
        "",
    ]
    return "\n".join(lines)


# -- item 4 ---------------------------------------------------------------------------------------
def item_4(ctx: Context) -> str:
    layer = ctx.work / "item4-layer.dls"
    save_dls(bank_of(instrument(make_patch(0, msb=121, lsb=6), region(sine(period=50)))), layer)
    song = _program_song(ctx.work / "item4-song.mid", [(0, 0, 0, 0), (1, 121, 6, 0)])
    rows = []
    for label, banks in (
        ("--bank TimGM6mb", [ctx.timgm]),
        ("--bank layer", [layer]),
        ("--bank TimGM6mb --bank layer", [ctx.timgm, layer]),
    ):
        out = ctx.work / f"item4-{len(rows)}.dmusd.wav"
        figures = render_dmusd(song, out, banks, ctx.rate)
        x = read_audio(out)[0].mean(axis=1)
        cells = _seconds(x, ctx.rate, 2)
        heard = [_who(level - figures["volume"], hz) for level, hz in cells]
        rows.append(f"| `{label}` | {heard[0]} | {heard[1]} | {figures['missed_patches']} |")
    return "\n".join(
        [
            "### 4. `dmusd render --bank A --bank B` stacks banks",
            "",
            "A layer bank (one instrument, a sine an octave up, at MSB 121 / LSB 6) over "
            "TimGM6mb; channel 1 plays the GM piano, channel 2 selects 121/6 program 0.",
            "",
            "| banks | ch 1: program 0 | ch 2: 121/6 program 0 | missed patches |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def _who(level: float, hz: float) -> str:
    """Which bank a second of item 4's song came from: the layer is a pure 880 Hz sine."""
    if hz == 0:
        return "silent"
    source = "the layer (880 Hz sine)" if abs(hz - 880) < 1 else "TimGM6mb's piano"
    return f"{source}, {level:.1f} dBFS"


# -- item 7 ---------------------------------------------------------------------------------------
def item_7(ctx: Context) -> str:
    name = "test-all-gm-sounds.mid"
    song = ctx.midi / name
    sf3 = convert_sf2_to_sf3(ctx.timgm, ctx.work / "TimGM6mb.sf3")
    notes = read_notes(song, ctx.rate)
    ours_sf2, fluid_sf2, figures = ctx.renders[name]
    ours_sf3, fluid_sf3 = ctx.work / "item7.dmusd.wav", ctx.work / "item7.fluid.wav"
    volume_sf3 = render_dmusd(song, ours_sf3, sf3, ctx.rate)["volume"]
    _fluid(song, fluid_sf3, sf3, ctx.rate)
    rows = []
    for label, a, b, shift in (
        ("dmusd", ours_sf3, ours_sf2, volume_sf3 - figures["volume"]),
        ("FluidSynth 2.6", fluid_sf3, fluid_sf2, 0.0),
    ):
        diff = raw_levels(_load(a, ctx.rate), _load(b, ctx.rate), notes) - shift
        diff = diff[~np.isnan(diff)]
        rows.append(
            f"| {label} | {np.median(diff):+.2f} | {diff.mean():+.2f} | "
            f"{np.percentile(diff, 5):+.2f} .. {np.percentile(diff, 95):+.2f} | {len(diff)} |"
        )
    return "\n".join(
        [
            "### 7. SF3 against the SF2 it was made from",
            "",
            f"TimGM6mb turned into an SF3 by tests/banks/sf3_convert.py (sf3convert's layout, "
            f"libsndfile's Vorbis encoder; {sf3.stat().st_size / 1e6:.1f} MB), {name} rendered "
            "from both; per-note level SF3 - SF2 in dB:",
            "",
            "| synth | median | mean | 5 %..95 % | notes |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "dmusd decodes Vorbis at unity gain, so its SF3 plays at the SF2's level to the "
            "codec's noise. FluidSynth 2.6 reads Vorbis samples with libsndfile's "
            "SFC_SET_SCALE_FLOAT_INT_READ (fluid_sffile.c), which scales each sample to its "
            "own peak (libsndfile issue 388): its SF3 plays louder than its SF2 by each "
            "sample's headroom. That is the 1 dB the issue saw between the two synths; dmusd "
            "keeps the SoundFont's level.",
            "",
        ]
    )


# -- item 9 ---------------------------------------------------------------------------------------
DLS_READER_FILES = ["test-all-gm-sounds.mid", "test-all-gm-percussion.mid"]


def item_9(ctx: Context) -> tuple[str, list[FileResult]]:
    """The reference, and TimGM6mb.dls (our writer) through FluidSynth 2.6's own DLS loader
    against its SF2: a second reader checking our writer."""
    lines = [
        "### 9. The reference: FluidSynth 2.6.0",
        "",
        f"Every comparison in this report is against `{ctx.fluid_version}` (the build in "
        "../shared/tools/fluidsynth-2.6/, run by bench/fluidsynth26.py); Debian's 2.3.1 stays the "
        "reference of the live JACK bench.",
        "",
    ]
    results: list[FileResult] = []
    if ctx.dls is None:
        return "\n".join([*lines, "(the DLS check runs without --quick)", ""]), results
    lines += [
        "**TimGM6mb as DLS (`dmusd bank convert`) read by FluidSynth 2.6's DLS loader, against "
        "the SF2 read by its SF2 loader** (no gain alignment: the same synth on the same "
        "instrument data, so every difference is the DLS file or one of FluidSynth's two "
        "readers):",
        "",
        SUMMARY_HEAD.replace("dmusd", "FluidSynth DLS").replace("FluidSynth |", "FluidSynth SF2 |"),
    ]
    model = load_bank(ctx.timgm)
    sections = []
    for name in DLS_READER_FILES:
        song = ctx.midi / name
        out = ctx.work / f"item9-{name}.fluid-dls.wav"
        code, error = _fluid_run(song, out, ctx.dls, ctx.rate)
        if code:
            lines.append(f"| {name} | FluidSynth 2.6 refused the DLS (exit {code}: {error}) |")
            continue
        a, b = _load(out, ctx.rate), _load(ctx.renders[name][1], ctx.rate)
        loud, peak, seconds = whole_file(a, b)
        notes = read_notes(song, ctx.rate)
        f = FileResult(
            name, "TimGM6mb DLS vs SF2 (FluidSynth)", compare(a, b, notes), loud, peak, seconds
        )
        f.causes = {r.note.index: likely_cause(model, r) for r in f.results if r.fails}
        results.append(f)
        lines.append(summary_row(f))
        sections.append(file_section(f, ("FluidSynth 2.6 DLS", "FluidSynth 2.6 SF2")))
        if name == "test-all-gm-sounds.mid":
            by_program: dict[int, list[float]] = {}
            for r in f.results:
                if r.audible:
                    by_program.setdefault(r.note.program, []).append(r.level_diff)
            worst = sorted(by_program.items(), key=lambda kv: -abs(np.median(kv[1])))[:10]
            listed = ", ".join(f"{p} ({np.median(v):+.1f} dB)" for p, v in worst)
            sections.insert(
                0,
                f"Programs furthest apart (median DLS - SF2 per program): {listed}. Found by "
                "this check and fixed in dmusd/banks/dls_writer.py: FluidSynth 2.6 plays a "
                "region that has its own articulation list from that list alone "
                "(fluid_dls.cpp: a region's artindex, else the instrument's), where dmusd and "
                "Wine apply the instrument's list and then the region's; the writer had moved "
                "the connections every region shares (EG1 decay and sustain among them) to "
                "the instrument, so FluidSynth played TimGM6mb's decaying programs (mallets, "
                "guitars, basses, harp) without their decay, 3-10 dB loud. A region's list "
                "now carries the instrument's connections too, and both kinds of reader hear "
                "the same thing: every level within 1 dB. What was left on 2026-12-02: 20 "
                "notes of vibrato programs (strings, brass, reeds: key 60, the first note of "
                "each program) 5-11 cents apart, the vibrato LFO as FluidSynth's DLS reader "
                "sets it up against its SF2 reader (delayVibLFO/freqVibLFO, SF2.04 8.1.2 gens "
                "23-24; DLS2 CONN_DST_VIB_STARTDELAY/FREQUENCY), not settled.",
            )
    lines.append("")
    lines += sections
    return "\n".join(lines), results


SECTIONS: list[tuple[int, Callable[[Context], str]]] = [
    (1, item_1),
    (2, item_2),
    (3, item_3),
    (4, item_4),
    (5, item_5),
    (6, item_6),
    (7, item_7),
    (8, item_8),
]


def issue12_report(ctx: Context) -> tuple[str, list[FileResult]]:
    """The '## Issue 12, item by item' part of the report, and the DLS-reader results."""
    parts = ["## Issue 12, item by item", ""]
    for _, section in SECTIONS:
        parts.append(section(ctx))
    text, results = item_9(ctx)
    parts.append(text)
    return "\n".join(parts), results
