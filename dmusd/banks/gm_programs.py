"""The 128 GM program recipes of the built-in bank, one `Voice` per program, by family."""

from __future__ import annotations

from dmusd.banks.gm_voices import (
    Attack,
    Voice,
    drawbars,
    formants,
    rolloff,
    saw,
    square,
    triangle,
)

# Envelopes: (attack, hold, decay, sustain %, release) in seconds.
SUSTAIN = (0.005, 0.0, 0.0, 100.0, 0.1)
ONE_ZONE = ((0, 127, 60),)


def hammer(bright: float = 0.8, noise: float = 0.5) -> Attack:
    return Attack(0.1, bright, 0.0004, (), 0.08, noise, (300.0, 3000.0), 0.008)


def pluck(bright: float = 0.6, noise: float = 0.3, decay: float = 0.04) -> Attack:
    return Attack(0.08, bright, 0.0, (), decay, noise, (1500.0, 7000.0), 0.004)


def strike(
    ratios: tuple[float, ...],
    bright: float = 0.8,
    decay: float = 0.06,
    seconds: float = 0.12,
    noise: float = 0.0,
) -> Attack:
    return Attack(seconds, bright, 0.0, ratios, decay, noise, (1000.0, 6000.0), 0.004)


def chiff(noise: float = 0.6, low: float = 1500.0, high: float = 7000.0) -> Attack:
    return Attack(0.06, 0.0, 0.0, (), 0.02, noise, (low, high), 0.02)


def decaying(decay: float, release: float = 0.3, sustain: float = 0.0) -> tuple[float, ...]:
    return (0.002, 0.0, decay, sustain, release)


def swell(attack: float, release: float) -> tuple[float, ...]:
    return (attack, 0.0, 0.0, 100.0, release)


PIANO = [
    Voice(
        rolloff(saw(1.0), 2500),
        hammer(),
        env=decaying(12, 0.4),
        key_decay=-600,
        cutoff=3000,
        velocity_filter=3600,
    ),
    Voice(
        rolloff(saw(0.9), 5000),
        hammer(1.0),
        env=decaying(10, 0.4),
        key_decay=-600,
        cutoff=5000,
        velocity_filter=3000,
    ),
    Voice(rolloff(saw(1.2), 3000), hammer(0.5, 0.2), env=decaying(8, 0.3), key_decay=-500),
    Voice(
        rolloff(saw(1.0), 3500),
        hammer(),
        target=4096,
        detune=0.5,
        env=decaying(8, 0.3),
        key_decay=-500,
    ),
    Voice(
        drawbars({1: 1.0, 2: 0.15, 3: 0.05}),
        strike((7.0, 13.0), 0.6, 0.05),
        env=decaying(6, 0.3),
        key_decay=-400,
    ),
    Voice(
        drawbars({1: 1.0, 2: 0.3, 4: 0.2, 7: 0.08}),
        strike((3.5, 7.1), 0.5),
        target=4096,
        detune=0.3,
        env=decaying(7, 0.3),
    ),
    Voice(rolloff(saw(0.8), 6000), pluck(0.6, 0.3, 0.03), env=decaying(5, 0.15), key_decay=-400),
    Voice(
        rolloff(square(0.9, 0.6), 4000), pluck(0.8, 0.2, 0.02), env=decaying(3, 0.1), key_decay=-300
    ),
]
CHROMATIC = [
    Voice(drawbars({1: 1.0, 4: 0.2}), strike((4.0, 10.0)), env=decaying(2.5)),
    Voice(
        saw(1.5),
        strike((5.4, 8.9), 1.0, 0.04),
        ratios=(1.0, 2.71, 5.4),
        target=8192,
        env=decaying(3),
    ),
    Voice(drawbars({1: 1.0, 3: 0.2}), strike((5.4, 8.9), 0.7, 0.05), env=decaying(2.2)),
    Voice(drawbars({1: 1.0, 4: 0.15}), strike((4.0, 10.0), 0.6), env=decaying(6, 0.5), tremolo=3.0),
    Voice(
        drawbars({1: 1.0, 4: 0.1}), strike((4.0, 9.9), 1.0, 0.03, noise=0.2), env=decaying(1.2, 0.2)
    ),
    Voice(
        saw(1.2),
        strike((3.0, 6.3), 1.0, 0.02, noise=0.3),
        ratios=(1.0, 3.0),
        env=decaying(0.7, 0.1),
    ),
    Voice(
        saw(1.0),
        strike((2.76, 5.4, 8.93), 0.8, 0.3, 0.25),
        ratios=(1.0, 2.0, 3.0, 4.2, 5.4, 6.8),
        target=8192,
        env=decaying(8, 1.0),
    ),
    Voice(rolloff(saw(1.0), 5000), pluck(0.5, 0.3), target=4096, detune=0.3, env=decaying(4)),
]
ORGAN = [
    Voice(
        drawbars({1: 1, 2: 0.8, 3: 0.6, 4: 0.5, 6: 0.3, 8: 0.3}),
        target=4096,
        detune=0.1,
        env=SUSTAIN,
        tremolo=1.0,
        tremolo_rate=6.5,
    ),
    Voice(drawbars({1: 1.0, 2: 0.6, 4: 0.3}), strike((3.0,), 1.0, 0.15, 0.3), env=SUSTAIN),
    Voice(
        drawbars({1: 1, 2: 1, 3: 0.8, 4: 0.6, 5: 0.4, 6: 0.5, 8: 0.6, 10: 0.3, 12: 0.3}),
        Attack(0.03, noise=0.3, noise_decay=0.005),
        env=SUSTAIN,
        tremolo=2.0,
        tremolo_rate=6.8,
    ),
    Voice(
        drawbars({1: 1, 2: 0.7, 3: 0.3, 4: 0.5, 8: 0.35, 16: 0.2}),
        target=4096,
        detune=0.2,
        env=swell(0.05, 0.5),
    ),
    Voice(formants(saw(0.7), (900, 2200)), noise=0.05, env=swell(0.04, 0.2)),
    Voice(formants(saw(0.8), (1000, 2500)), target=4096, detune=0.4, env=swell(0.02, 0.1)),
    Voice(
        formants(square(1.0, 0.3), (1200, 2800)),
        noise=0.08,
        vibrato=20,
        vibrato_delay=0.3,
        env=swell(0.02, 0.1),
    ),
    Voice(formants(saw(0.9), (800, 2000)), target=4096, detune=0.25, env=swell(0.02, 0.1)),
]
GUITAR = [
    Voice(rolloff(saw(1.1), 2000), pluck(0.6, 0.3), env=decaying(7), key_decay=-600),
    Voice(rolloff(saw(0.9), 4000), pluck(0.9, 0.4), env=decaying(8), key_decay=-600),
    Voice(rolloff(saw(1.2), 1200), pluck(0.3, 0.2), env=decaying(9), cutoff=2500),
    Voice(rolloff(saw(1.0), 3000), pluck(0.5, 0.2), target=4096, detune=0.15, env=decaying(10)),
    Voice(rolloff(saw(1.0), 1500), pluck(0.5, 0.3), env=decaying(0.6, 0.05)),
    Voice(square(0.7, 0.5), env=(0.005, 0.0, 20.0, 60.0, 0.15), cutoff=4000),
    Voice(
        square(0.6, 0.7), target=4096, detune=0.3, env=(0.005, 0.0, 20.0, 70.0, 0.15), cutoff=3500
    ),
    Voice(drawbars({2: 1.0, 4: 0.3}), strike((4.0, 6.0), 0.4), env=decaying(4)),
]
BASS = [
    Voice(rolloff(saw(1.3), 800), pluck(0.3, 0.2), env=decaying(4, 0.15)),
    Voice(rolloff(saw(1.2), 1200), pluck(0.4, 0.2), env=decaying(5, 0.15)),
    Voice(rolloff(saw(1.0), 2500), pluck(0.8, 0.4), env=decaying(4, 0.15)),
    Voice(rolloff(saw(1.3), 900), env=(0.01, 0.0, 6.0, 30.0, 0.2), vibrato=10),
    Voice(
        saw(0.9),
        Attack(0.06, 1.2, 0.0, (), 0.02, 0.6, (800.0, 5000.0), 0.003),
        env=decaying(3, 0.1),
    ),
    Voice(
        square(1.0, 0.4),
        Attack(0.06, 1.0, 0.0, (), 0.02, 0.4, (800.0, 5000.0), 0.003),
        env=decaying(2.5, 0.1),
    ),
    Voice(
        saw(1.0),
        env=(0.002, 0.0, 2.0, 80.0, 0.1),
        cutoff=400,
        filter_env=3600,
        filter_eg=(0.001, 0.25, 20.0, 0.1),
        q_db=6,
    ),
    Voice(
        square(1.0, 0.2),
        env=(0.002, 0.0, 2.0, 80.0, 0.1),
        cutoff=600,
        filter_env=2400,
        filter_eg=(0.001, 0.3, 25.0, 0.1),
        q_db=9,
    ),
]
STRINGS = [
    Voice(
        formants(saw(0.9), (500, 1500, 3000)),
        noise=0.05,
        vibrato=25,
        vibrato_delay=0.25,
        env=swell(0.08, 0.3),
    ),
    Voice(
        formants(saw(0.95), (400, 1200, 2500)),
        noise=0.05,
        vibrato=22,
        vibrato_delay=0.25,
        env=swell(0.08, 0.3),
    ),
    Voice(
        formants(saw(1.0), (300, 900, 2000)),
        noise=0.05,
        vibrato=20,
        vibrato_delay=0.3,
        env=swell(0.09, 0.35),
    ),
    Voice(
        formants(saw(1.1), (200, 700)),
        noise=0.05,
        vibrato=15,
        vibrato_delay=0.3,
        env=swell(0.1, 0.35),
    ),
    Voice(
        formants(saw(1.0), (500, 1500)),
        target=8192,
        detune=0.5,
        tremolo=6.0,
        tremolo_rate=8.0,
        env=swell(0.05, 0.3),
    ),
    Voice(rolloff(saw(1.0), 2000), pluck(0.4, 0.2), env=decaying(1.0, 0.1)),
    Voice(rolloff(saw(1.5), 3000), pluck(0.6, 0.1), env=decaying(5, 0.6)),
    Voice(
        saw(0.8),
        Attack(0.1, 0.0, 0.0, (), 0.05, 0.8, (100.0, 2000.0), 0.02),
        ratios=(1.0, 1.5, 1.99, 2.44),
        target=8192,
        env=decaying(3, 0.8),
    ),
]
ENSEMBLE = [
    Voice(
        rolloff(saw(1.0), 4000),
        target=8192,
        detune=0.6,
        noise=0.03,
        vibrato=10,
        env=swell(0.15, 0.5),
    ),
    Voice(rolloff(saw(1.0), 3000), target=8192, detune=0.6, noise=0.03, env=swell(0.4, 0.8)),
    Voice(saw(1.0), target=8192, detune=0.8, cutoff=3000, env=swell(0.1, 0.5)),
    Voice(square(1.0, 0.5), target=8192, detune=0.7, cutoff=2500, env=swell(0.3, 0.6)),
    Voice(
        formants(saw(1.0), (700, 1200, 2600)),
        target=8192,
        detune=0.5,
        noise=0.05,
        vibrato=12,
        env=swell(0.2, 0.5),
    ),
    Voice(formants(saw(1.2), (350, 800, 2400)), target=8192, detune=0.4, env=swell(0.15, 0.5)),
    Voice(
        formants(saw(1.0), (500, 1500)), target=4096, detune=0.3, vibrato=15, env=swell(0.1, 0.4)
    ),
    Voice(
        saw(0.8),
        Attack(0.1, 1.0, 0.0, (), 0.05, 0.5, (300.0, 6000.0), 0.02),
        target=4096,
        detune=0.8,
        env=(0.001, 0.05, 0.5, 0.0, 0.2),
    ),
]
BRASS = [
    Voice(
        formants(saw(0.7), (1200, 2500)),
        env=swell(0.02, 0.15),
        cutoff=1500,
        filter_env=1800,
        filter_eg=(0.03, 0.3, 60.0, 0.2),
        velocity_filter=1200,
        vibrato=12,
    ),
    Voice(
        formants(saw(0.8), (600, 1500)),
        env=swell(0.03, 0.2),
        cutoff=900,
        filter_env=1500,
        filter_eg=(0.04, 0.3, 60.0, 0.2),
        velocity_filter=1200,
    ),
    Voice(
        formants(saw(1.0), (300, 800)),
        env=swell(0.04, 0.2),
        cutoff=500,
        filter_env=1200,
        filter_eg=(0.05, 0.3, 60.0, 0.2),
    ),
    Voice(formants(saw(0.6), (1800, 3000), 0.25), env=swell(0.02, 0.15), cutoff=2500),
    Voice(
        formants(saw(1.2), (400, 1000)),
        env=swell(0.05, 0.3),
        cutoff=800,
        filter_env=1000,
        filter_eg=(0.06, 0.4, 70.0, 0.3),
        vibrato=8,
    ),
    Voice(
        formants(saw(0.8), (900, 2200)),
        target=4096,
        detune=0.4,
        env=swell(0.03, 0.2),
        cutoff=1200,
        filter_env=2000,
        filter_eg=(0.04, 0.4, 60.0, 0.2),
    ),
    Voice(
        saw(1.0),
        target=4096,
        detune=0.3,
        env=swell(0.01, 0.3),
        cutoff=800,
        filter_env=3000,
        filter_eg=(0.05, 0.6, 40.0, 0.3),
        q_db=3,
    ),
    Voice(
        square(1.0, 0.5),
        target=4096,
        detune=0.4,
        env=swell(0.02, 0.4),
        cutoff=600,
        filter_env=2600,
        filter_eg=(0.1, 0.8, 50.0, 0.4),
    ),
]
REED = [
    Voice(formants(saw(0.8), (900, 2400)), noise=0.05, vibrato=15, env=swell(0.03, 0.15)),
    Voice(formants(saw(0.75), (700, 2000)), noise=0.06, vibrato=15, env=swell(0.03, 0.15)),
    Voice(formants(saw(0.7), (500, 1600)), noise=0.07, vibrato=12, env=swell(0.03, 0.15)),
    Voice(formants(saw(0.7), (350, 1200)), noise=0.07, vibrato=10, env=swell(0.04, 0.15)),
    Voice(formants(saw(0.6), (1200, 2800), 0.3), vibrato=10, env=swell(0.03, 0.12)),
    Voice(formants(saw(0.7), (900, 2300)), vibrato=10, env=swell(0.03, 0.12)),
    Voice(formants(saw(0.8), (450, 1100)), env=swell(0.03, 0.12)),
    Voice(rolloff(square(1.0, 0.1), 3000), noise=0.03, env=swell(0.03, 0.12)),
]
PIPE = [
    Voice(
        drawbars({1: 1.0, 2: 0.1, 3: 0.05}),
        chiff(0.8, 2000, 8000),
        noise=0.1,
        vibrato=10,
        env=swell(0.03, 0.12),
    ),
    Voice(
        drawbars({1: 1.0, 2: 0.2, 3: 0.08}),
        chiff(0.6),
        noise=0.08,
        vibrato=12,
        vibrato_delay=0.3,
        env=swell(0.04, 0.15),
    ),
    Voice(drawbars({1: 1.0, 2: 0.05, 3: 0.15}), chiff(0.5), noise=0.05, env=swell(0.03, 0.1)),
    Voice(drawbars({1: 1.0, 3: 0.1}), chiff(1.0, 1000, 6000), noise=0.25, env=swell(0.04, 0.15)),
    Voice(drawbars({1: 1.0, 2: 0.02}), chiff(0.8, 500, 4000), noise=0.35, env=swell(0.05, 0.15)),
    Voice(
        drawbars({1: 1.0, 2: 0.3, 3: 0.1}),
        chiff(1.0, 800, 5000),
        noise=0.3,
        vibrato=20,
        env=swell(0.05, 0.2),
    ),
    Voice(drawbars({1: 1.0}), noise=0.05, vibrato=15, env=swell(0.02, 0.1)),
    Voice(drawbars({1: 1.0, 3: 0.05}), chiff(0.4), noise=0.04, env=swell(0.03, 0.1)),
]
LEAD = [
    Voice(square(), env=SUSTAIN, cutoff=5000),
    Voice(saw(), env=SUSTAIN, cutoff=4000, q_db=3),
    Voice(drawbars({1: 1.0, 2: 0.5, 3: 0.3}), chiff(0.5), noise=0.2, env=SUSTAIN),
    Voice(
        square(1.2),
        Attack(0.05, 0.0, 0.0, (), 0.02, 0.8, (2000.0, 8000.0), 0.01),
        env=(0.002, 0.0, 2.0, 50.0, 0.1),
    ),
    Voice(square(0.7, 0.6), target=4096, detune=0.3, env=SUSTAIN, cutoff=3500),
    Voice(
        formants(saw(1.0), (600, 1300)), target=4096, detune=0.2, vibrato=20, env=swell(0.02, 0.2)
    ),
    Voice(saw(1.0), ratios=(1.0, 1.5, 2.0, 3.0, 4.0, 4.5), target=4096, env=SUSTAIN),
    Voice(
        drawbars({1: 1.0, 2: 1.0, 3: 0.5, 4: 0.5}),
        env=SUSTAIN,
        cutoff=2500,
        filter_env=1200,
        filter_eg=(0.01, 0.3, 50.0, 0.2),
    ),
]
PAD = [
    Voice(
        drawbars({1: 1.0, 2: 0.3, 3: 0.2}),
        strike((2.76, 5.4), 0.6, 0.2, 0.2),
        target=8192,
        detune=0.5,
        env=swell(0.3, 1.5),
    ),
    Voice(saw(1.4), target=8192, detune=0.6, cutoff=1500, env=swell(0.4, 1.2)),
    Voice(
        saw(1.0),
        target=4096,
        detune=0.5,
        cutoff=2000,
        filter_env=1500,
        filter_eg=(0.05, 1.0, 40.0, 0.5),
        env=(0.05, 0.0, 1.5, 70.0, 0.8),
    ),
    Voice(formants(saw(1.0), (700, 1200)), target=8192, detune=0.7, env=swell(0.5, 1.5)),
    Voice(
        formants(saw(1.1), (500, 1600)), target=8192, detune=0.5, noise=0.05, env=swell(0.6, 1.2)
    ),
    Voice(
        saw(1.0), ratios=(1.0, 2.0, 2.76, 4.0, 5.4), target=8192, detune=0.4, env=swell(0.3, 1.5)
    ),
    Voice(
        formants(saw(1.2), (400, 2400)),
        target=8192,
        detune=0.8,
        tremolo=2.0,
        tremolo_rate=0.5,
        env=swell(0.6, 2.0),
    ),
    Voice(
        saw(0.9),
        target=8192,
        detune=0.5,
        cutoff=400,
        filter_env=4000,
        filter_eg=(1.5, 2.5, 30.0, 1.5),
        env=swell(0.5, 1.5),
    ),
]
EFFECTS = [
    Voice(
        drawbars({1: 1.0, 5: 0.3, 8: 0.2}),
        strike((3.9, 7.1), 1.0, 0.08),
        noise=0.3,
        env=(0.002, 0.0, 3.0, 20.0, 1.0),
    ),
    Voice(
        saw(1.3),
        target=8192,
        detune=0.7,
        cutoff=1200,
        filter_env=1500,
        filter_eg=(1.0, 3.0, 50.0, 2.0),
        env=swell(0.8, 2.0),
    ),
    Voice(
        saw(1.0),
        strike((4.0, 6.5), 1.0, 0.1),
        ratios=(1.0, 2.0, 3.1, 5.2, 7.9),
        target=8192,
        env=(0.002, 0.0, 5.0, 10.0, 1.5),
    ),
    Voice(
        rolloff(saw(0.9), 2000),
        pluck(0.5, 0.2),
        target=8192,
        detune=0.6,
        env=(0.02, 0.0, 4.0, 40.0, 1.5),
    ),
    Voice(
        drawbars({1: 1.0, 2: 0.5, 4: 0.4, 8: 0.3, 16: 0.2}),
        target=8192,
        detune=0.5,
        env=swell(0.2, 1.5),
    ),
    Voice(
        formants(saw(1.0), (500, 1500)),
        target=4096,
        detune=0.3,
        cutoff=800,
        filter_env=2400,
        filter_eg=(1.5, 2.0, 20.0, 1.0),
        q_db=9,
        env=swell(0.8, 1.0),
    ),
    Voice(
        drawbars({1: 1.0, 2: 0.4, 3: 0.3}),
        strike((3.0,), 0.5),
        tremolo=6.0,
        tremolo_rate=3.0,
        env=(0.01, 0.0, 3.0, 30.0, 2.0),
    ),
    Voice(
        square(1.0, 0.5),
        target=8192,
        detune=0.5,
        vibrato=60,
        vibrato_rate=2.0,
        vibrato_delay=0.0,
        cutoff=1500,
        q_db=6,
        env=swell(0.3, 1.5),
    ),
]
ETHNIC = [
    Voice(
        formants(saw(0.7), (2000, 4000)),
        pluck(0.8, 0.3),
        target=4096,
        detune=0.2,
        env=decaying(6, 0.3),
    ),
    Voice(rolloff(saw(0.8), 5000), pluck(1.0, 0.5, 0.02), env=decaying(1.5, 0.1)),
    Voice(square(0.8, 0.7), pluck(1.0, 0.6, 0.02), env=decaying(1.2, 0.1)),
    Voice(rolloff(saw(1.0), 3000), pluck(0.7, 0.2), vibrato=8, env=decaying(3, 0.2)),
    Voice(
        drawbars({1: 1.0, 2: 0.05}),
        strike((5.9, 12.0), 0.8, 0.03, noise=0.2),
        env=decaying(1.8, 0.2),
    ),
    Voice(
        formants(saw(0.6), (1000, 2500)), target=4096, detune=0.3, noise=0.05, env=swell(0.02, 0.1)
    ),
    Voice(
        formants(saw(0.8), (600, 1800, 3200)),
        noise=0.06,
        vibrato=20,
        vibrato_delay=0.15,
        env=swell(0.04, 0.2),
    ),
    Voice(formants(saw(0.6), (1400, 3000), 0.25), noise=0.04, vibrato=25, env=swell(0.03, 0.15)),
]
PERCUSSIVE = [
    Voice(
        saw(1.0),
        strike((3.5, 6.2, 9.0), 1.0, 0.1),
        ratios=(1.0, 2.4, 4.5, 7.6),
        target=8192,
        env=decaying(2.5, 0.5),
    ),
    Voice(
        saw(1.0),
        strike((2.0, 2.9), 1.0, 0.05, noise=0.3),
        ratios=(1.0, 2.0, 2.9),
        target=4096,
        env=decaying(1.0, 0.2),
    ),
    Voice(
        saw(1.0),
        strike((1.5, 2.6), 0.6, 0.05, noise=0.2),
        ratios=(1.0, 2.0, 3.0, 3.9, 5.1),
        target=8192,
        env=decaying(2.0, 0.3),
    ),
    Voice(
        drawbars({1: 1.0, 3: 0.4}),
        Attack(0.03, 0.0, 0.0, (), 0.01, 1.0, (1000.0, 5000.0), 0.005),
        env=decaying(0.25, 0.05),
    ),
    Voice(
        saw(1.0),
        Attack(0.15, 0.0, 0.0, (), 0.05, 1.0, (60.0, 1500.0), 0.03),
        ratios=(1.0, 1.6, 2.3),
        target=4096,
        env=decaying(1.2, 0.3),
    ),
    Voice(
        drawbars({1: 1.0, 2: 0.2}),
        Attack(0.05, 0.0, 0.0, (), 0.02, 0.5, (200.0, 3000.0), 0.01),
        pitch_env=300,
        filter_eg=(0.0, 0.15, 0.0, 0.2),
        env=decaying(0.9, 0.2),
    ),
    Voice(
        drawbars({1: 1.0}), pitch_env=700, filter_eg=(0.0, 0.25, 0.0, 0.2), env=decaying(0.8, 0.2)
    ),
    Voice(
        triangle(),
        noise_band=(3000.0, 10000.0),
        target=8192,
        env=(1.5, 0.0, 0.3, 0.0, 0.3),
        zones=ONE_ZONE,
        gain_db=-6,
    ),
]
SOUND_EFFECTS = [
    Voice(
        triangle(),
        noise_band=(1500.0, 6000.0),
        env=decaying(0.25, 0.05),
        zones=ONE_ZONE,
        gain_db=-6,
    ),
    Voice(triangle(), noise_band=(400.0, 3000.0), env=swell(0.1, 0.3), zones=ONE_ZONE, gain_db=-6),
    Voice(
        triangle(),
        noise_band=(200.0, 5000.0),
        target=16384,
        tremolo=8.0,
        tremolo_rate=0.15,
        env=swell(1.0, 2.0),
        zones=ONE_ZONE,
        gain_db=-6,
    ),
    Voice(
        drawbars({1: 1.0}),
        vibrato=400,
        vibrato_rate=9.0,
        vibrato_delay=0.0,
        pitch_env=1200,
        filter_eg=(0.0, 0.1, 0.0, 0.1),
        env=(0.01, 0.0, 0.3, 40.0, 0.2),
    ),
    Voice(drawbars({1: 1.0, 3: 0.5, 5: 0.3}), tremolo=24.0, tremolo_rate=16.0, env=SUSTAIN),
    Voice(
        triangle(),
        noise_band=(80.0, 1500.0),
        target=8192,
        tremolo=20.0,
        tremolo_rate=12.0,
        env=swell(0.5, 1.0),
        zones=ONE_ZONE,
    ),
    Voice(
        triangle(),
        noise_band=(800.0, 8000.0),
        target=16384,
        tremolo=4.0,
        tremolo_rate=7.0,
        env=swell(0.4, 1.5),
        zones=ONE_ZONE,
        gain_db=-6,
    ),
    Voice(
        triangle(),
        Attack(0.05, 0.0, 0.0, (), 0.02, 1.0, (100.0, 6000.0), 0.02),
        noise_band=(100.0, 6000.0),
        env=decaying(0.5, 0.5),
        zones=ONE_ZONE,
    ),
]

PROGRAM_VOICES: tuple[Voice, ...] = tuple(
    PIANO + CHROMATIC + ORGAN + GUITAR + BASS + STRINGS + ENSEMBLE + BRASS
    + REED + PIPE + LEAD + PAD + EFFECTS + ETHNIC + PERCUSSIVE + SOUND_EFFECTS
)  # fmt: skip
