"""What the commands say, through the real commands (subprocesses): one style for files that
cannot be written, exit codes as the README says, JSON errors under --json, no library noise,
no warning on the README's own setup, a second daemon told who holds its names."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.daemon.daemon_process import TIMGM, Daemon

CLI = "import sys; from dmusd.cli import main; sys.exit(main())"
DATA = Path(__file__).resolve().parents[1] / "data"


def dmusd(*argv: str, cwd=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", CLI, *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)


def song() -> Path:
    return next(DATA.rglob("*.mid"))


# -- files that cannot be written -----------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ("render", "{song}", "-o", "{out}.wav"),
        ("bank", "convert", TIMGM, "{out}.dls"),
        ("bank", "default", "--output", "{out}.dls"),
    ],
)
def test_a_missing_folder_is_said_the_same_way_by_every_command(tmp_path, argv):
    folder = tmp_path / "missing"
    out = folder / "x"
    done = dmusd(*(a.format(song=song(), out=out) for a in argv))
    suffix = argv[-1].rsplit(".", 1)[1]
    assert done.returncode == 1, done
    assert done.stderr.splitlines()[-1] == (
        f"dmusd: {out}.{suffix}: cannot write: the folder {folder} does not exist; nothing written"
    )
    assert not folder.exists()  # bank default --output used to create it silently


@pytest.mark.parametrize(
    "argv", [("bank", "convert", TIMGM, "x.sf2"), ("bank", "default", "--output", "x.SF2")]
)
def test_a_dls_writer_refuses_another_name(tmp_path, argv):
    done = dmusd(*argv, cwd=tmp_path)
    assert done.returncode == 2, done
    assert "its name must end in .dls" in done.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("group", ["0", "-5", "65536"])
def test_trace_refuses_a_group_that_is_not_one(group):
    done = dmusd("trace", "--fast", f"--group={group}", song())
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == f"dmusd: --group: must be a channel group 1..65535, got {group}"


def test_one_drum_kit_is_singular(tmp_path):
    gm = tmp_path / "gm.dls"
    assert dmusd("bank", "default", "--output", gm).returncode == 0
    info = dmusd("bank", "info", gm).stdout
    assert "(128 melodic, 1 drum kit)" in info
    assert "8 drum kits)" in dmusd("bank", "info", TIMGM).stdout


def test_ctl_json_without_a_daemon_is_a_json_error(tmp_path):
    sock = tmp_path / "none.sock"
    done = dmusd("ctl", "--socket", sock, "status", "--json")
    assert done.returncode == 1 and done.stderr == ""
    error = json.loads(done.stdout)
    assert error["ok"] is False and error["where"] == str(sock)
    assert "cannot reach dmusd" in error["error"]
    plain = dmusd("ctl", "--socket", sock, "status")  # without --json: the one line
    assert plain.stdout == "" and plain.stderr.startswith(f"dmusd: {sock}: cannot reach dmusd")


# -- against a running daemon ---------------------------------------------------------------
def test_ctl_load_json_is_a_summary(daemon):
    done = dmusd("ctl", "--socket", daemon.socket, "load", "b", TIMGM, "--json")
    reply = json.loads(done.stdout)["result"]
    try:
        assert (reply["instruments"], reply["downloads"]) == (136, 656)
        assert len(done.stdout.splitlines()) < 12  # not one line per download handle
    finally:
        dmusd("ctl", "--socket", daemon.socket, "unload", "b", str(reply["bank"]))


def test_stats_peak_stays_when_read(daemon):
    sock = daemon.socket
    dmusd("ctl", "--socket", sock, "noteon", "0", "60", "120")
    time.sleep(0.5)
    dmusd("ctl", "--socket", sock, "noteoff", "0", "60")
    time.sleep(0.3)
    first, second = (
        json.loads(dmusd("ctl", "--socket", sock, "stats", "--json").stdout)["result"]["a"]
        for _ in range(2)
    )
    assert first["peak_db"] > -40 and second["peak_db"] == first["peak_db"]
    help_text = dmusd("ctl", "--help").stdout
    assert "PEAK: the mix's highest level" in help_text


# The README's setup: JACK dummy -p 1024 (the session's server) and a config that leaves
# schedule_ahead_ms at its default.
README_CONFIG = """\
[audio]
backend = "jack"
client_name = "{client}"
[midi]
client_name = "{client}-midi"
[control]
socket = "{socket}"
"""


@pytest.fixture(scope="module")
def plain(jack_server, tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("dmusd-plain"), config=README_CONFIG, client="dmusd-plain")
    yield d
    d.stop()


def test_the_readme_setup_starts_without_noise_or_warnings(plain):
    log = plain.log
    assert "ALSA lib" not in log  # libasound's own printer is silenced
    assert " WARNING " not in log and " ERROR " not in log, log
    assert "schedule_ahead_ms = 10.0" in log  # still said, as information


def test_a_second_daemon_is_told_who_holds_the_socket(plain):
    done = dmusd("run", "--config", plain.config)
    pid = plain.process.pid
    assert done.returncode == 2, done
    assert done.stderr.splitlines()[-1].startswith(
        f"dmusd: control.socket: another dmusd (pid {pid}) is running on this control socket"
    )
    assert "start a JACK server" not in done.stderr


def test_a_second_daemon_on_another_socket_is_told_the_names_are_taken(plain, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(README_CONFIG.format(client="dmusd-plain", socket=tmp_path / "other.sock"))
    done = dmusd("run", "--config", other)
    assert done.returncode == 1, done
    assert "JACK client name 'dmusd-plain' is taken" in done.stderr
    assert "set audio.client_name to another name" in done.stderr
    assert "start a JACK server" not in done.stderr
