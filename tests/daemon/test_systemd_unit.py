"""systemd/dmusd.service: systemd's own linter accepts it, and it says what the daemon needs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "dmusd.service"


def verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`systemd-analyze verify --user` as a user who followed the README: ~/.local/bin/dmusd
    links to the virtualenv's dmusd (verify checks that ExecStart's program exists)."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed (Debian: apt-get install systemd)")
    home, runtime = tmp_path / "home", tmp_path / "runtime"
    (home / ".local" / "bin").mkdir(parents=True)
    runtime.mkdir(mode=0o700)
    (home / ".local" / "bin" / "dmusd").symlink_to(Path(sys.executable).parent / "dmusd")
    env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(runtime))
    return subprocess.run(
        ["systemd-analyze", "verify", "--user", str(unit)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def unit_keys(text: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key, []).append(value)
    return keys


def test_systemd_analyze_verify_passes_without_warnings(tmp_path):
    done = verify(UNIT, tmp_path)
    assert done.returncode == 0, done.stderr
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if UNIT.name in line]
    assert complaints == []


def test_verify_would_catch_a_bad_key(tmp_path):
    # The check above can fail: the same linter flags an unknown key in a copy of the unit.
    bad = tmp_path / "dmusd.service"
    bad.write_text(UNIT.read_text().replace("[Service]\n", "[Service]\nWatchdogSecs=10\n"))
    done = verify(bad, tmp_path)
    assert "WatchdogSecs" in done.stdout + done.stderr


def test_the_unit_says_what_the_daemon_needs():
    text = UNIT.read_text()
    keys = unit_keys(text)
    assert keys["Type"] == ["notify"]
    assert keys["ExecStart"] == ["%h/.local/bin/dmusd run"]
    assert keys["WatchdogSec"] == ["10"]
    assert keys["Restart"] == ["on-failure"]
    assert keys["RestartPreventExitStatus"] == ["2"]  # a bad config is not retried every 2 s
    # one numba cache for the unit and a hand-started daemon: dmusd picks it (user_cache.py)
    assert not any(v.startswith("NUMBA_CACHE_DIR=") for v in keys.get("Environment", []))
    assert keys["NoNewPrivileges"] == ["yes"] and keys["PrivateTmp"] == ["yes"]
    assert keys["ProtectSystem"] == ["strict"]
    assert "%C/dmusd" in keys["ReadWritePaths"][0].split()  # the numba cache must stay writable
    assert keys["RestrictAddressFamilies"] == ["AF_UNIX AF_NETLINK"]
    assert keys["RestrictRealtime"] == ["no"]
    assert "MemoryDenyWriteExecute" not in keys  # numba's JIT
    assert keys["ProtectHome"] == ["read-only"]  # banks in the home directory stay readable
    assert "SystemCallFilter" not in keys  # sched_setscheduler & co. must stay allowed
    assert "MemoryDenyWriteExecute=yes cannot be used" in text and "numba" in text
    assert keys["WantedBy"] == ["default.target"]


EXPOSURE_MAX = 4.5


def exposure(unit: Path, tmp_path: Path) -> tuple[float, str]:
    """`systemd-analyze security --offline=yes --user`: the overall exposure and the table."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed (Debian: apt-get install systemd)")
    runtime = tmp_path / "runtime-security"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--user", str(unit)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert found, done.stdout + done.stderr
    return float(found.group(1)), done.stdout


def test_systemd_analyze_security_scores_the_unit_at_most_4_5(tmp_path):
    score, table = exposure(UNIT, tmp_path)
    assert score <= EXPOSURE_MAX, table
    # and what dmusd needs is still there: real-time scheduling, local sockets, a JIT
    for kept in (
        "RestrictRealtime=",
        "RestrictAddressFamilies=~AF_UNIX",
        "MemoryDenyWriteExecute=",
    ):
        assert any(line.startswith(f"✗ {kept}") for line in table.splitlines()), kept


def test_the_score_would_catch_lost_hardening(tmp_path):
    # the same unit without its sandboxing lines scores worse than the bound
    bare = tmp_path / "dmusd.service"
    text = UNIT.read_text()
    hardening = text[text.index("NoNewPrivileges=") : text.index("[Install]")]
    bare.write_text(text.replace(hardening, ""))
    score, table = exposure(bare, tmp_path)
    assert score > EXPOSURE_MAX, table
