"""Markdown for bench/out/fidelity.md: the summary, one table per file, the notes outside the
tolerances with their likely cause, the SF2 -> DLS comparison and the plots."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from fidelity_compare import (
    LEVEL_TOL,
    PITCH_TOL,
    TIME_FLOOR,
    TIME_TOL,
    NoteResult,
    onset_exactness,
    times_match,
)

MAX_ROWS = 12  # failing notes listed per file; the rest are counted


@dataclass(slots=True)
class FileResult:
    name: str
    bank: str
    results: list[NoteResult]
    loudness: tuple[float, float]  # whole-file RMS dBFS of a and b (b aligned)
    peak: tuple[float, float]  # whole-file peak dBFS of a and b (b aligned)
    seconds: tuple[float, float]
    causes: dict[int, str] = field(default_factory=dict)  # note index -> likely cause
    plots: list[str] = field(default_factory=list)
    mix_results: list[NoteResult] = field(default_factory=list)  # set where notes were judged alone


def tally(results: list[NoteResult]) -> dict[str, object]:
    """Counts inside each tolerance and the worst case of each measure."""
    judged = [r for r in results if r.audible]
    level = np.array([r.level_diff for r in judged])
    cents = np.array([r.cents for r in judged if not np.isnan(r.cents) and not r.note.drum])
    att = [(r.attack_a, r.attack_b) for r in judged if not np.isnan(r.attack_a + r.attack_b)]
    rel = [(r.release_a, r.release_b) for r in judged if not np.isnan(r.release_a + r.release_b)]
    onsets_a = [r.onset_a for r in judged if r.onset_a is not None]
    onsets_b = [r.onset_b for r in judged if r.onset_b is not None]

    def worst(values: np.ndarray) -> float:
        return float(values[np.argmax(np.abs(values))]) if len(values) else float("nan")

    def worst_time(pairs: list[tuple[float, float]]) -> float:
        if not pairs:
            return float("nan")
        rel_err = [(a - b) / max(b, TIME_FLOOR) for a, b in pairs]
        return float(rel_err[int(np.argmax(np.abs(rel_err)))])

    return {
        "notes": len(results),
        "judged": len(judged),
        "level_n": len(level),
        "level_ok": int((np.abs(level) <= LEVEL_TOL).sum()),
        "level_worst_db": worst(level),
        "level_median_abs_db": float(np.median(np.abs(level))) if len(level) else float("nan"),
        "pitch_n": len(cents),
        "pitch_ok": int((np.abs(cents) <= PITCH_TOL).sum()),
        "pitch_worst_cents": worst(cents),
        "onset_n": len(onsets_a),
        "onset": onset_exactness(judged),
        "onset_a_range": (min(onsets_a), max(onsets_a)) if onsets_a else None,
        "onset_b_range": (min(onsets_b), max(onsets_b)) if onsets_b else None,
        "attack_n": len(att),
        "attack_ok": sum(times_match(a, b) for a, b in att),
        "attack_worst_rel": worst_time(att),
        "release_n": len(rel),
        "release_ok": sum(times_match(a, b) for a, b in rel),
        "release_worst_rel": worst_time(rel),
    }


def outside_level_or_pitch(r: NoteResult) -> bool:
    """An audible note outside +-1.5 dB or +-3 cents: what the report's headline share counts."""
    return r.audible and bool({"level", "pitch"} & set(r.fails))


def notes_within(results: list[NoteResult]) -> tuple[int, int]:
    """(audible notes within +-1.5 dB and +-3 cents, audible notes)."""
    judged = [r for r in results if r.audible]
    return sum(1 for r in judged if not outside_level_or_pitch(r)), len(judged)


def _frac(ok: int, n: int) -> str:
    return f"{ok}/{n}" if n else "-"


def _f(x: float, fmt: str = "+.2f") -> str:
    return "-" if x is None or np.isnan(x) else format(x, fmt)


def summary_row(f: FileResult) -> str:
    t = tally(f.results)
    o = t["onset"]
    return (
        f"| {f.name} | {f.bank} | {t['notes']} | {_frac(t['level_ok'], t['level_n'])} "
        f"({_f(t['level_worst_db'])}) | {_frac(t['pitch_ok'], t['pitch_n'])} "
        f"({_f(t['pitch_worst_cents'], '+.1f')}) | {o['exact']} exact, {o['late']} off, "
        f"{o['unverified']} unverified | {_frac(t['attack_ok'], t['attack_n'])} | "
        f"{_frac(t['release_ok'], t['release_n'])} | {f.loudness[0] - f.loudness[1]:+.2f} | "
        f"{f.peak[0]:.1f} / {f.peak[1]:.1f} |"
    )


SUMMARY_HEAD = (
    "| file | bank | notes | level within +-1.5 dB (worst) | pitch within +-3 c (worst) | "
    "onsets (dmusd) | attack within 5 % | release within 5 % | whole-file loudness a-b, dB | "
    "peak a / b, dBFS |\n|---|---|---|---|---|---|---|---|---|---|"
)


def note_row(r: NoteResult, cause: str) -> str:
    n = r.note
    return (
        f"| {n.label} | {n.on / 48000:.3f} | {r.level_a:.1f} | {r.level_diff:+.2f} | "
        f"{_f(r.cents, '+.1f')} | {r.onset_a if r.onset_a is not None else '-'} / "
        f"{r.onset_b if r.onset_b is not None else '-'} | "
        f"{_f(r.attack_a * 1000, '.1f')} / {_f(r.attack_b * 1000, '.1f')} | "
        f"{_f(r.release_a * 1000, '.0f')} / {_f(r.release_b * 1000, '.0f')} | "
        f"{_f(r.centroid_a, '.0f')} / {_f(r.centroid_b, '.0f')} | {', '.join(r.fails)} | {cause} |"
    )


NOTE_HEAD = (
    "| note | at s | level a dBFS | level a-b dB | pitch a-b cents | onset a / b samples | "
    "attack a / b ms | release a / b ms | centroid a / b Hz | outside | likely cause |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def file_section(f: FileResult, labels: tuple[str, str]) -> str:
    t = tally(f.results)
    out = [f"### {f.name} ({f.bank}; a = {labels[0]}, b = {labels[1]})", ""]
    out.append(
        f"{t['notes']} notes, {t['judged']} audible; length {f.seconds[0]:.2f} s / "
        f"{f.seconds[1]:.2f} s; whole-file RMS {f.loudness[0]:.2f} / {f.loudness[1]:.2f} dBFS, "
        f"peak {f.peak[0]:.2f} / {f.peak[1]:.2f} dBFS; median |level a-b| "
        f"{_f(t['level_median_abs_db'], '.2f')} dB; onset a {t['onset_a_range']}, "
        f"b {t['onset_b_range']} samples after the note-on."
    )
    out.append("")
    failing = [r for r in f.results if r.fails]
    if failing:
        failing.sort(key=lambda r: -abs(r.level_diff) - abs(np.nan_to_num(r.cents)))
        out += [NOTE_HEAD]
        out += [note_row(r, f.causes.get(r.note.index, "")) for r in failing[:MAX_ROWS]]
        if len(failing) > MAX_ROWS:
            out.append(f"\n... and {len(failing) - MAX_ROWS} more notes outside a tolerance.")
    else:
        out.append("Every judged note is inside every tolerance.")
    out.append("")
    for p in f.plots:
        out.append(f"![{p}]({p})")
    out.append("")
    return "\n".join(out)


def tolerances_text() -> str:
    return (
        f"Tolerances: pitch within +-{PITCH_TOL:g} cents (melodic notes), level within "
        f"+-{LEVEL_TOL:g} dB (RMS over the note's segment), envelope times within "
        f"{100 * TIME_TOL:g} % (or {1000 * TIME_FLOOR:g} ms, the envelope's resolution, whichever "
        "is larger), onsets exact (see below)."
    )
