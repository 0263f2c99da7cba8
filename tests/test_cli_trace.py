"""`dmusd trace` through the real command line."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO, SHARED_DATA


def dmusd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dmusd.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_trace_prints_each_event_in_time_order():
    run = dmusd("trace", "--fast", "--group", "3", "tests/data/midi/test-c-major-scale.mid")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    events = [line.split() for line in lines[:-1]]
    assert len(events) == 16 and lines[-1] == "16 messages; dropped 0, lost 0"
    times = [float(e[0].rstrip("s")) for e in events]
    assert times == sorted(times) and times[-1] == 4.0
    assert all(e[1:3] == ["group", "3"] for e in events)
    assert events[0][3:] == ["90", "3c", "7f"]


def test_trace_reports_a_bad_file_in_one_line():
    bad = SHARED_DATA / "test-midi-files" / "midi" / "test-not-a-midi-file.mid"
    run = dmusd("trace", str(bad))
    assert run.returncode == 1
    assert run.stderr.strip() == f"dmusd: {bad}: offset 0: not a Standard MIDI File: no MThd header"
    assert "Traceback" not in run.stderr
