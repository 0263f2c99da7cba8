"""Note-by-note comparison of two renders of one MIDI file, judged against the tolerances.

`a` is the render under test (dmusd), `b` the reference (FluidSynth, already scaled by the bank's
gain alignment, or dmusd from another bank format). Levels are RMS over the note's segment;
pitch is the cross-correlation offset of the segments' spectra; onsets are detected against the
file's exact note-on sample; attack and release times come from the 1 ms envelope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from fidelity_measure import (
    Render,
    attack_seconds,
    centroid_hz,
    log_spectrum,
    onset,
    pitch_offset_cents,
    release_seconds,
)
from fidelity_notes import Note

PITCH_TOL = 3.0  # cents
LEVEL_TOL = 1.5  # dB
TIME_TOL = 0.05  # relative
TIME_FLOOR = 0.002  # s: the envelope's resolution (1 ms hops; FluidSynth steps its EG per 64)
AUDIBLE_DB = -70.0  # segments quieter than this in both renders are not judged


@dataclass(slots=True)
class NoteResult:
    note: Note
    level_a: float
    level_b: float
    cents: float = float("nan")
    onset_a: int | None = None
    onset_b: int | None = None
    attack_a: float = float("nan")
    attack_b: float = float("nan")
    release_a: float = float("nan")
    release_b: float = float("nan")
    centroid_a: float = float("nan")
    centroid_b: float = float("nan")
    fails: list[str] = field(default_factory=list)

    @property
    def level_diff(self) -> float:
        return self.level_a - self.level_b

    @property
    def audible(self) -> bool:
        return max(self.level_a, self.level_b) > AUDIBLE_DB


def raw_levels(a: Render, b: Render, notes: list[Note]) -> np.ndarray:
    """(level_a - level_b) per note, unaligned: the input of the per-bank gain alignment."""
    out = []
    for n in notes:
        la, lb = a.level_db(n.on, n.seg_end), b.level_db(n.on, n.seg_end)
        out.append(la - lb if min(la, lb) > AUDIBLE_DB else np.nan)
    return np.array(out)


def times_match(x: float, y: float) -> bool:
    return abs(x - y) <= max(TIME_TOL * abs(y), TIME_FLOOR)


def compare(a: Render, b: Render, notes: list[Note]) -> list[NoteResult]:
    results = []
    for i, n in enumerate(notes):
        r = NoteResult(n, a.level_db(n.on, n.seg_end), b.level_db(n.on, n.seg_end))
        results.append(r)
        if not r.audible:
            continue
        r.cents = pitch_offset_cents(
            log_spectrum(a, n.on, n.seg_end), log_spectrum(b, n.on, n.seg_end)
        )
        r.centroid_a, r.centroid_b = (
            centroid_hz(a, n.on, n.seg_end),
            centroid_hz(b, n.on, n.seg_end),
        )
        r.onset_a, r.onset_b = onset(a, n), onset(b, n)
        if r.onset_a is not None and r.onset_b is not None:
            r.attack_a = attack_seconds(a, n, n.on + r.onset_a)
            r.attack_b = attack_seconds(b, n, n.on + r.onset_b)
        later = [m.on for m in notes[i + 1 :] if m.on > n.off]
        limit = min(later[0] if later else n.off + 5 * a.rate, n.off + 5 * a.rate)
        r.release_a, r.release_b = release_seconds(a, n, limit), release_seconds(b, n, limit)
        judge(r)
    return results


def judge(r: NoteResult) -> None:
    if abs(r.level_diff) > LEVEL_TOL:
        r.fails.append("level")
    if not np.isnan(r.cents) and abs(r.cents) > PITCH_TOL and not r.note.drum:
        r.fails.append("pitch")
    if r.onset_a is not None and r.onset_a < 0:
        r.fails.append("onset")
    if not (np.isnan(r.attack_a) or np.isnan(r.attack_b)) and not times_match(
        r.attack_a, r.attack_b
    ):
        r.fails.append("attack")
    if not (np.isnan(r.release_a) or np.isnan(r.release_b)) and not times_match(
        r.release_a, r.release_b
    ):
        r.fails.append("release")


def onset_exactness(results: list[NoteResult]) -> dict[str, int]:
    """Sample accuracy of `a`'s onsets: notes of one sound (channel, program, key, velocity)
    must all start the same number of samples after their note-on (the sound's own rise from
    zero), wherever they fall against any block grid. Returns counts of exact, late and
    unverified notes (a sound heard once with a non-zero rise cannot be told apart)."""
    groups: dict[tuple, list[int]] = {}
    for r in results:
        if r.onset_a is not None:
            n = r.note
            groups.setdefault((n.channel, n.program, n.key, n.velocity), []).append(r.onset_a)
    exact = late = unverified = 0
    for errs in groups.values():
        rise = min(errs)
        if len(errs) == 1 and rise != 0:
            unverified += 1
            continue
        for e in errs:
            if e == rise and rise >= 0:
                exact += 1
            else:
                late += 1
    return {"exact": exact, "late": late, "unverified": unverified}
