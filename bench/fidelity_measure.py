"""Per-note measurements of one render: level, pitch spectrum, onset, attack, release, centroid.

Everything reads a stereo float array and the notes' sample-exact windows (fidelity_notes);
the envelope is computed once per render with numpy (1 ms hops), so hour-long files stay cheap.
Pitch is compared between two renders, not against a nominal frequency: the log-frequency
magnitude spectra of the same segment are cross-correlated on a 1-cent grid, which works for
chords, tuned (RPN, SysEx) notes and inharmonic sounds alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from fidelity_notes import Note

HOP = 48  # envelope hop in samples: 1 ms at 48 kHz
FLOOR_DB = -150.0
LSB = 1.0 / 32768.0  # one 16-bit step: onsets are the first sample at or above half of it
ONSET_DB_UNDER_PEAK = 1e-3  # -60 dB
ATTACK_TOP_DB = -1.0  # attack time: onset to the envelope's first sample within 1 dB of peak
RELEASE_DROP_DB = 20.0  # release time: note-off to 20 dB below the level at the note-off
PITCH_F_LO, PITCH_F_HI = 40.0, 6000.0
PITCH_CENTS = np.arange(1200 * np.log2(PITCH_F_LO), 1200 * np.log2(PITCH_F_HI), 1.0)
PITCH_MAX_LAG = 150  # cents searched either way
PITCH_SKIP = 0.03  # seconds of attack left out of the pitch and centroid window


@dataclass(slots=True)
class Render:
    """One render's samples and its 1 ms power envelope."""

    audio: np.ndarray  # (frames, 2) float
    rate: int
    env_db: np.ndarray  # power in dB per HOP

    @classmethod
    def of(cls, audio: np.ndarray, rate: int) -> Render:
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = np.stack([audio, audio], axis=1)
        n = len(audio) // HOP * HOP
        power = (audio[:n].astype(np.float64) ** 2).mean(axis=1).reshape(-1, HOP).mean(axis=1)
        return cls(audio, rate, power_db(power))

    def power(self, start: int, end: int) -> float:
        seg = self.audio[max(start, 0) : max(end, 0)].astype(np.float64)
        return float((seg**2).mean()) if len(seg) else 0.0

    def level_db(self, start: int, end: int) -> float:
        return float(power_db(np.array([self.power(start, end)]))[0])


def power_db(power: np.ndarray) -> np.ndarray:
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), FLOOR_DB)


def whole_file(a: Render, b: Render) -> tuple[tuple, tuple, tuple]:
    """RMS over the length both renders share (FluidSynth's file runs on in silence), peaks,
    and each file's length."""
    n = min(len(a.audio), len(b.audio))

    def rms(r: Render) -> float:
        power = float((r.audio[:n].astype(np.float64) ** 2).mean()) if n else 0.0
        return float(power_db(np.array([power]))[0])

    def peak(r: Render) -> float:
        return float(20 * np.log10(max(float(np.abs(r.audio).max(initial=0.0)), 1e-9)))

    return (rms(a), rms(b)), (peak(a), peak(b)), (len(a.audio) / a.rate, len(b.audio) / a.rate)


def scaled(render: Render, gain_db: float) -> Render:
    """The same render with its gain changed (the once-per-bank alignment)."""
    gain = np.float32(10 ** (gain_db / 20))
    return Render(render.audio * gain, render.rate, render.env_db + gain_db)


def log_spectrum(render: Render, start: int, end: int) -> np.ndarray | None:
    """Magnitude spectrum of the segment's mono mix on a 1-cent grid (None when silent)."""
    start += int(PITCH_SKIP * render.rate)
    end = min(end, start + 65536, len(render.audio))
    if end - start < 2048:
        return None
    x = render.audio[start:end].mean(axis=1)
    if not np.any(x):
        return None
    n = 1 << int(np.ceil(np.log2(len(x) * 4)))
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    freqs = np.arange(len(mag)) * render.rate / n
    return np.sqrt(np.interp(2.0 ** (PITCH_CENTS / 1200), freqs, mag))


def pitch_offset_cents(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Cents by which spectrum `a` lies above `b`: the peak of their cross-correlation."""
    if a is None or b is None:
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    n = len(a)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.r_[corr[: PITCH_MAX_LAG + 1], corr[-PITCH_MAX_LAG:]]
    lag_of = np.r_[np.arange(PITCH_MAX_LAG + 1), np.arange(-PITCH_MAX_LAG, 0)]
    k = int(np.argmax(lags))
    if lags[k] <= 0:
        return float("nan")
    y0, y1, y2 = lags[k - 1], lags[k], lags[(k + 1) % len(lags)]
    denom = y0 - 2 * y1 + y2
    frac = 0.5 * (y0 - y2) / denom if denom < 0 else 0.0
    return float(lag_of[k] + frac)


def centroid_hz(render: Render, start: int, end: int) -> float:
    """Spectral centroid of the segment (magnitude-weighted, 20 Hz to 20 kHz)."""
    start += int(PITCH_SKIP * render.rate)
    end = min(end, start + 32768, len(render.audio))
    if end - start < 1024:
        return float("nan")
    x = render.audio[start:end].mean(axis=1)
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / render.rate)
    band = (freqs >= 20) & (freqs <= 20000)
    total = mag[band].sum()
    return float((freqs[band] * mag[band]).sum() / total) if total > 0 else float("nan")


def onset(render: Render, note: Note) -> int | None:
    """Detected onset minus the note-on sample: the first sample above 60 dB under the note's
    early peak (or half a 16-bit step, if higher), provided the 10 ms before the note-on stay
    under that threshold; None when a tail or another note hides the start."""
    look = np.abs(render.audio[note.on : min(note.seg_end, note.on + render.rate // 10)])
    if not len(look):
        return None
    look = look.max(axis=1)
    threshold = max(0.5 * LSB, ONSET_DB_UNDER_PEAK * float(look.max()))
    quiet = int(0.01 * render.rate)
    before = render.audio[max(note.on - quiet, 0) : note.on]
    if len(before) and np.abs(before).max() >= threshold:
        return None
    loud = np.nonzero(look >= threshold)[0]
    return int(loud[0]) if len(loud) else None


def attack_seconds(render: Render, note: Note, start: int) -> float:
    """Seconds from `start` (the detected onset) to the envelope's first hop within 1 dB of the
    note's peak; only for notes alone in their segment."""
    if not note.alone:
        return float("nan")
    a, b = start // HOP, note.seg_end // HOP
    env = render.env_db[a:b]
    if len(env) < 3 or env.max() < -90:
        return float("nan")
    top = int(np.argmax(env >= env.max() + ATTACK_TOP_DB))
    return (a + top + 0.5) * HOP / render.rate - start / render.rate


def release_seconds(render: Render, note: Note, limit: int) -> float:
    """Seconds from the release to 20 dB below the level just before it (first hop there);
    only for notes alone at their release and still sounding (above -80 dBFS) when released."""
    if not note.alone_at_release:
        return float("nan")
    k = note.off // HOP
    if k < 5 or k >= len(render.env_db):
        return float("nan")
    level = float(np.mean(render.env_db[k - 5 : k]))
    peak = float(render.env_db[note.on // HOP : k].max()) if k > note.on // HOP else level
    if level < -80 or level < peak - 50:
        return float("nan")
    tail = render.env_db[k : min(limit // HOP, len(render.env_db))]
    below = np.nonzero(tail <= level - RELEASE_DROP_DB)[0]
    return float((below[0] + 0.5) * HOP / render.rate) if len(below) else float("nan")
