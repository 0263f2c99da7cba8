"""Fidelity report: dmusd against FluidSynth 2.6.0 (same bank, same rate), note by note, with
pictures.

Renders a suite with both synths (reverb and chorus off): every GM program and the GM drum kit,
the RPN, controller and SysEx test files, the SoundFont spec test with its own bank, and a dense
16-channel song generated here. Each note's window comes from the MIDI file (fidelity_notes);
pitch, level, onset, attack and release times and spectral centroid are compared per note
(fidelity_compare), whole-file loudness and peak per file. Levels are aligned once per bank: the
median of (dmusd - FluidSynth) over every note of that bank's files is taken out of FluidSynth's
render, so what remains are per-note differences. TimGM6mb is also converted to DLS with
`dmusd bank convert` and rendered again: SF2 and DLS should sound alike, in dmusd and through
FluidSynth 2.6's own DLS loader (a second reader of our writer's file). The headline figure is
the share of notes within +-1.5 dB and +-3 cents; the findings group the exceptions with their
spec references (fidelity_findings), and fidelity_issue12 adds one measured section per item of
issue 12.

Writes bench/out/fidelity.md and bench/out/*.png. Usage:
    python bench/fidelity.py [--quick] [--out bench/out] [--keep DIR]
The last line is one JSON object with the summary figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests/ builders for the banks

from fidelity_causes import likely_cause  # noqa: E402
from fidelity_channels import per_channel_results  # noqa: E402
from fidelity_compare import compare, raw_levels  # noqa: E402
from fidelity_findings import exceptions_section  # noqa: E402
from fidelity_issue12 import Context, issue12_report  # noqa: E402
from fidelity_master_tuning import reference_song  # noqa: E402
from fidelity_measure import Render, scaled, whole_file  # noqa: E402
from fidelity_notes import read_notes  # noqa: E402
from fidelity_plots import envelopes, histograms, level_differences, spectrograms  # noqa: E402
from fidelity_render import (  # noqa: E402
    FLUID_GAIN,
    convert_to_dls,
    read_audio,
    render_dmusd,
    start_fluidsynth,
)
from fidelity_report import (  # noqa: E402
    SUMMARY_HEAD,
    FileResult,
    file_section,
    notes_within,
    summary_row,
    tally,
    tolerances_text,
)
from fidelity_song import write_song  # noqa: E402

from dmusd.banks import load_bank  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
MIDI = DATA / "test-midi-files" / "midi"
SPEC = DATA / "soundfont-spec-test"
TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
RATE = 48000
LABELS = ("dmusd", "FluidSynth")

GM_FILES = [
    "test-all-gm-sounds.mid",
    "test-all-gm-percussion.mid",
    "test-c-major-scale.mid",
    "test-note-on-velocity.mid",
    "test-rpn-00-00-pitch-bend-range.mid",
    "test-rpn-00-01-fine-tuning.mid",
    "test-rpn-00-02-coarse-tuning.mid",
    "test-rpn-00-05-modulation-depth-range.mid",
    "test-control-00-20-bank-select.mid",
    "test-control-40-damper.mid",
    "test-control-41-portamento.mid",
    "test-control-54-portamento-control.mid",
    "test-control-7c-omni-mode-off.mid",
    "test-control-7d-omni-mode-on.mid",
    "test-control-7e-mono-mode-on.mid",
    "test-control-7f-poly-mode-on.mid",
    "test-sysex-7e-09-01-gm1-enable.mid",
    "test-sysex-7e-09-02-gm-disable.mid",
    "test-sysex-7e-09-03-gm2-enable.mid",
    "test-sysex-7f-04-03-master-fine-tuning.mid",
    "test-sysex-7f-04-04-master-coarse-tuning.mid",
    "test-sysex-7x-08-0x-scale-tuning.mid",
    "test-sysex-gs-40-1x-15-drum-part-change.mid",
    "test-sysex-gs-40-1x-4x-scale-tuning.mid",
]
QUICK_FILES = GM_FILES[2:8]
DLS_FILES = ["test-all-gm-sounds.mid", "test-all-gm-percussion.mid", "dense-song.mid"]


def render_pair(song: Path, bank: Path, work: Path, tag: str) -> tuple[Path, Path, dict]:
    """dmusd in this process while FluidSynth renders the same file in the background (or
    its master tuning as channel tuning: fidelity_master_tuning)."""
    a, b = work / f"{tag}.dmusd.wav", work / f"{tag}.fluid.wav"
    proc = start_fluidsynth(reference_song(song, work), b, bank, RATE)
    figures = render_dmusd(song, a, bank, RATE)
    if proc.wait() != 0:
        raise RuntimeError(f"fluidsynth failed on {song}")
    return a, b, figures


def load(path: Path) -> Render:
    audio, rate = read_audio(path)
    assert rate == RATE, f"{path} is at {rate} Hz"
    return Render.of(audio, rate)


def analyse(
    name: str,
    bank_name: str,
    notes,
    a: Render,
    b: Render,
    offset_db: float,
    bank_model,
) -> FileResult:
    b = scaled(b, offset_db) if offset_db else b
    results = compare(a, b, notes)
    loud, peak, seconds = whole_file(a, b)
    f = FileResult(name, bank_name, results, loud, peak, seconds)
    for r in results:
        if r.fails:
            f.causes[r.note.index] = likely_cause(bank_model, r)
    return f


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few small files only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--keep", type=Path, help="keep the renders in this folder")
    args = parser.parse_args()
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = None
    if args.keep:
        work = args.keep
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="dmusd-fidelity-")
        work = Path(tmp.name)
    song = write_song(work / "dense-song.mid")

    suite: list[tuple[str, Path, str, Path]] = []  # name, midi, bank name, bank file
    for name in QUICK_FILES if args.quick else GM_FILES:
        suite.append((name, MIDI / name, "TimGM6mb", TIMGM))
    suite.append(("dense-song.mid", song, "TimGM6mb", TIMGM))
    if not args.quick:
        suite.append(
            ("sf_spec_test.mid", SPEC / "sf_spec_test.mid", "spec-test", SPEC / "sf_spec_test.sf2")
        )

    print(f"rendering {len(suite)} files with dmusd and FluidSynth at {RATE} Hz ...", flush=True)
    renders = {}
    t0 = time.monotonic()
    for name, midi, _, bank in suite:
        renders[name] = render_pair(midi, bank, work, name.removesuffix(".mid"))
    render_seconds = time.monotonic() - t0

    dls_path = work / "TimGM6mb.dls"
    dls_renders = {}
    dls_renders_volume = {}
    if not args.quick:
        convert_to_dls(TIMGM, dls_path)
        for name in DLS_FILES:
            midi = song if name == "dense-song.mid" else MIDI / name
            out = work / f"{name.removesuffix('.mid')}.dls.wav"
            dls_renders_volume[name] = render_dmusd(midi, out, dls_path, RATE)["volume"]
            dls_renders[name] = out

    # Align the gain once per bank: the median per-note difference over all its files.
    notes = {name: read_notes(midi, RATE) for name, midi, _, _ in suite}
    diffs: dict[str, list[np.ndarray]] = {}
    for name, _, bank_name, _ in suite:
        a, b, figures = renders[name]
        diff = raw_levels(load(a), load(b), notes[name]) - figures["volume"]
        diffs.setdefault(bank_name, []).append(diff)
    offsets = {k: float(np.nanmedian(np.concatenate(v))) for k, v in diffs.items()}
    for k, v in offsets.items():
        fluid_equiv = FLUID_GAIN * 10 ** (v / 20)
        print(
            f"{k}: dmusd at volume 0 is {v:+.2f} dB from FluidSynth -g {FLUID_GAIN:g}; "
            f"dmusd's default level = FluidSynth -g {fluid_equiv:.2f}"
        )

    models = {"TimGM6mb": load_bank(TIMGM)}
    if not args.quick:
        models["spec-test"] = load_bank(SPEC / "sf_spec_test.sf2")
    files: list[FileResult] = []
    for name, _, bank_name, _ in suite:
        a_path, b_path, figures = renders[name]
        a, b = load(a_path), load(b_path)
        gain = offsets[bank_name] + figures["volume"]
        f = analyse(name, bank_name, notes[name], a, b, gain, models[bank_name])
        b_aligned = scaled(b, gain)
        stem = name.removesuffix(".mid")
        if name in (
            "test-all-gm-sounds.mid",
            "test-all-gm-percussion.mid",
            "sf_spec_test.mid",
            "dense-song.mid",
        ):
            f.plots.append(
                envelopes(a, b_aligned, f"{name}: envelopes", LABELS, args.out / f"env-{stem}.png")
            )
        if name in ("test-all-gm-sounds.mid", "test-all-gm-percussion.mid", "sf_spec_test.mid"):
            f.plots.append(
                level_differences(
                    f.results,
                    f"{name}: per-note level, dmusd - FluidSynth (dB)",
                    args.out / f"level-{stem}.png",
                )
            )
        if name == "test-all-gm-sounds.mid":
            f.plots.append(
                spectrograms(
                    a,
                    b_aligned,
                    316.25,
                    330.0,
                    "programs 115-119",
                    LABELS,
                    args.out / "spec-gm-115-119.png",
                )
            )
        if name == "sf_spec_test.mid":
            f.plots.append(
                spectrograms(
                    a,
                    b_aligned,
                    0.0,
                    14.0,
                    "tests 1-2 (envelopes)",
                    LABELS,
                    args.out / "spec-sfspec-envelopes.png",
                )
            )
        if name == "dense-song.mid":
            f.plots.append(
                spectrograms(
                    a, b_aligned, 0.0, 12.0, "first 12 s", LABELS, args.out / "spec-dense-song.png"
                )
            )
        if name == "dense-song.mid":
            t0 = time.monotonic()
            judge_per_channel(f, song, notes[name], work, offsets[bank_name], models[bank_name])
            render_seconds += time.monotonic() - t0  # the per-channel renders (with their analysis)
        files.append(f)
        del a, b, b_aligned
        print(
            f"  {name}: {figures['seconds']:.1f} s, {len(f.results)} notes, "
            f"{sum(bool(r.fails) for r in f.results)} outside a tolerance",
            flush=True,
        )

    all_results = [r for f in files if f.bank == "TimGM6mb" for r in f.results]
    hist = histograms(all_results, "TimGM6mb suite", LABELS, args.out / "hist-timgm6mb.png")

    dls_files: list[FileResult] = []
    for name, wav in dls_renders.items():
        sf2_wav = renders[name][0]
        a, b = load(wav), load(sf2_wav)
        gain = dls_renders_volume[name] - renders[name][2]["volume"]
        f = analyse(name, "TimGM6mb DLS vs SF2", notes[name], a, b, gain, models["TimGM6mb"])
        if name == "test-all-gm-sounds.mid":
            f.plots.append(
                envelopes(
                    a,
                    b,
                    "TimGM6mb as DLS (a) and as SF2 (b), both dmusd",
                    ("dmusd DLS", "dmusd SF2"),
                    args.out / "env-dls-vs-sf2.png",
                )
            )
        dls_files.append(f)

    from fluidsynth26 import version

    ctx = Context(work, RATE, MIDI, TIMGM, None if args.quick else dls_path, renders, version())
    issue12, fluid_dls_files = issue12_report(ctx)
    suite_results = [r for f in files for r in f.results]
    within, judged = notes_within(suite_results)
    share = within / judged if judged else float("nan")
    print(f"notes within +-1.5 dB and +-3 cents: {within}/{judged} = {100 * share:.1f} %")
    report = write_report(
        args.out, files, dls_files, offsets, hist, render_seconds, args.quick,
        (within, judged, ctx.fluid_version), issue12,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    print(report)
    summary = {
        "seconds": round(elapsed, 1),
        "render_seconds": round(render_seconds, 1),
        "offsets_db": {k: round(v, 2) for k, v in offsets.items()},
        "files": {f.name: _json_tally(f) for f in files},
        "dls_vs_sf2": {f.name: _json_tally(f) for f in dls_files},
        "fluidsynth_dls_vs_sf2": {f.name: _json_tally(f) for f in fluid_dls_files},
        "reference": ctx.fluid_version,
        "notes_within": within,
        "notes_judged": judged,
        "share_within": round(share, 4),
    }
    if tmp is not None:
        tmp.cleanup()
    print(json.dumps(summary))
    return 0


def judge_per_channel(f: FileResult, song: Path, song_notes, work: Path, offset, model) -> None:
    """The dense song's notes judged on renders of each channel alone (fidelity_channels);
    the mix's own per-note results are kept beside them."""

    def judge(notes, a_path, b_path, figures):
        gain = offset + figures["volume"]
        return analyse(f.name, f.bank, notes, load(a_path), load(b_path), gain, model)

    def render(midi, tag):
        return render_pair(midi, TIMGM, work, tag)

    channels = per_channel_results(song, song_notes, work, RATE, render, judge)
    f.mix_results = f.results
    f.results = sorted((r for c in channels for r in c.results), key=lambda r: r.note.index)
    f.causes = {k: v for c in channels for k, v in c.causes.items()}


def _json_tally(f: FileResult) -> dict:
    t = tally(f.results)
    keys = (
        "notes",
        "level_n",
        "level_ok",
        "level_worst_db",
        "pitch_n",
        "pitch_ok",
        "pitch_worst_cents",
        "attack_n",
        "attack_ok",
        "release_n",
        "release_ok",
        "onset",
    )
    return {k: (round(t[k], 2) if isinstance(t[k], float) else t[k]) for k in keys}


def write_report(
    out: Path, files, dls_files, offsets, hist, render_seconds, quick, share, issue12
) -> str:
    within, judged, reference = share
    lines = ["# Fidelity report: dmusd against FluidSynth 2.6", ""]
    lines.append(
        f"Generated by `python bench/fidelity.py`{' --quick' if quick else ''} "
        f"({time.strftime('%Y-%m-%d')}). dmusd renders through its whole pipeline (`dmusd "
        f"render --no-effects`, at volume 0, or lower when that clips: the volume is taken "
        f"back out before comparing), the reference {reference} with `fluidsynth "
        f"-F -g {FLUID_GAIN:g} -o audio.file.format=float`, reverb and chorus off in both, "
        f"{RATE} Hz, same bank. Rendering took {render_seconds:.0f} s in all."
    )
    lines.append("")
    lines.append(
        "**Gain alignment.** Per bank, the median of (dmusd - FluidSynth) over the RMS "
        "levels of all notes of that bank's files is taken out of FluidSynth's render "
        "once; every level below is after that. Offsets:"
    )
    for k, v in offsets.items():
        equiv = FLUID_GAIN * 10 ** (v / 20)
        lines.append(
            f"- {k}: dmusd at volume 0 is {v:+.2f} dB from FluidSynth `-g "
            f"{FLUID_GAIN:g}`, so dmusd's default level equals FluidSynth `-g "
            f"{equiv:.2f}` (FluidSynth's own default is `-g 0.2`)."
        )
    lines += ["", tolerances_text(), ""]
    lines += [
        "## Summary",
        "",
        f"**{within} of {judged} judged notes ({100 * within / max(judged, 1):.1f} %) are within "
        "+-1.5 dB and +-3 cents** of FluidSynth 2.6 (target: 97 %); the exceptions are "
        "explained under Findings, each with its spec reference.",
        *dense_song_note(files),
        "",
        SUMMARY_HEAD,
    ]
    lines += [summary_row(f) for f in files]
    lines += ["", f"![pitch and onset histograms]({hist})", ""]
    lines += [exceptions_section(files), ""]
    lines += [issue12, ""]
    if dls_files:
        lines += [
            "## TimGM6mb as SF2 and as DLS (`dmusd bank convert`), both rendered by dmusd",
            "",
            "No gain alignment here: the two should be the same synth on the same instrument data.",
            "",
            SUMMARY_HEAD.replace("FluidSynth", "SF2"),
        ]
        lines += [summary_row(f) for f in dls_files]
        lines += [""] + [file_section(f, ("DLS", "SF2")) for f in dls_files]
    lines += ["## Per file", ""]
    lines += [file_section(f, LABELS) for f in files]
    text = "\n".join(lines)
    (out / "fidelity.md").write_text(text)
    return f"wrote {out / 'fidelity.md'}"


def dense_song_note(files) -> list[str]:
    """What the dense song's row counts, and what the mix alone would count."""
    for f in files:
        if f.mix_results:
            mix_within, mix_judged = notes_within(f.mix_results)
            return [
                "",
                f"The dense song's notes are judged on renders of each channel alone "
                f"(bench/fidelity_channels.py says why: in the mix a segment lasts until the "
                f"next note-on of any channel, a few ms, and FluidSynth's block-quantized "
                f"onsets dominate it); judged in the mix, {mix_within} of its {mix_judged} "
                f"notes are within. Its loudness, peak and plots are the mix's.",
            ]
    return []


if __name__ == "__main__":
    sys.exit(main())
