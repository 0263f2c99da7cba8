"""Helpers for the engine tests: test waves made with numpy, engines, and audio measurements."""

from __future__ import annotations

import numpy as np

from dmusd.synth.engine import Engine, VoiceSpec, default_connections
from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L

RATE = 48000


def make_engine(**kw) -> Engine:
    """An engine with effects off and channel 0's volume and expression at full."""
    kw.setdefault("sample_rate", RATE)
    kw.setdefault("max_voices", 16)
    kw.setdefault("max_block", 1024)
    engine = Engine(**kw)
    engine.set_reverb(enabled=False)
    engine.set_chorus(enabled=False)
    for ch in range(engine.channels):
        engine.controller(ch, 7, 127)
        engine.controller(ch, 11, 127)
    return engine


def sine_wave(engine: Engine, period: int, cycles: int = 1, phase: float = 0.0) -> tuple[int, int]:
    """Add `cycles` cycles of a sine with an integer period: a seamless loop. (offset, length)"""
    n = period * cycles
    data = np.sin(2.0 * np.pi * np.arange(n) / period + phase)
    return engine.pool.add_wave(data), n


def articulation(
    *extra: tuple[int, int, int, int, int], without: tuple[int, ...] = ()
) -> np.ndarray:
    """The DLS2 defaults, less the source-NONE rows for `without` destinations, plus `extra`."""
    rows = [
        r
        for r in default_connections().tolist()
        if not (r[0] == C.CONN_SRC_NONE and r[2] in without)
    ]
    rows.extend(extra)
    return C.connections_array(rows)


def looped_voice(offset: int, length: int, rate: float = RATE, **kw) -> VoiceSpec:
    kw.setdefault("key", 60)
    kw.setdefault("velocity", 127)
    kw.setdefault("unity_note", 60)
    return VoiceSpec(
        offset,
        length,
        rate,
        loop_type=kw.pop("loop_type", L.LOOP_FORWARD),
        loop_start=kw.pop("loop_start", 0),
        loop_length=kw.pop("loop_length", length),
        **kw,
    )


def zero_crossing_frequency(x: np.ndarray, rate: float = RATE) -> float:
    """Frequency of a clean periodic signal: a line fitted through its rising zero crossings."""
    x = np.asarray(x, dtype=np.float64)
    idx = np.nonzero((x[:-1] < 0.0) & (x[1:] >= 0.0))[0]
    times = idx + x[idx] / (x[idx] - x[idx + 1])  # linear interpolation inside the step
    if times.size < 3:
        raise AssertionError("too few zero crossings to measure a pitch")
    slope = np.polyfit(np.arange(times.size), times, 1)[0]
    return rate / slope


def cents(f: float, ref: float) -> float:
    return 1200.0 * np.log2(f / ref)


def envelope_db(x: np.ndarray, hop: int = 48) -> np.ndarray:
    """Peak level per hop in dB (floor -200)."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    n = x.size // hop
    peaks = x[: n * hop].reshape(n, hop).max(axis=1)
    return 20.0 * np.log10(np.maximum(peaks, 1e-10))


def first_crossing(x: np.ndarray, level: float, start: int = 0) -> int:
    """First index >= start where |x| reaches level."""
    hits = np.nonzero(np.abs(x[start:]) >= level)[0]
    if hits.size == 0:
        raise AssertionError(f"level {level} never reached")
    return int(hits[0]) + start
