"""Recipes for the 128 GM programs of the built-in bank: a spectrum, an attack, an envelope.

A `Voice` says what one program sounds like in a few numbers; `build_program` turns it into
waves (one per key zone, so high notes are not aliased and low notes are not dull) and a DLS
articulation. The families follow GM's groups of eight; within a family the recipes vary the
spectrum, attack and envelope so that, say, a harpsichord and a clavinet differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dmusd.banks import gm_synthesis as syn
from dmusd.banks import units
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_HOLDTIME,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
    CONN_DST_EG2_RELEASETIME,
    CONN_DST_EG2_SUSTAINLEVEL,
    CONN_DST_FILTER_CUTOFF,
    CONN_DST_FILTER_Q,
    CONN_DST_GAIN,
    CONN_DST_LFO_FREQUENCY,
    CONN_DST_PITCH,
    CONN_DST_VIB_FREQUENCY,
    CONN_DST_VIB_STARTDELAY,
    CONN_SRC_CC1,
    CONN_SRC_EG2,
    CONN_SRC_KEYNUMBER,
    CONN_SRC_KEYONVELOCITY,
    CONN_SRC_LFO,
    CONN_SRC_VIBRATO,
    ConnectionBlock,
    connection,
)

Spectrum = Callable[[np.ndarray, float], np.ndarray]  # (harmonic numbers, f0 Hz) -> amplitudes


# --- spectra -------------------------------------------------------------------------------------
def saw(power: float = 1.0) -> Spectrum:
    return lambda h, f0: 1.0 / h**power


def square(power: float = 1.0, even: float = 0.0) -> Spectrum:
    return lambda h, f0: np.where(h % 2 == 1, 1.0, even) / h**power


def triangle() -> Spectrum:
    return lambda h, f0: np.where(h % 2 == 1, 1.0, 0.0) / h**2


def drawbars(levels: dict[int, float]) -> Spectrum:
    """Organ stops: a level per harmonic (1 = 8', 2 = 4', 3 = 2 2/3', ...)."""
    return lambda h, f0: np.array([levels.get(int(n), 0.0) for n in h])


def formants(
    base: Spectrum, centres: tuple[float, ...], width: float = 0.35, floor: float = 0.15
) -> Spectrum:
    """A source spectrum through resonances (Hz): vowels, reeds, horns."""

    def spectrum(h: np.ndarray, f0: float) -> np.ndarray:
        f = h * f0
        shape = sum(np.exp(-((np.log(f / c) / width) ** 2)) for c in centres)
        return base(h, f0) * (floor + shape)

    return spectrum


def rolloff(base: Spectrum, corner: float, power: float = 2.0) -> Spectrum:
    """Darken a spectrum above `corner` Hz (felt hammers, muted strings)."""
    return lambda h, f0: base(h, f0) / (1.0 + (h * f0 / corner) ** power)


@dataclass(slots=True, frozen=True)
class Attack:
    seconds: float = 0.06
    bright: float = 0.0  # level of the extra, decaying upper partials
    stretch: float = 0.0  # inharmonicity of those partials (piano strings)
    ratios: tuple[float, ...] = ()  # inharmonic strike partials (mallets, bells)
    decay: float = 0.05  # seconds for the fundamental of the attack partials to die
    noise: float = 0.0
    noise_band: tuple[float, float] = (800.0, 6000.0)
    noise_decay: float = 0.01


@dataclass(slots=True, frozen=True)
class Voice:
    spectrum: Spectrum
    attack: Attack | None = None
    ratios: tuple[float, ...] = ()  # inharmonic loop partials instead of harmonics
    target: int = 2048  # loop length in samples (longer: slower ensemble beating)
    detune: float = 0.0
    noise: float = 0.0
    env: tuple[float, float, float, float, float] = (0.005, 0.0, 0.0, 100.0, 0.25)
    key_decay: float = 0.0  # time cents of decay change per octave up (negative: shorter)
    cutoff: float | None = None  # Hz; None = filter off
    filter_env: float = 0.0  # cents of EG2 sweep on the cutoff
    filter_eg: tuple[float, float, float, float] = (0.01, 0.3, 30.0, 0.3)
    velocity_filter: float = 0.0  # cents of cutoff gained from soft to hard
    q_db: float = 0.0
    vibrato: float = 0.0  # cents, after a delay
    vibrato_delay: float = 0.4
    vibrato_rate: float = 5.5
    tremolo: float = 0.0  # dB
    tremolo_rate: float = 5.0
    pitch_env: float = 0.0  # cents of EG2 -> pitch (synth effects, brass fall-in)
    gain_db: float = 0.0
    noise_band: tuple[float, float] | None = None  # a pure noise voice: its band in Hz
    zones: tuple[tuple[int, int, int], ...] = field(
        default=((0, 47, 36), (48, 71, 60), (72, 127, 84))
    )


def articulation(v: Voice) -> tuple[ConnectionBlock, ...]:
    attack, hold, decay, sustain, release = v.env
    out = [
        connection(CONN_DST_EG1_ATTACKTIME, units.timecents(attack)),
        connection(CONN_DST_EG1_HOLDTIME, units.timecents(hold)),
        connection(CONN_DST_EG1_DECAYTIME, units.timecents(decay)),
        connection(CONN_DST_EG1_SUSTAINLEVEL, units.percent(sustain)),
        connection(CONN_DST_EG1_RELEASETIME, units.timecents(release)),
        # the mod wheel always adds some vibrato, as GM players expect
        connection(CONN_DST_PITCH, units.cents(40), CONN_SRC_VIBRATO, CONN_SRC_CC1),
    ]
    if v.key_decay:
        # KEYNUMBER is key/128: a full-scale amount of 128/12 octaves' worth
        out.append(
            connection(
                CONN_DST_EG1_DECAYTIME, units.fixed(v.key_decay * 128 / 12), CONN_SRC_KEYNUMBER
            )
        )
    if v.cutoff is not None:
        out.append(connection(CONN_DST_FILTER_CUTOFF, units.abs_pitch(v.cutoff)))
        if v.q_db:
            out.append(connection(CONN_DST_FILTER_Q, units.fixed(v.q_db * 10)))
        if v.velocity_filter:
            out.append(
                connection(
                    CONN_DST_FILTER_CUTOFF, units.cents(v.velocity_filter), CONN_SRC_KEYONVELOCITY
                )
            )
    if v.filter_env or v.pitch_env:
        a, d, s, r = v.filter_eg
        out += [
            connection(CONN_DST_EG2_ATTACKTIME, units.timecents(a)),
            connection(CONN_DST_EG2_DECAYTIME, units.timecents(d)),
            connection(CONN_DST_EG2_SUSTAINLEVEL, units.percent(s)),
            connection(CONN_DST_EG2_RELEASETIME, units.timecents(r)),
        ]
        if v.filter_env:
            out.append(connection(CONN_DST_FILTER_CUTOFF, units.cents(v.filter_env), CONN_SRC_EG2))
        if v.pitch_env:
            out.append(connection(CONN_DST_PITCH, units.cents(v.pitch_env), CONN_SRC_EG2))
    if v.vibrato:
        out += [
            connection(CONN_DST_PITCH, units.cents(v.vibrato), CONN_SRC_VIBRATO),
            connection(CONN_DST_VIB_FREQUENCY, units.abs_pitch(v.vibrato_rate)),
            connection(CONN_DST_VIB_STARTDELAY, units.timecents(v.vibrato_delay)),
        ]
    if v.tremolo:
        out += [
            connection(CONN_DST_GAIN, units.gain_db(v.tremolo), CONN_SRC_LFO),
            connection(CONN_DST_LFO_FREQUENCY, units.abs_pitch(v.tremolo_rate)),
        ]
    return tuple(out)


def zone_wave(v: Voice, root: int, top: int, rng: np.random.Generator) -> syn.Pitched:
    """The wave of one key zone: partials limited so the zone's top key stays below BANDWIDTH."""
    f0 = syn.key_hz(root)
    top_hz = syn.key_hz(min(top, 108))
    if v.noise_band is not None:
        body = syn.shaped_noise(v.target, rng, syn.band(*v.noise_band), syn.SAMPLE_RATE)
        head = np.zeros(0)
        if v.attack is not None and v.attack.noise:
            a = v.attack
            n = int(a.seconds * syn.SAMPLE_RATE)
            head = syn.attack(
                n, f0, rng, np.zeros(0), np.zeros(0), a.decay, a.noise, a.noise_band, a.noise_decay
            )
        return syn.assemble(head, body, f0, f0)
    if v.ratios:
        partials = np.array(v.ratios, dtype=float)
    else:
        partials = np.arange(1, max(2, int(syn.BANDWIDTH / top_hz)) + 1, dtype=float)
    partials = partials[partials * top_hz < syn.BANDWIDTH] if partials.size > 1 else partials
    amplitudes = v.spectrum(partials, f0)
    body, true_f0 = syn.loop(f0, partials, amplitudes, rng, v.target, v.detune, v.noise)
    head = np.zeros(0)
    if v.attack is not None:
        a = v.attack
        n = int(a.seconds * syn.SAMPLE_RATE)
        if a.ratios:
            extra = np.array(a.ratios, dtype=float)
            levels = np.full(extra.size, a.bright) / np.sqrt(extra)
        else:
            h = np.arange(1, 40, dtype=float)
            extra = h * np.sqrt(1.0 + a.stretch * h**2)
            levels = a.bright * v.spectrum(h, f0) * np.sqrt(h)
        keep = extra * top_hz < 1.6 * syn.BANDWIDTH
        rms = float(np.sqrt(np.mean(body**2))) or 1.0
        head = rms * syn.attack(
            n, f0, rng, extra[keep], levels[keep], a.decay, a.noise, a.noise_band, a.noise_decay
        )
    return syn.assemble(head, body, true_f0, f0)
