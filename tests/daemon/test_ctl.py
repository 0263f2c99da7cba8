"""`dmusd ctl` against a ControlServer serving a real SynthService: the tables, the JSON, and the
sound each command makes, measured on audio rendered block by block as the audio thread would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import make_patch
from dmusd.cli import main
from dmusd.config import PinConfig, load_config
from dmusd.io.control_socket import ControlServer
from dmusd.pin import BUILTIN
from tests.daemon.test_service import RATE, TIMGM, Rig, config, rms_db
from tests.synth.test_stream import sine_bank

ORGAN = 19


@pytest.fixture(scope="module")
def sine_dls(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ctl-banks") / "sine.dls"
    save_dls(sine_bank(), path)
    return str(path)


class Daemon:
    """A service and its control server, with time moved by the test."""

    def __init__(self, folder: Path, *pins: PinConfig, reload=None) -> None:
        self.rig = Rig(config(*pins))
        self.service = self.rig.service
        self.socket = str(folder / "ctl.sock")
        self.server = ControlServer(self.socket, self.service, reload or (lambda: {}))
        self.server.start()

    def close(self) -> None:
        self.server.stop()
        self.rig.close()


@pytest.fixture
def daemon(tmp_path):
    made: list[Daemon] = []

    def make(*pins: PinConfig, reload=None) -> Daemon:
        d = Daemon(tmp_path, *pins, reload=reload)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


@pytest.fixture
def ctl(capsys):
    """Run `dmusd ctl --socket PATH ARGS...`; returns (exit code, stdout, stderr)."""

    def run(d: Daemon, *argv: str) -> tuple[int, str, str]:
        code = main(["ctl", "--socket", d.socket, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_status_table(daemon, ctl):
    d = daemon(PinConfig("synth"), PinConfig("gm", channel_groups=2, banks=(TIMGM,)))
    d.rig.send("gm", 2, 0x90, 60, 100)
    d.rig.render(0.1)
    code, out, err = ctl(d, "status")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("dmusd: 48000 Hz, 0.1 s played, 1 voices sounding")
    assert lines[2].split() == ["PIN", "GROUPS", "VOICES", "VOLUME", "EFFECTS", "INTERPOLATION"]
    assert lines[3].split() == ["synth", "1", "0/256", "+0.0", "dB", "reverb", "chorus", "cubic"]
    assert lines[4].split() == ["gm", "2", "1/256", "+0.0", "dB", "reverb", "chorus", "cubic"]
    banks = [line.split(None, 3) for line in lines[6:]]
    assert banks[0] == ["PIN", "BANK", "INSTRUMENTS", "FILE"]
    assert banks[1][:2] == ["synth", "1"] and banks[1][3] == BUILTIN
    assert banks[2][:2] == ["gm", "2"] and banks[2][3] == TIMGM
    code, out, _ = ctl(d, "--json", "status")
    assert code == 0 and json.loads(out)["result"]["pins"][1]["active_voices"] == 1


def test_stats_after_notes(daemon, ctl, sine_dls):
    d = daemon(PinConfig("a", banks=(sine_dls,)), PinConfig("b", banks=(sine_dls,)))
    for key in (60, 64, 67, 72):
        d.rig.send("a", 1, 0x90, key, 100)
    d.rig.render(0.5)
    code, out, _ = ctl(d, "stats")
    assert code == 0
    header, a, b = (line.split() for line in out.splitlines())
    assert header[:4] == ["PIN", "AVG", "VOICES", "NOW"]
    assert a[:3] == ["a", "4", "4"] and b[:3] == ["b", "0", "0"]
    assert a[5] == "0" and float(a[6]) > -40 and float(b[6]) <= -96  # lost notes, peak dB
    d.rig.render(0.1)
    code, out, _ = ctl(d, "stats", "--json")  # the option after the action works too
    stats = json.loads(out)["result"]
    assert stats["a"]["voices"] == 4 and stats["a"]["active_voices"] == 4
    assert stats["a"]["peak_db"] > -40 and stats["b"]["peak_db"] <= -96


def test_load_while_a_note_sounds_then_unload(daemon, ctl):
    d = daemon(PinConfig("synth", reverb=False, chorus=False))
    pin = d.service.pins["synth"]
    d.rig.send("synth", 1, 0xC0, ORGAN)
    d.rig.send("synth", 1, 0x90, 60, 100)
    before = rms_db(d.rig.render(0.3)[-RATE // 20 :])
    voices = d.service.active_voices()  # (an organ note may be several voices)
    built_in = pin.stream.downloads.table.find(make_patch(ORGAN))
    code, out, _ = ctl(d, "load", "synth", TIMGM)
    assert code == 0
    assert out.strip().startswith("pin synth: bank 2 loaded, 136 instruments")
    # The organ note of the built-in bank sounds on; new organ notes come from TimGM6mb.
    assert abs(rms_db(d.rig.render(0.05)) - before) < 1.5
    assert d.service.active_voices() == voices
    timgm = pin.stream.downloads.table.find(make_patch(ORGAN))
    assert timgm is not built_in and timgm.regions[0].wave is not built_in.regions[0].wave
    d.rig.send("synth", 1, 0x90, 67, 100)
    d.rig.send("synth", 1, 0x80, 60, 0)
    level = rms_db(d.rig.render(0.3)[-RATE // 20 :])
    voices = d.service.active_voices()
    code, out, _ = ctl(d, "unload", "synth", "2")
    assert (code, out.strip()) == (0, "pin synth: bank 2 unloaded (656 downloads released)")
    # The TimGM6mb note sounds on after its bank is gone; the built-in organ answers again.
    held = d.rig.render(0.1)
    assert d.service.active_voices() == voices > 0
    assert abs(rms_db(held) - level) < 1.5
    assert pin.stream.downloads.table.find(make_patch(ORGAN)) is built_in
    _, out, _ = ctl(d, "status")
    assert TIMGM not in out and BUILTIN in out


def test_volume_changes_the_level_by_the_db_asked(daemon, ctl, sine_dls):
    d = daemon(
        PinConfig("a", banks=(sine_dls,), reverb=False, chorus=False),
        PinConfig("b", banks=(sine_dls,), reverb=False, chorus=False),
    )
    d.rig.send("a", 1, 0x90, 69, 100)
    d.rig.send("b", 1, 0x90, 76, 100)
    d.rig.render(0.2)
    before = rms_db(d.rig.render(0.1))
    code, out, _ = ctl(d, "volume", "-6")  # every pin
    assert (code, out.splitlines()) == (0, ["pin a: volume -6.0 dB", "pin b: volume -6.0 dB"])
    d.rig.render(0.02)
    assert rms_db(d.rig.render(0.1)) - before == pytest.approx(-6.0, abs=0.1)
    code, out, _ = ctl(d, "volume", "b", "-200")  # b silent: only a is left, at -6 dB
    assert code == 0 and out.strip() == "pin b: volume -200.0 dB"
    d.rig.render(0.02)
    only_a = rms_db(d.rig.render(0.1))
    assert only_a - before == pytest.approx(-6.0 - 10 * np.log10(2), abs=0.1)  # half the power


def test_panic_silences_within_a_few_ms(daemon, ctl, sine_dls):
    d = daemon(PinConfig("a", channel_groups=2, banks=(sine_dls,)), PinConfig("b"))
    for group in (1, 2):
        d.rig.send("a", group, 0xB0, 64, 127)  # sustain pedal down
        d.rig.send("a", group, 0x90, 60 + group, 110)
    d.rig.send("b", 1, 0x90, 48, 110)
    d.rig.render(0.3)
    loud = np.abs(d.rig.render(0.1)).max()
    code, out, _ = ctl(d, "panic")
    assert (code, out.strip()) == (0, "all sound off on a, b")
    audio = d.rig.render(0.05)
    assert np.abs(audio[round(0.006 * RATE) :]).max() < loud / 100
    assert np.abs(audio[round(0.016 * RATE) :]).max() == 0.0
    assert d.service.active_voices() == 0


def test_prop_get_and_set_synth_volume(daemon, ctl, sine_dls):
    d = daemon(PinConfig("a", banks=(sine_dls,), reverb=False, chorus=False))
    d.rig.send("a", 1, 0x90, 69, 100)
    d.rig.render(0.2)
    before = rms_db(d.rig.render(0.1))
    code, out, _ = ctl(d, "prop", "a", "KSPROPSETID_Synth", "VOLUME")
    assert (code, out.strip()) == (0, "STATUS_SUCCESS  size 4  value 00000000  (0)")
    code, out, _ = ctl(
        d, "prop", "a", "KSPROPSETID_Synth", "KSPROPERTY_SYNTH_VOLUME", "set", "-950"
    )
    assert (code, out.strip()) == (0, "STATUS_SUCCESS  size 0")
    d.rig.render(0.02)
    assert rms_db(d.rig.render(0.1)) - before == pytest.approx(-9.5, abs=0.1)
    code, out, _ = ctl(d, "--json", "prop", "a", "KSPROPSETID_Synth", "0", "get")
    assert json.loads(out)["result"]["int"] == -950
    code, out, _ = ctl(d, "prop", "a", "KSPROPSETID_Synth", "VOLUME", "set", "hex:0cfeffff")
    assert code == 0  # -500 as raw little-endian bytes
    _, out, _ = ctl(d, "status")
    assert "-5.0 dB" in out
    code, out, _ = ctl(d, "prop", "a", "KSPROPSETID_Synth", "VOLUME", "support")
    assert out.strip().endswith(f"({0x203})")  # BASICSUPPORT | GET | SET


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["load", "nope", TIMGM], "dmusd: load: no pin named 'nope' (pins: 'a')"),
        (["load", "a", "/etc/hostname"], "dmusd: /etc/hostname: offset 0: not a DLS or"),
        (["load", "a", "/no/such.sf2"], "dmusd: /no/such.sf2: cannot open: No such file"),
        (["unload", "a", "9"], "dmusd: unload: pin 'a' has no bank 9 (its banks: 1)"),
        (["volume", "a", "30"], "dmusd: volume: volume 30.0 dB is outside -200..20"),
        (["volume", "loud"], "dmusd: ctl volume: 'loud' is not a number of dB"),
        (["volume", "a", "b", "3"], "dmusd: ctl volume: volume takes [PIN] DB"),
        (["prop", "a", "KSPROPSETID_Foo", "0"], "dmusd: property.set: property set"),
        (["prop", "a", "KSPROPSETID_Synth", "LOUD"], "dmusd: property.item: item 'LOUD'"),
        (["prop", "a", "KSPROPSETID_Synth", "VOLUME", "set"], "dmusd: ctl prop: set needs"),
        (["prop", "a", "KSPROPSETID_Synth", "VOLUME", "get", "1"], "dmusd: ctl prop: a get"),
        (["prop", "a", "KSPROPSETID_Synth", "VOLUME", "set", "x"], "dmusd: ctl prop: value"),
        (
            ["prop", "a", "KSPROPSETID_Synth", "CAPS", "set", "1"],
            "dmusd: KSPROPERTY_SYNTH_CAPS on pin 0: STATUS_INVALID_DEVICE_REQUEST: SET",
        ),
    ],
)
def test_errors_are_one_line_and_the_daemon_keeps_serving(daemon, ctl, sine_dls, argv, message):
    d = daemon(PinConfig("a", banks=(sine_dls,)))
    code, out, err = ctl(d, *argv)
    assert code == 1 and out == ""
    assert err.startswith(message), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert ctl(d, "status")[0] == 0


def test_json_error_reply_and_no_daemon(daemon, ctl, capsys, tmp_path):
    d = daemon(PinConfig("a"))
    code, out, _ = ctl(d, "--json", "unload", "a", "5")
    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "error": "pin 'a' has no bank 5 (its banks: 1)",
        "where": "unload",
    }
    gone = str(tmp_path / "nobody-here.sock")
    code = main(["ctl", "--socket", gone, "status"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"dmusd: {gone}: cannot reach dmusd: No such file or directory")


def test_reload_rereads_the_config(daemon, ctl, sine_dls, tmp_path):
    path = tmp_path / "dmusd.toml"
    path.write_text(f'[[pins]]\nname = "a"\nbanks = ["{sine_dls}"]\nreverb = false\n')
    d = daemon(
        *load_config(str(path)).pins, reload=lambda: d.service.reload(load_config(str(path)))
    )
    d.rig.send("a", 1, 0x90, 69, 100)
    d.rig.render(0.2)
    before = rms_db(d.rig.render(0.1))
    path.write_text(path.read_text() + "volume_db = -4.5\n")
    code, out, _ = ctl(d, "reload")
    assert (code, out.strip()) == (0, "reloaded: a: volume changed")
    d.rig.render(0.02)
    assert rms_db(d.rig.render(0.1)) - before == pytest.approx(-4.5, abs=0.1)
    path.write_text(path.read_text().replace(sine_dls, str(tmp_path / "gone.dls")))
    code, _, err = ctl(d, "reload")
    assert code == 1 and "gone.dls: cannot open" in err
    assert rms_db(d.rig.render(0.1)) - before == pytest.approx(-4.5, abs=0.1)  # still playing
    path.write_text(f'[[pins]]\nname = "a"\nbanks = ["{sine_dls}"]\nreverb = false\n')
    path.write_text(path.read_text() + '[[pins]]\nname = "b"\nchannel_groups = 4\n')
    code, out, _ = ctl(d, "reload")
    assert (code, out.strip()) == (0, "reloaded: added b; a: volume changed")


def test_the_installed_command(daemon):
    d = daemon(PinConfig("a"))
    dmusd = Path(sys.executable).with_name("dmusd")
    done = subprocess.run(
        [str(dmusd), "ctl", "--socket", d.socket, "status"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONWARNINGS="error"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[3].split()[:2] == ["a", "1"]


def test_commands_while_an_audio_thread_renders(daemon, ctl, sine_dls, tmp_path):
    """The real arrangement: one thread renders block after block (the audio callback), another
    sends notes (the MIDI thread), while ctl loads, unloads, reloads and panics."""
    path = tmp_path / "dmusd.toml"
    path.write_text(f'[[pins]]\nname = "a"\nbanks = ["{sine_dls}"]\n')
    d = daemon(
        *load_config(str(path)).pins, reload=lambda: d.service.reload(load_config(str(path)))
    )
    stop = threading.Event()
    failures: list[BaseException] = []
    peaks: list[float] = []

    def audio() -> None:
        try:
            while not stop.is_set():
                peaks.append(float(np.abs(d.rig.render(d.rig.block / RATE)).max()))
        except BaseException as error:  # reported by the test
            failures.append(error)

    def midi() -> None:
        key = 0
        while not stop.is_set():
            d.service.put_midi("a", 1, bytes((0x90, 48 + key % 24, 90)), d.rig.clock.GetTime())
            d.service.put_midi("a", 1, bytes((0x80, 48 + (key - 3) % 24, 0)), 0)
            key += 1
            time.sleep(0.002)

    threads = [threading.Thread(target=audio), threading.Thread(target=midi)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            code, out, _ = ctl(d, "load", "a", TIMGM)
            assert code == 0
            bank = out.split()[3].rstrip(",")
            assert ctl(d, "volume", "-3")[0] == 0
            assert ctl(d, "unload", "a", bank)[0] == 0
            path.write_text(path.read_text() + "volume_db = -1.0\n")
            assert ctl(d, "reload")[0] == 0
            path.write_text(path.read_text() + '[[pins]]\nname = "b"\nchannel_groups = 2\n')
            assert ctl(d, "reload")[0] == 0  # a pin added while rendering
            path.write_text(f'[[pins]]\nname = "a"\nbanks = ["{sine_dls}"]\n')
            assert ctl(d, "reload")[0] == 0  # and removed
            assert ctl(d, "panic")[0] == 0
            assert ctl(d, "stats")[0] == 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not failures
    assert len(peaks) > 20 and max(peaks) > 0.01 and all(np.isfinite(peaks))
    assert list(d.service.pins) == ["a"]


def test_the_socket_comes_from_the_config(daemon, capsys, tmp_path, monkeypatch):
    d = daemon(PinConfig("a"))
    path = tmp_path / "other.toml"
    path.write_text(f'[control]\nsocket = "{d.socket}"\n')
    assert main(["ctl", "--config", str(path), "panic"]) == 0
    assert capsys.readouterr().out.strip() == "all sound off on a"
    (tmp_path / "xdg" / "dmusd").mkdir(parents=True)
    (tmp_path / "xdg" / "dmusd" / "dmusd.toml").write_text(path.read_text())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert main(["ctl", "status"]) == 0  # the file `dmusd run` would read
    assert capsys.readouterr().out.startswith("dmusd: 48000 Hz")
