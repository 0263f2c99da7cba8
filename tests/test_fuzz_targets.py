"""The atheris targets of bench/fuzz/, short: every target runs a few hundred coverage-guided
executions in its own process (python -m bench.fuzz) and finds nothing. The long runs are the
bench's; this keeps each target runnable and its seeds valid, and replays the corpus CI gathers
in nothing but a scratch folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO

pytest.importorskip("atheris", reason="the fuzz extra (bash .ci/setup installs it)")


@pytest.mark.slow
def test_every_atheris_target_runs_and_finds_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench.fuzz", "--runs", "300", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0 and figures["findings"] == 0, done.stdout + done.stderr[-3000:]
    for name, target in figures["targets"].items():
        assert target["executions"] >= 300 and target["cov"] > 50, (name, target)
