"""`dmusd run` flags merged over the config, through the real command: refused as config keys
are (exit 2, the key's own message), and on a running daemon in force, shown by `ctl status`
with where each came from, and kept over a reload."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.daemon.daemon_process import TIMGM, Daemon

CLI = "import sys; from dmusd.cli import main; sys.exit(main())"


def run(*argv: str, cwd=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", CLI, "run", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--voices", "0"), "--voices: pins.voices: must be 1..4096, got 0"),
        (("--voices", "many"), '--voices: pins.voices: must be an integer, got "many"'),
        (("--rate", "44.1"), "--rate: audio.sample_rate: must be an integer, got 44.1"),
        (("--period", "9000"), "--period: audio.period: must be 16..8192, got 9000"),
        (("--volume", "30"), "--volume: pins.volume_db: must be -200..20, got 30"),
        (
            ("--audio", "oss"),
            '--audio: audio.backend: must be one of auto, jack, alsa, pulse, got "oss"',
        ),
        (("--midi", "x"), '--midi: midi.backend: must be one of auto, alsa, jack, got "x"'),
        (
            ("--bank", TIMGM, "--bank", "nope.sf2"),
            '--bank: pins.banks[1]: not a readable file, got "nope.sf2"',
        ),
    ],
)
def test_a_bad_flag_is_refused_as_its_config_key_with_exit_2(tmp_path, flags, says):
    done = run(*flags, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == f"dmusd: {says}", done
    assert "Traceback" not in done.stderr


def test_a_key_the_flags_leave_alone_comes_from_the_file(flagged):
    status = json.loads(ctl(flagged, "status", "--json").stdout)["result"]
    assert status["pins"][0]["reverb"] is False  # the file's reverb = false stands
    settings = ctl(flagged, "status").stdout.split("SETTING", 1)[1].splitlines()[1:]
    assert all(" flag --" in line for line in settings)  # every one listed came from a flag


def test_a_config_message_is_the_same_words(tmp_path):
    # the same mistake in the file: the same words, with the file's name and line for the flag
    config = tmp_path / "dmusd.toml"
    config.write_text('[[pins]]\nname = "synth"\nvoices = 0\n')
    done = run("--config", str(config))
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "dmusd: dmusd.toml:3: pins[0].voices: must be 1..4096, got 0",
    )


def test_a_missing_bank_in_the_config_is_a_config_mistake(tmp_path):
    config = tmp_path / "dmusd.toml"
    config.write_text('[[pins]]\nname = "synth"\nbanks = ["gone.sf2"]\n')
    done = run("--config", str(config))
    assert done.returncode == 2, done
    assert done.stderr.strip().startswith("dmusd: dmusd.toml:3: pins[0].banks[0]: not a readable")


@pytest.fixture(scope="module")
def flagged(jack_server, tmp_path_factory):
    d = Daemon(
        tmp_path_factory.mktemp("dmusd-flags"),
        flags=(
            *("--voices", "100", "--volume", "-3", "--bank", TIMGM, "--period", "1024"),
            *("--audio", "jack", "--midi", "jack", "--rate", "48000"),
        ),
    )
    yield d
    d.stop()


def ctl(d: Daemon, *argv: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", CLI, "ctl", "--socket", d.socket, *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)


def test_flags_are_in_force_and_status_says_where_each_came_from(flagged):
    status = json.loads(ctl(flagged, "status", "--json").stdout)["result"]
    for pin in status["pins"]:  # the pin flags set every pin
        assert (pin["voices"], pin["volume_db"]) == (100, -3.0)
        assert [b["path"] for b in pin["banks"]] == [TIMGM]
    settings = status["settings"]
    assert settings["pins.voices"] == {"value": 100, "from": "flag --voices"}
    assert settings["pins.banks"] == {"value": [TIMGM], "from": "flag --bank"}
    assert settings["audio.backend"] == {"value": "jack", "from": "flag --audio"}
    assert settings["midi.backend"] == {"value": "jack", "from": "flag --midi"}
    assert settings["audio.sample_rate"] == {"value": 48000, "from": "flag --rate"}
    assert status["midi"]["backend"] == "jack"  # the flag's backend is the one running
    table = ctl(flagged, "status").stdout.splitlines()
    assert ["pins.voices", "100", "flag", "--voices"] in [line.split() for line in table]


def test_a_reload_keeps_the_flags_over_the_file(flagged):
    assert ctl(flagged, "reload").stdout.strip() == "reloaded: nothing changed"
    status = json.loads(ctl(flagged, "status", "--json").stdout)["result"]
    assert [p["voices"] for p in status["pins"]] == [100, 100]
    assert status["settings"]["pins.volume_db"]["from"] == "flag --volume"
