"""The fidelity report's pictures (matplotlib, Agg): small PNGs a person can look at on the web.

Each function writes one file and returns its name: envelopes of the two renders over a whole
file, spectrograms of an excerpt side by side, per-note level differences, and histograms of
pitch and onset errors.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from fidelity_compare import LEVEL_TOL, PITCH_TOL, NoteResult  # noqa: E402
from fidelity_measure import HOP, Render  # noqa: E402

DPI = 72
A_COLOUR, B_COLOUR = "tab:blue", "tab:orange"


def _save(fig, out: Path, dpi: int = DPI) -> str:
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out.name


def envelopes(a: Render, b: Render, title: str, labels: tuple[str, str], out: Path) -> str:
    """Both renders' 10 ms power envelopes (dBFS) over the whole file, and their difference."""
    step = 10  # hops per point: 10 ms
    n = min(len(a.env_db), len(b.env_db)) // step * step

    def coarse(env: np.ndarray) -> np.ndarray:
        power = 10 ** (env[:n] / 10)
        return 10 * np.log10(np.maximum(power.reshape(-1, step).mean(axis=1), 1e-15))

    ea, eb = coarse(a.env_db), coarse(b.env_db)
    t = np.arange(len(ea)) * step * HOP / a.rate
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True, height_ratios=[2, 1])
    top.plot(t, eb, color=B_COLOUR, lw=0.7, label=labels[1])
    top.plot(t, ea, color=A_COLOUR, lw=0.7, label=labels[0], alpha=0.8)
    top.set_ylim(-90, max(ea.max(), eb.max()) + 3)
    top.set_ylabel("dBFS (10 ms)")
    top.legend(loc="upper right", fontsize=8)
    top.set_title(title, fontsize=10)
    loud = np.maximum(ea, eb) > -60
    diff = np.where(loud, ea - eb, np.nan)
    bottom.plot(t, diff, color="k", lw=0.6)
    bottom.axhspan(-LEVEL_TOL, LEVEL_TOL, color="g", alpha=0.15)
    bottom.set_ylim(-12, 12)
    bottom.set_ylabel("dB difference")
    bottom.set_xlabel("seconds")
    return _save(fig, out)


def spectrograms(
    a: Render, b: Render, start: float, end: float, title: str, labels: tuple[str, str], out: Path
) -> str:
    """Spectrograms of the same excerpt from both renders, side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    for ax, r, label in zip(axes, (a, b), labels, strict=True):
        x = r.audio[int(start * r.rate) : int(end * r.rate)].mean(axis=1)
        ax.specgram(x + 1e-9, NFFT=1024, Fs=r.rate, noverlap=0, cmap="magma", vmin=-140, vmax=-20)
        ax.set_title(f"{label}: {title}", fontsize=9)
        ax.set_xlabel(f"seconds from {start:.1f}")
        ax.set_ylim(0, 12000)
    axes[0].set_ylabel("Hz")
    return _save(fig, out, dpi=56)  # noise-like images compress badly: keep them < 200 KB


def level_differences(results: list[NoteResult], title: str, out: Path) -> str:
    """Per-note level difference (a - b, dB) in note order, tolerance band shaded."""
    fig, ax = plt.subplots(figsize=(10, 3.2))
    x = [r.note.index for r in results if r.audible]
    y = [r.level_diff for r in results if r.audible]
    bad = [abs(v) > LEVEL_TOL for v in y]
    ax.axhspan(-LEVEL_TOL, LEVEL_TOL, color="g", alpha=0.15)
    ax.scatter(x, np.clip(y, -15, 15), s=6, c=["tab:red" if f else "k" for f in bad])
    ax.set_ylim(-15.5, 15.5)
    ax.set_xlabel("note (file order)")
    ax.set_ylabel("dB")
    ax.set_title(title, fontsize=10)
    return _save(fig, out)


def histograms(results: list[NoteResult], title: str, labels: tuple[str, str], out: Path) -> str:
    """Pitch offsets (cents) and onset errors (samples) of every measurable note."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.0))
    cents = np.array([r.cents for r in results if not np.isnan(r.cents) and not r.note.drum])
    left.hist(np.clip(cents, -20, 20), bins=80, color="k")
    left.axvspan(-PITCH_TOL, PITCH_TOL, color="g", alpha=0.15)
    left.set_xlabel("pitch difference, cents (clipped to +-20)")
    left.set_title(f"{title}: pitch", fontsize=9)
    oa = [r.onset_a for r in results if r.onset_a is not None]
    ob = [r.onset_b for r in results if r.onset_b is not None]
    bins = np.arange(-0.5, 160.5, 2)
    right.hist(np.clip(ob, 0, 159), bins=bins, color=B_COLOUR, alpha=0.7, label=labels[1])
    right.hist(np.clip(oa, 0, 159), bins=bins, color=A_COLOUR, alpha=0.7, label=labels[0])
    right.set_xlabel("detected onset - note-on sample")
    right.legend(fontsize=8)
    right.set_title(f"{title}: onsets", fontsize=9)
    return _save(fig, out)
