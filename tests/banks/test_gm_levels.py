"""The built-in GM bank is level-balanced, measured through `dmusd render` (bench/gm_levels.py):
every program at middle C and every drum key, velocity 100, within 3 dB of one loudness target;
and the file that plays every GM sound never reaches the master limiter at default volume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.gm_levels import TARGET_DB, TOLERANCE_DB, measure, momentary_max_db
from dmusd.banks.gm_names import PERCUSSION

ALL_GM_SOUNDS = Path("/work/shared/data/test-midi-files/midi/test-all-gm-sounds.mid")
CEILING_DB = -0.3  # the limiter's (dmusd/synth/effects/limiter.py)


def test_the_loudness_measure_can_tell_levels_apart():
    import numpy as np

    t = np.arange(48000) / 48000
    tone = np.stack([np.sin(2 * np.pi * 1000 * t)] * 2, axis=1) * 0.1
    # a 1 kHz sine of peak 0.1 (mean square -23 dB) in both channels: -20 dB (the channels'
    # powers add), +0.7 dB of K-weighting at 1 kHz
    assert momentary_max_db(tone) == pytest.approx(-20 + 0.7, abs=0.1)
    assert momentary_max_db(tone * 0.5) == pytest.approx(momentary_max_db(tone) - 6.02, abs=0.01)


@pytest.mark.slow
def test_every_program_and_drum_key_is_within_3_db_of_the_target():
    loud, peaks, summary = measure()
    assert len(loud) == 128 + len(PERCUSSION)
    off = {k: round(v - TARGET_DB, 1) for k, v in loud.items() if abs(v - TARGET_DB) > TOLERANCE_DB}
    assert off == {}, f"outside +-{TOLERANCE_DB} dB of {TARGET_DB} dB: {off}"
    assert "limiter" not in summary, summary
    for program in (124, 125):  # telephone, helicopter: once far over everything else
        assert peaks[("program", program)] < CEILING_DB - 6


@pytest.mark.slow
def test_all_gm_sounds_at_default_volume_never_reach_the_limiter(tmp_path):
    out = tmp_path / "all-gm.wav"
    done = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "render", str(ALL_GM_SOUNDS), "-o", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = done.stderr.strip().splitlines()[-1]
    assert "limiter on" not in summary and "0 missed patches" in summary, summary
    peak = float(summary.split("peak ")[1].split(" dBFS")[0])
    assert peak < CEILING_DB
