"""Level-balancing the built-in GM bank by measurement: writes dmusd/banks/gm_levels.py.

Every GM program plays middle C and every GM drum key plays itself, at velocity 100, held for
HOLD seconds, one after another in one song rendered by the real command (`dmusd render
--no-effects`, the built-in bank). Each note's loudness is the loudest momentary loudness over
the note (ITU-R BS.1770's K-weighting, 400 ms windows every 100 ms, in dB re full scale), so slow
swells and short hits are judged by their loudest moment as a listener hears it. The table holds,
per program and per drum key, the trim in dB that brings it to TARGET_DB; a rerun measures the
bank with the current trims and adjusts them, so it converges and is idempotent.

    python bench/gm_levels.py            # measure, print, rewrite dmusd/banks/gm_levels.py
    python bench/gm_levels.py --check    # measure and print only (the test does this)

Ends with one JSON line: spread before and after, worst deviations, the peaks.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "dmusd" / "banks" / "gm_levels.py"
RATE = 48000
VELOCITY = 100
HOLD = 1.0  # seconds the key is held
SLOT = 4.0  # seconds from one note to the next (the longest release has died away by then)
TICKS = 480  # per beat, at 120 bpm: one beat = 0.5 s
TARGET_DB = -28.0  # loudest momentary loudness (K-weighted, dB FS) of every program and drum
TOLERANCE_DB = 3.0
WINDOW = 0.4  # seconds: BS.1770 momentary loudness
HOP = 0.1
DRUM_CHANNEL = 9


@dataclass(frozen=True, slots=True)
class Probe:
    kind: str  # "program" | "drum"
    number: int  # program 0-127, or drum key
    start: float  # seconds into the song


def probes() -> list[Probe]:
    from dmusd.banks.gm_names import PERCUSSION

    out = [Probe("program", p, i * SLOT) for i, p in enumerate(range(128))]
    out += [Probe("drum", k, (128 + i) * SLOT) for i, k in enumerate(sorted(PERCUSSION))]
    return out


def song(path: Path, notes: list[Probe]) -> None:
    """One type-0 file playing every probe in turn."""
    track = mido.MidiTrack()
    ticks_per_second = 2 * TICKS
    events: list[tuple[int, mido.Message]] = []
    for probe in notes:
        on = round(probe.start * ticks_per_second)
        off = round((probe.start + HOLD) * ticks_per_second)
        if probe.kind == "program":
            events.append((on, mido.Message("program_change", channel=0, program=probe.number)))
            events += [
                (on, mido.Message("note_on", channel=0, note=60, velocity=VELOCITY)),
                (off, mido.Message("note_off", channel=0, note=60)),
            ]
        else:
            ch = DRUM_CHANNEL
            events += [
                (on, mido.Message("note_on", channel=ch, note=probe.number, velocity=VELOCITY)),
                (off, mido.Message("note_off", channel=ch, note=probe.number)),
            ]
    now = 0
    for tick, message in events:  # already in time order
        track.append(message.copy(time=tick - now))
        now = tick
    last = round((notes[-1].start + SLOT) * ticks_per_second)
    track.append(mido.MetaMessage("end_of_track", time=last - now))
    mido.MidiFile(type=0, ticks_per_beat=TICKS, tracks=[track]).save(path)


def render(midi: Path, wav: Path, extra: list[str] = ()) -> str:
    """`dmusd render` as a user runs it; its summary line."""
    cmd = [sys.executable, "-m", "dmusd.cli", "render", str(midi), "-o", str(wav),
           "--rate", str(RATE), *extra]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"dmusd render failed: {done.stderr}")
    return done.stderr.strip().splitlines()[-1]


# BS.1770's K filter at 48 kHz (its pre-filter shelf and RLB high pass), from the standard
K_STAGES = (
    ((1.53512485958697, -2.69169618940638, 1.19839281085285),
     (1.0, -1.69065929318241, 0.73248077421585)),
    ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621)),
)  # fmt: skip


def k_weighting(frequencies: np.ndarray) -> np.ndarray:
    """|H(f)|^2 of the K filter at RATE (48 kHz, the coefficients' rate)."""
    z = np.exp(-2j * np.pi * frequencies / RATE)  # z^-1 on the unit circle
    power = np.ones(frequencies.shape)
    for b, a in K_STAGES:
        h = (b[0] + b[1] * z + b[2] * z**2) / (a[0] + a[1] * z + a[2] * z**2)
        power *= np.abs(h) ** 2
    return power


def momentary_max_db(stereo: np.ndarray) -> float:
    """The loudest 400 ms window of `stereo` (frames x 2), K-weighted, in dB FS (the sum of the
    channels' mean squares, as BS.1770 adds channels)."""
    n = round(WINDOW * RATE)
    hop = round(HOP * RATE)
    weights = k_weighting(np.fft.rfftfreq(n, 1 / RATE))
    best = 0.0
    for start in range(0, max(1, stereo.shape[0] - n + 1), hop):
        block = stereo[start : start + n]
        if block.shape[0] < n:
            block = np.pad(block, ((0, n - block.shape[0]), (0, 0)))
        spectrum = np.abs(np.fft.rfft(block, axis=0)) ** 2
        # Parseval: energy per channel = (|X0|^2 + 2 sum |Xk|^2 (+|XN/2|^2)) / n^2 for mean square
        scale = np.full(weights.size, 2.0)
        scale[0] = 1.0
        if n % 2 == 0:
            scale[-1] = 1.0
        power = float(np.sum(spectrum * (weights * scale)[:, None])) / n**2
        best = max(best, power)
    return 10 * np.log10(best) if best > 0 else -200.0


def measure() -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float], str]:
    """(loudness dB, peak dB) of every probe, and render's summary line."""
    notes = probes()
    with tempfile.TemporaryDirectory(prefix="dmusd-gm-levels-") as tmp:
        midi, wav = Path(tmp) / "probes.mid", Path(tmp) / "probes.wav"
        song(midi, notes)
        summary = render(midi, wav, ["--no-effects"])
        audio, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    assert rate == RATE
    loud, peaks = {}, {}
    for probe in notes:
        a = round(probe.start * RATE)
        segment = audio[a : a + round((HOLD + 1.0) * RATE)]
        loud[(probe.kind, probe.number)] = momentary_max_db(segment)
        peak = float(np.max(np.abs(segment))) if segment.size else 0.0
        peaks[(probe.kind, probe.number)] = 20 * np.log10(max(peak, 1e-10))
    return loud, peaks, summary


def write_table(programs: list[float], drums: dict[int, float]) -> None:
    lines = [
        '"""Per-program and per-drum-key trims (dB) of the built-in GM bank. GENERATED by',
        "bench/gm_levels.py from measured loudness (BS.1770 momentary maximum of a held note at",
        f"velocity {VELOCITY}, target {TARGET_DB:g} dB FS): do not edit, rerun the script.",
        '"""',
        "",
        "# fmt: off",
        "PROGRAM_TRIM_DB = (",
    ]
    for row in range(0, 128, 8):
        lines.append("    " + ", ".join(f"{v:.1f}" for v in programs[row : row + 8]) + ",")
    lines += [")", "DRUM_TRIM_DB = {"]
    keys = sorted(drums)
    for row in range(0, len(keys), 6):
        lines.append("    " + ", ".join(f"{k}: {drums[k]:.1f}" for k in keys[row : row + 6]) + ",")
    lines += ["}", "# fmt: on", ""]
    TABLE.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="measure only, write nothing")
    args = parser.parse_args()
    from dmusd.banks import gm_levels

    loud, peaks, summary = measure()
    print(summary)
    deviation = {k: v - TARGET_DB for k, v in loud.items()}
    for (kind, number), d in sorted(deviation.items(), key=lambda kv: -abs(kv[1]))[:12]:
        print(f"{kind} {number:3d}: {loud[(kind, number)]:6.1f} dB ({d:+.1f}), "
              f"peak {peaks[(kind, number)]:6.1f} dBFS")  # fmt: skip
    worst = max(abs(d) for d in deviation.values())
    spread = max(loud.values()) - min(loud.values())
    print(f"loudness spread {spread:.1f} dB, worst deviation from {TARGET_DB:g} dB: {worst:.1f} dB")
    if not args.check:
        programs = [
            round(gm_levels.PROGRAM_TRIM_DB[p] - deviation[("program", p)], 1) for p in range(128)
        ]
        drums = {
            k: round(gm_levels.DRUM_TRIM_DB.get(k, 0.0) - deviation[("drum", k)], 1)
            for kind, k in deviation
            if kind == "drum"
        }
        write_table(programs, drums)
        print(f"wrote {TABLE.relative_to(ROOT)}")
    print(json.dumps({
        "bench": "gm_levels", "target_db": TARGET_DB, "spread_db": round(spread, 2),
        "worst_deviation_db": round(worst, 2), "max_peak_dbfs": round(max(peaks.values()), 2),
        "summary": summary,
    }))  # fmt: skip
    return 0 if worst <= TOLERANCE_DB else 1


if __name__ == "__main__":
    sys.exit(main())
