"""The sound sources of the built-in GM bank, made from nothing but math.

Every pitched wave is an attack part followed by a loop. The loop is built in the frequency
domain (inverse FFT over exactly `length` samples), so it is periodic by construction and loops
without a click: harmonics sit on whole bins, detuned copies one bin away beat slowly (an
ensemble), inharmonic partials round to the nearest bin (bells), and shaped noise is just random
phases. The attack part adds what does not repeat: a hammer or pick noise, bright partials that die
away, a breath chiff; it fades to nothing where the loop starts. Drums are one-shots (or a noise
loop for cymbals) with their pitch and amplitude envelopes baked in.

All randomness comes from a seeded numpy Generator, so the bank is the same on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22050  # high enough for a fallback bank, small enough for its 5 MB budget
DRUM_RATE = 22050
BANDWIDTH = 9500.0  # Hz: partials above this (at the top key of a zone) are left out


def key_hz(key: float) -> float:
    return 440.0 * 2.0 ** ((key - 69.0) / 12.0)


@dataclass(slots=True, frozen=True)
class Pitched:
    """A pitched wave: samples, where the loop is, and the tuning that makes `root` exact."""

    samples: np.ndarray
    loop_start: int
    loop_length: int
    fine_tune: int  # cents added so the wave plays `root` in tune


def shaped_noise(
    n: int, rng: np.random.Generator, gain: Callable[[np.ndarray], np.ndarray], rate: int
) -> np.ndarray:
    """Periodic noise of n samples whose magnitude spectrum follows gain(frequency in Hz)."""
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spectrum = gain(freqs) * np.exp(2j * np.pi * rng.random(freqs.size))
    spectrum[0] = 0.0
    out = np.fft.irfft(spectrum, n)
    peak = np.abs(out).max()
    return out / peak if peak > 0 else out


def band(low: float, high: float, slope: float = 2.0) -> Callable[[np.ndarray], np.ndarray]:
    """A soft band-pass magnitude curve for `shaped_noise`."""

    def gain(f: np.ndarray) -> np.ndarray:
        f = np.maximum(f, 1.0)
        return 1.0 / (1.0 + (low / f) ** slope) / (1.0 + (f / high) ** slope)

    return gain


def loop(
    f0: float,
    partials: np.ndarray,
    amplitudes: np.ndarray,
    rng: np.random.Generator,
    target: int = 2048,
    detune: float = 0.0,
    noise: float = 0.0,
    rate: int = SAMPLE_RATE,
) -> tuple[np.ndarray, float]:
    """One loop holding a whole number of cycles of f0; returns (samples, true frequency).

    `partials` are frequency ratios (integers for harmonic tones); `detune` adds copies one bin
    above and below each partial at that relative level (an ensemble beating at rate/length Hz);
    `noise` adds a breath/bow noise floor shaped like the partials.
    """
    cycles = max(1, round(target * f0 / rate))
    length = round(cycles * rate / f0)
    true_f0 = cycles * rate / length
    spectrum = np.zeros(length // 2 + 1, dtype=np.complex128)
    bins = np.rint(partials * cycles).astype(np.int64)
    keep = (bins > 0) & (bins < length // 2)
    phases = np.exp(2j * np.pi * rng.random(bins.size))
    np.add.at(spectrum, bins[keep], (amplitudes * phases)[keep])
    if detune:
        for shift in (-1, 1):
            moved = bins[keep] + shift
            ok = (moved > 0) & (moved < length // 2)
            jitter = np.exp(2j * np.pi * rng.random(moved.size))
            np.add.at(spectrum, moved[ok], (detune * amplitudes[keep] * jitter)[ok])
    out = np.fft.irfft(spectrum, length)
    if noise:
        floor = shaped_noise(length, rng, band(f0, min(4 * f0 * partials.max(), rate / 2.2)), rate)
        out = out / (np.abs(out).max() or 1.0) + noise * floor
    return out, true_f0


def attack(
    length: int,
    f0: float,
    rng: np.random.Generator,
    partials: np.ndarray,
    amplitudes: np.ndarray,
    decay: float,
    noise: float = 0.0,
    noise_band: tuple[float, float] = (500.0, 6000.0),
    noise_decay: float = 0.01,
    rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """What happens once at the start: decaying partials (inharmonic allowed; higher ones die
    faster) plus a noise burst, faded to exactly zero at `length`."""
    t = np.arange(length) / rate
    out = np.zeros(length)
    if partials.size:
        freqs = f0 * partials
        ok = freqs < rate / 2.2
        taus = decay / np.sqrt(np.maximum(partials[ok], 1.0))
        phases = 2 * np.pi * rng.random(int(ok.sum()))
        waves = np.sin(2 * np.pi * np.outer(t, freqs[ok]) + phases) * np.exp(
            -np.outer(t, 1.0 / taus)
        )
        out += waves @ amplitudes[ok]
    if noise:
        burst = shaped_noise(length, rng, band(*noise_band), rate)
        out += noise * burst * np.exp(-t / noise_decay)
    fade = np.cos(np.linspace(0.0, np.pi / 2, length)) ** 2
    return out * fade


def _join(head: np.ndarray, body: np.ndarray) -> np.ndarray:
    """The attack part over the loop repeated under it, then one loop period that starts on the
    phase the attack part left off, so the jump back to the loop start is seamless."""
    n = head.size
    under = np.tile(body, n // body.size + 1)[:n]
    return np.concatenate([under + head, np.roll(body, -(n % body.size))])


def assemble(
    head: np.ndarray, body: np.ndarray, true_f0: float, f0: float, level: float = 0.3
) -> Pitched:
    """Join an attack part and a loop, set the loop to `level` RMS without letting any peak clip,
    and compute the tuning correction."""
    wave = _join(head, body)
    wave *= level / (math.sqrt(float(np.mean(body**2))) or 1.0)
    peak = float(np.abs(wave).max())
    if peak > 0.98:
        wave *= 0.98 / peak
    fine = round(1200.0 * math.log2(f0 / true_f0))
    return Pitched(wave.astype(np.float32), head.size, body.size, fine)


# --- drums ---------------------------------------------------------------------------------------
def _env(t: np.ndarray, tau: float) -> np.ndarray:
    return np.exp(-t / tau)


def _sweep(t: np.ndarray, start: float, end: float, tau: float) -> np.ndarray:
    """A sine whose frequency glides from start to end (pitch envelope baked in)."""
    freq = end + (start - end) * np.exp(-t / tau)
    return np.sin(2 * np.pi * np.cumsum(freq) / DRUM_RATE)


def _metal(t: np.ndarray, base: float, rng: np.random.Generator) -> np.ndarray:
    """The 808 cymbal trick: six detuned square waves, inharmonic together."""
    ratios = np.array([2.0, 3.0, 4.16, 5.43, 6.79, 8.21])
    phases = rng.random(ratios.size)
    return np.sign(np.sin(2 * np.pi * (np.outer(t, base * ratios) + phases))).mean(axis=1)


def _highpass(x: np.ndarray, cutoff: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / DRUM_RATE)
    spectrum *= 1.0 / (1.0 + (cutoff / np.maximum(f, 1.0)) ** 4)
    return np.fft.irfft(spectrum, x.size)


def _bandpass(x: np.ndarray, low: float, high: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / DRUM_RATE)
    spectrum *= band(low, high, 3.0)(f)
    return np.fft.irfft(spectrum, x.size)


def _noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random(n) * 2.0 - 1.0


def _bell(
    t: np.ndarray, f0: float, ratios: list[float], taus: list[float], rng: np.random.Generator
) -> np.ndarray:
    out = np.zeros_like(t)
    for ratio, tau in zip(ratios, taus, strict=True):
        out += np.sin(2 * np.pi * (f0 * ratio * t + rng.random())) * _env(t, tau) / ratio**0.5
    return out


@dataclass(slots=True, frozen=True)
class Drum:
    samples: np.ndarray
    loop_start: int = -1  # -1: one-shot
    loop_length: int = 0


def _finish(x: np.ndarray, loop_at: int = -1, loop_len: int = 0, level: float = 0.9) -> Drum:
    peak = float(np.abs(x).max()) or 1.0
    fade = max(1, min(64, x.size // 20))
    y = x / peak * level
    if loop_at < 0:
        y[-fade:] *= np.linspace(1.0, 0.0, fade)  # one-shots end in silence
    return Drum(y.astype(np.float32), loop_at, loop_len)


def drum(key: int, rng: np.random.Generator) -> Drum:
    """The sound of one GM percussion key (35..81)."""

    def span(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * DRUM_RATE)) / DRUM_RATE

    if key in (35, 36):  # bass drums: a falling sine and a click
        t = span(0.45)
        low = 48.0 if key == 35 else 55.0
        body = _sweep(t, 160.0, low, 0.03) * _env(t, 0.16 if key == 35 else 0.12)
        click = _bandpass(_noise(t.size, rng), 1500, 6000) * _env(t, 0.003)
        return _finish(body + 0.3 * click)
    if key in (38, 40):  # snares: two drum-head tones and wires
        t = span(0.35)
        tone = (np.sin(2 * np.pi * 185 * t) + 0.6 * np.sin(2 * np.pi * 330 * t)) * _env(t, 0.05)
        wires = _bandpass(_noise(t.size, rng), 1200, 9000 if key == 38 else 7000)
        return _finish(0.6 * tone + wires * _env(t, 0.11 if key == 38 else 0.07))
    if key == 37:  # side stick
        t = span(0.12)
        return _finish(
            np.sin(2 * np.pi * 480 * t) * _env(t, 0.012)
            + 0.6 * _bandpass(_noise(t.size, rng), 2000, 6000) * _env(t, 0.006)
        )
    if key == 39:  # hand clap: three quick bursts, then the room
        t = span(0.3)
        env = sum(
            np.where(t >= d, _env(np.maximum(t - d, 0), 0.006), 0.0) for d in (0.0, 0.011, 0.023)
        )
        env = env + 0.6 * np.where(t >= 0.033, _env(np.maximum(t - 0.033, 0), 0.07), 0.0)
        return _finish(_bandpass(_noise(t.size, rng), 800, 3500) * env)
    if key in (41, 43, 45, 47, 48, 50):  # toms, low to high
        t = span(0.6)
        f = {41: 82.0, 43: 98.0, 45: 117.0, 47: 139.0, 48: 165.0, 50: 196.0}[key]
        body = _sweep(t, f * 1.6, f, 0.05) * _env(t, 0.22)
        return _finish(body + 0.15 * _bandpass(_noise(t.size, rng), 300, 3000) * _env(t, 0.02))
    if key in (42, 44):  # closed and pedal hi-hat
        t = span(0.12 if key == 42 else 0.2)
        metal = _highpass(_metal(t, 420.0, rng) + 0.5 * _noise(t.size, rng), 6000)
        return _finish(metal * _env(t, 0.025 if key == 42 else 0.045))
    if key in (46, 49, 51, 52, 55, 57, 59):  # open hi-hat and cymbals: burst + noise loop
        hit = {46: 0.08, 49: 0.12, 51: 0.05, 52: 0.12, 55: 0.08, 57: 0.12, 59: 0.05}[key]
        low = {46: 5500, 49: 3000, 51: 4000, 52: 2000, 55: 4500, 57: 2600, 59: 3500}[key]
        t = span(hit)
        burst = _highpass(_metal(t, 400.0 + key, rng) + _noise(t.size, rng), low) * _env(t, hit / 2)
        tail = shaped_noise(int(0.25 * DRUM_RATE), rng, band(low, 11000, 2.0), DRUM_RATE)
        if key in (51, 59):  # rides ring: a partial on a whole bin keeps the loop periodic
            ring_bin = round(2200 * tail.size / DRUM_RATE)
            tail = tail + 0.2 * np.sin(2 * np.pi * ring_bin * np.arange(tail.size) / tail.size)
        return _finish(_join(burst * 2.5, tail * 0.35), t.size, tail.size)
    if key == 53:  # ride bell
        t = span(1.2)
        return _finish(_bell(t, 720.0, [1.0, 2.76, 5.4, 8.93], [0.6, 0.35, 0.15, 0.08], rng))
    if key == 54:  # tambourine: jingles
        t = span(0.3)
        jingles = _highpass(_noise(t.size, rng), 6500) * (1 + 0.5 * np.sin(2 * np.pi * 33 * t))
        return _finish(jingles * _env(t, 0.08))
    if key == 56:  # cowbell
        t = span(0.3)
        tone = np.sign(np.sin(2 * np.pi * 545 * t)) + np.sign(np.sin(2 * np.pi * 815 * t))
        return _finish(_bandpass(tone, 500, 3000) * _env(t, 0.08))
    if key == 58:  # vibraslap: a rattling decay
        t = span(0.8)
        rattle = _bandpass(_noise(t.size, rng), 1500, 5000) * (
            0.5 + 0.5 * np.sign(np.sin(2 * np.pi * 28 * t))
        )
        return _finish(rattle * _env(t, 0.25))
    if key in (60, 61, 62, 63, 64):  # bongos and congas
        f, tau = {
            60: (410, 0.08),
            61: (300, 0.1),
            62: (330, 0.04),
            63: (330, 0.16),
            64: (230, 0.2),
        }[key]
        t = span(0.4)
        body = _sweep(t, f * 1.15, f, 0.02) * _env(t, tau)
        slap = _bandpass(_noise(t.size, rng), 800, 4000) * _env(t, 0.004)
        return _finish(body + 0.3 * slap)
    if key in (65, 66):  # timbales: shell ring
        t = span(0.5)
        f = 520.0 if key == 65 else 380.0
        ring = np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * f * 2.3 * t)
        return _finish(
            ring * _env(t, 0.12) + 0.4 * _bandpass(_noise(t.size, rng), 2000, 8000) * _env(t, 0.01)
        )
    if key in (67, 68):  # agogo bells
        t = span(0.6)
        return _finish(
            _bell(t, 930.0 if key == 67 else 620.0, [1.0, 2.0, 2.9], [0.2, 0.1, 0.05], rng)
        )
    if key in (69, 70):  # cabasa, maracas
        t = span(0.14 if key == 69 else 0.08)
        return _finish(_highpass(_noise(t.size, rng), 5000) * np.sin(np.pi * t / t[-1]) ** 2)
    if key in (71, 72):  # whistles
        t = span(0.12 if key == 71 else 0.5)
        wobble = 2 * np.pi * np.cumsum(2500 + 40 * np.sin(2 * np.pi * 12 * t)) / DRUM_RATE
        return _finish(
            np.sin(wobble) * np.minimum(1.0, t / 0.01) * _env(t, 0.05 if key == 71 else 0.4),
            level=0.6,
        )
    if key in (73, 74):  # guiro: a train of scrapes
        t = span(0.12 if key == 73 else 0.4)
        train = (np.sin(2 * np.pi * 45 * t) > 0.6).astype(float)
        return _finish(_bandpass(_noise(t.size, rng), 2000, 7000) * train * _env(t, 0.3))
    if key in (75, 76, 77):  # claves and wood blocks
        f = {75: 2500.0, 76: 1800.0, 77: 1200.0}[key]
        t = span(0.15)
        return _finish(
            (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(2 * np.pi * f * 2.7 * t)) * _env(t, 0.025)
        )
    if key in (78, 79):  # cuica: a gliding squeak
        t = span(0.2 if key == 78 else 0.45)
        start, end = (650.0, 450.0) if key == 78 else (300.0, 560.0)
        glide = _sweep(t, start, end, t[-1] / 2)
        return _finish(glide * np.sin(np.pi * t / t[-1]) ** 0.5)
    if key in (80, 81):  # triangle
        t = span(0.15 if key == 80 else 1.5)
        tau = 0.04 if key == 80 else 0.8
        return _finish(
            _bell(t, 1550.0, [1.0, 2.76, 5.4], [tau, tau * 0.6, tau * 0.3], rng), level=0.6
        )
    raise ValueError(f"no GM percussion sound for key {key}")
