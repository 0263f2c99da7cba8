"""The master limiter: nothing above the ceiling, nothing changed below it, any block size."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.synth.effects.limiter import CEILING_DB, RELEASE_MS, limit, limiter_settings
from dmusd.synth.engine import layout as L

RATE = 48000
CEILING = 10.0 ** (CEILING_DB / 20.0)


def run(signal: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    params = np.zeros(L.P_N)
    limiter_settings(params, RATE)
    out = signal.astype(np.float32).copy()
    for start in range(0, len(out), block):
        part = out[start : start + block]
        limit(part, part.shape[0], params)
    return out, params


def burst() -> np.ndarray:
    """Quiet, then 0.1 s four times too loud, then quiet again."""
    t = np.arange(RATE) / RATE
    level = np.where((t > 0.3) & (t < 0.4), 4.0, 0.25)
    tone = level * np.sin(2 * np.pi * 440 * t)
    return np.stack([tone, -0.5 * tone], axis=1)


def test_quiet_audio_passes_untouched():
    signal = burst() * 0.2  # peak 0.8: under the ceiling
    out, params = run(signal, 256)
    assert np.array_equal(out, signal.astype(np.float32)) and params[L.P_LIMITED] == 0


@pytest.mark.parametrize("block", [64, 1000])
def test_nothing_passes_the_ceiling_and_the_gain_comes_back(block):
    signal = burst()
    out, params = run(signal, block)
    assert np.abs(out).max() <= CEILING + 1e-6
    assert np.abs(out[int(0.35 * RATE) : int(0.4 * RATE)]).max() > 0.95 * CEILING  # held at it
    # the release: 5 time constants after the burst the quiet tone is back to within 1 %
    back = int((0.4 + 5 * RELEASE_MS / 1000) * RATE)
    assert np.allclose(out[back:], signal[back:], rtol=0.01, atol=1e-4)
    assert params[L.P_LIMITED] > 0.1 * RATE
    reference, _ = run(signal, 48000)
    assert np.array_equal(out, reference)  # block size never changes a sample


def test_stereo_link_keeps_the_image():
    out, _ = run(burst(), 256)
    loud = slice(int(0.31 * RATE), int(0.39 * RATE))
    ratio = out[loud, 1] / np.where(out[loud, 0] == 0, 1, out[loud, 0])
    assert np.allclose(ratio[np.abs(out[loud, 0]) > 0.1], -0.5, atol=1e-3)
