"""The block call allocates nothing in the steady state, however much it renders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: numba counts NRT allocations only when NUMBA_NRT_STATS is set
# before it is imported. Calling a compiled function from Python wraps each array argument
# (a fixed number per call); anything the block itself allocated would grow with the work.
SCRIPT = """
import numpy as np
from numba.core.runtime import rtsys
from tests.synth.audio import looped_voice, make_engine

def per_render(voices, commands):
    e = make_engine(max_voices=32)
    ones = e.pool.add_wave(np.ones(64))
    for i in range(voices):
        e.start(looped_voice(ones, 64, key=40 + i, channel=i % 4), offset=i)
    e.set_reverb(enabled=True)
    e.set_chorus(enabled=True)
    e.render(256)
    before = rtsys.get_allocation_stats().alloc
    for i in range(20):
        if commands:
            e.controller(0, 1, i, offset=17)
            e.pitch_wheel(1, 8192 + 50 * i, offset=100)
            e.rpn(2, 0, 12 << 7, offset=200)
        e.render(256)
    return (rtsys.get_allocation_stats().alloc - before) / 20

print(per_render(0, False), per_render(24, True))
"""


def test_render_allocates_nothing_that_grows_with_voices_or_commands():
    env = dict(os.environ, NUMBA_NRT_STATS="1", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    idle, busy = (float(x) for x in done.stdout.split())
    assert busy == idle
