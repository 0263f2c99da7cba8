"""The TOML config: defaults, the documented file, every kind of bad value, search order, CLI."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmusd import config as config_module
from dmusd.cli import main
from dmusd.config import (
    AudioConfig,
    Config,
    ControlConfig,
    LoggingConfig,
    MidiConfig,
    PinConfig,
    default_config,
    find_config_file,
    load_config,
    parse_config,
    socket_path,
)
from dmusd.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = ROOT / "config" / "dmusd.toml"
SECTIONS = {
    "audio": AudioConfig,
    "midi": MidiConfig,
    "pins": PinConfig,
    "control": ControlConfig,
    "logging": LoggingConfig,
}


def error_of(text: str, path: str = "dmusd.toml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    assert info.value.exit_code == 2
    message = str(info.value)
    assert "\n" not in message
    return message


# --- defaults and the documented file -----------------------------------------------------------


def test_empty_text_gives_the_built_in_defaults():
    config = parse_config("")
    assert config == default_config()
    assert config.path is None
    assert [pin.name for pin in config.pins] == ["synth"]
    assert config.pins[0].port_names == ("synth 1",)


def test_the_documented_file_parses_to_exactly_the_defaults():
    config = load_config(str(DOCUMENTED))
    assert config.path == str(DOCUMENTED)
    assert dataclasses.replace(config, path=None) == default_config()


def test_the_documented_file_writes_out_and_explains_every_key():
    lines = DOCUMENTED.read_text().split("\n")
    doc = tomllib.loads(DOCUMENTED.read_text())
    assert set(doc) == set(SECTIONS)
    for section, cls in SECTIONS.items():
        table = doc[section][0] if section == "pins" else doc[section]
        assert list(table) == [f.name for f in dataclasses.fields(cls)], section
    for number, line in enumerate(lines):
        if re.match(r"[a-z_]+ = ", line) and not line.startswith("chorus"):  # reverb explains both
            assert lines[number - 1].startswith("# "), f"line {number + 1} has no comment: {line}"


def test_the_commented_second_pin_example_is_valid():
    text = re.sub(r"(?m)^#(?=\S)", "", DOCUMENTED.read_text())  # "#key" lines, not "# prose"
    config = parse_config(text, str(DOCUMENTED))
    assert [pin.name for pin in config.pins] == ["synth", "drums"]
    drums = config.pins[1]
    assert drums.channel_groups == 2 and drums.port_names == ("drums A", "drums B")
    assert drums.banks[0] == os.path.expanduser("~/banks/drums.sf2")
    assert drums.banks[1] == os.path.expandvars("$HOME/banks/extra-kits.dls")
    assert drums.volume_db == -6.0 and drums.capture and drums.interpolation == "sinc"


def test_every_dataclass_field_has_a_rule():
    for section, cls in SECTIONS.items():
        rules = getattr(config_module, f"_{'PIN' if section == 'pins' else section.upper()}")
        assert list(rules) == [f.name for f in dataclasses.fields(cls)]


# --- good values ------------------------------------------------------------------------------


def test_values_are_read_and_ints_are_accepted_for_floats():
    config = parse_config(
        """
        [audio]
        backend = "jack"
        sample_rate = 44100
        period = 1024
        schedule_ahead_ms = 5
        on_server_loss = "reconnect"
        [midi]
        backend = "alsa"
        client_name = "synth box"
        [[pins]]
        name = "lead"
        channel_groups = 3
        voices = 4096
        volume_db = -200
        reverb = false
        sample_memory_mb = 300
        [logging]
        level = "debug"
        """
    )
    assert config.audio == AudioConfig("jack", "", 44100, 1024, 5.0, "dmusd", "reconnect")
    assert type(config.audio.schedule_ahead_ms) is float
    assert type(config.pins[0].volume_db) is float
    assert config.midi == MidiConfig("alsa", "synth box")
    assert config.pins[0].port_names == ("lead 1", "lead 2", "lead 3")
    assert config.pins[0].reverb is False and config.pins[0].chorus is True
    assert config.pins[0].sample_memory_mb == 300
    assert config.logging.level == "debug"


def test_bank_paths_expand_home_variables_and_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DMUSD_TEST_BANKS", "/srv/banks")
    file = tmp_path / "conf" / "dmusd.toml"
    file.parent.mkdir()
    file.write_text(
        '[[pins]]\nname = "a"\n'
        'banks = ["~/x.sf2", "$DMUSD_TEST_BANKS/y.dls", "z.sf3", "/abs.dls"]\n'
    )
    banks = load_config(str(file)).pins[0].banks
    assert banks == (
        os.path.join(os.path.expanduser("~"), "x.sf2"),
        "/srv/banks/y.dls",
        str(tmp_path / "conf" / "z.sf3"),
        "/abs.dls",
    )


def test_bank_files_are_checked_only_when_asked(tmp_path):
    real = tmp_path / "real.sf2"
    real.write_bytes(b"RIFF")
    file = tmp_path / "dmusd.toml"
    file.write_text(f'[audio]\n\n[[pins]]\nname = "a"\nbanks = [\n  "{real}",\n  "gone.sf2",\n]\n')
    assert len(load_config(str(file)).pins[0].banks) == 2  # the service reports missing banks
    with pytest.raises(ConfigError) as info:
        load_config(str(file), check_files=True)
    assert str(info.value) == (
        f'dmusd.toml:5: pins[0].banks[1]: not a readable file, got "{tmp_path / "gone.sf2"}"'
    )


# --- bad configs: each message names the file, line, key path and value -----------------------

SECOND_PIN_VOICES = """\
# The issue's own example: the second pin's voices on line 14.
[audio]
sample_rate = 48000

[[pins]]
name = "piano"
voices = 64

# drums
[[pins]]
name = "drums"
channel_groups = 2
# too few
voices = 0
"""

AUDIO_KEYS = "backend, device, sample_rate, period, schedule_ahead_ms, client_name, on_server_loss"
PIN_KEYS = (
    "name, channel_groups, voices, banks, interpolation, reverb, chorus, volume_db, port_names, "
    "capture, sample_memory_mb, effect_outputs, channel_outputs"
)
BAD = [
    (SECOND_PIN_VOICES, "dmusd.toml:14: pins[1].voices: must be 1..4096, got 0"),
    (
        "[audio]\nsample_rate = 7999",
        "dmusd.toml:2: audio.sample_rate: must be 8000..192000, got 7999",
    ),
    ("[audio]\n\nperiod = true", "dmusd.toml:3: audio.period: must be an integer, got true"),
    ("[audio]\nperiod = 256.0", "dmusd.toml:2: audio.period: must be an integer, got 256.0"),
    ("[audio]\nperiod = 8193", "dmusd.toml:2: audio.period: must be 16..8192, got 8193"),
    (
        '[audio]\nschedule_ahead_ms = "5"',
        'dmusd.toml:2: audio.schedule_ahead_ms: must be a number, got "5"',
    ),
    (
        "[audio]\nschedule_ahead_ms = nan",
        "dmusd.toml:2: audio.schedule_ahead_ms: must be 0.5..1000, got nan",
    ),
    (
        "[audio]\nschedule_ahead_ms = 0.4",
        "dmusd.toml:2: audio.schedule_ahead_ms: must be 0.5..1000, got 0.4",
    ),
    (
        "[audio]\nschedule_ahead_ms = false",
        "dmusd.toml:2: audio.schedule_ahead_ms: must be a number, got false",
    ),
    (
        '[audio]\nbackend = "oss"',
        'dmusd.toml:2: audio.backend: must be one of auto, jack, alsa, pulse, got "oss"',
    ),
    (
        "[audio]\nbackend = 1",
        "dmusd.toml:2: audio.backend: must be one of auto, jack, alsa, pulse, got 1",
    ),
    (
        '[audio]\non_server_loss = "retry"',
        'dmusd.toml:2: audio.on_server_loss: must be one of exit, reconnect, got "retry"',
    ),
    ('[audio]\nclient_name = ""', 'dmusd.toml:2: audio.client_name: must not be empty, got ""'),
    ('[audio]\ndevice = ["hw:0"]', 'dmusd.toml:2: audio.device: must be a string, got ["hw:0"]'),
    (
        "[audio]\nsmaple_rate = 1",
        "dmusd.toml:2: audio.smaple_rate: unknown key (did you mean sample_rate?), got 1",
    ),
    (
        '[audio]\n"my key" = 1',
        'dmusd.toml:2: audio."my key": unknown key (known: ' + AUDIO_KEYS + "), got 1",
    ),
    (
        "\n[audoi]\nperiod = 1",
        "dmusd.toml:2: audoi: unknown key (did you mean audio?), got {period = 1}",
    ),
    ("audio = 5", "dmusd.toml:1: audio: must be a table ([audio]), got 5"),
    ("audio.period = 4", "dmusd.toml:1: audio.period: must be 16..8192, got 4"),
    (
        "[audio.jack]\nx = 1",
        "dmusd.toml:1: audio.jack: unknown key (known: " + AUDIO_KEYS + "), got {x = 1}",
    ),
    (
        '[midi]\nbackend = "pulse"',
        'dmusd.toml:2: midi.backend: must be one of auto, alsa, jack, got "pulse"',
    ),
    (
        '[midi]\nclient_name = "a:b"',
        'dmusd.toml:2: midi.client_name: must not contain ":", got "a:b"',
    ),
    (
        '[midi]\nclient_name = "' + "x" * 64 + '"',
        'dmusd.toml:2: midi.client_name: must be at most 63 characters, got "' + "x" * 64 + '"',
    ),
    (
        '[audio]\nclient_name = "synth"\n[midi]\nclient_name = "synth"',
        'dmusd.toml:4: midi.client_name: must differ from audio.client_name, got "synth"',
    ),
    (
        '[midi]\nclient_name = "dmusd"',
        'dmusd.toml:2: midi.client_name: must differ from audio.client_name, got "dmusd"',
    ),
    (
        '[control]\nsocket = "run/dmusd.sock"',
        "dmusd.toml:2: control.socket: must be an absolute path"
        ' (or empty for the runtime directory), got "run/dmusd.sock"',
    ),
    (
        '[control]\nsocket = "/' + "s" * 107 + '"',
        'dmusd.toml:2: control.socket: must be at most 107 bytes (a Unix socket path limit), got "/'
        + "s" * 46
        + "..."
        + "s" * 47
        + '"',
    ),
    (
        '[logging]\nlevel = "verbose"',
        'dmusd.toml:2: logging.level: must be one of debug, info, warning, error, got "verbose"',
    ),
    (
        '[logging]\nlevel = "info"\nfile = "/tmp/x"',
        'dmusd.toml:3: logging.file: unknown key (known: level), got "/tmp/x"',
    ),
    (
        '[[pins]]\nname = "a"\n[[pins]]\nname = "b"\nvoice = 3',
        "dmusd.toml:5: pins[1].voice: unknown key (did you mean voices?), got 3",
    ),
    (
        '[[pins]]\nname = "a"\n[pins.fx]\nreverb = true',
        "dmusd.toml:3: pins[0].fx: unknown key (known: " + PIN_KEYS + "), got {reverb = true}",
    ),
    ("[[pins]]\nvoices = 3", "dmusd.toml:1: pins[0]: every pin needs a name"),
    (
        '[[pins]]\nname = "a/b"',
        'dmusd.toml:2: pins[0].name: must be 1..32 letters, digits, spaces, "_" or "-", got "a/b"',
    ),
    (
        '[[pins]]\nname = ""',
        'dmusd.toml:2: pins[0].name: must be 1..32 letters, digits, spaces, "_" or "-", got ""',
    ),
    (
        '[[pins]]\nname = "a"\n\n[[pins]]\nname = "a"',
        'dmusd.toml:5: pins[1].name: duplicate pin name (pins[0]), got "a"',
    ),
    (
        '[[pins]]\nname = "a"\nchannel_groups = 0',
        "dmusd.toml:3: pins[0].channel_groups: must be 1..64, got 0",
    ),
    (
        '[[pins]]\nname = "a"\nchannel_groups = 65',
        "dmusd.toml:3: pins[0].channel_groups: must be 1..64, got 65",
    ),
    (
        '[[pins]]\nname = "a"\nvoices = 4097',
        "dmusd.toml:3: pins[0].voices: must be 1..4096, got 4097",
    ),
    (
        '[[pins]]\nname = "a"\nvoices = true',
        "dmusd.toml:3: pins[0].voices: must be an integer, got true",
    ),
    (
        '[[pins]]\nname = "a"\nvolume_db = 20.5',
        "dmusd.toml:3: pins[0].volume_db: must be -200..20, got 20.5",
    ),
    (
        '[[pins]]\nname = "a"\nvolume_db = -inf',
        "dmusd.toml:3: pins[0].volume_db: must be -200..20, got -inf",
    ),
    (
        '[[pins]]\nname = "a"\nreverb = 1',
        "dmusd.toml:3: pins[0].reverb: must be true or false, got 1",
    ),
    (
        '[[pins]]\nname = "a"\ncapture = "yes"',
        'dmusd.toml:3: pins[0].capture: must be true or false, got "yes"',
    ),
    (
        '[[pins]]\nname = "a"\nchannel_outputs = 16',
        "dmusd.toml:3: pins[0].channel_outputs: must be true or false, got 16",
    ),
    (
        '[[pins]]\nname = "a"\ninterpolation = "Cubic"',
        'dmusd.toml:3: pins[0].interpolation: must be one of linear, cubic, sinc, got "Cubic"',
    ),
    (
        '[[pins]]\nname = "a"\nbanks = "gm.sf2"',
        'dmusd.toml:3: pins[0].banks: must be an array of strings, got "gm.sf2"',
    ),
    (
        '[[pins]]\nname = "a"\nbanks = [\n  "a.sf2",\n  "",\n]',
        'dmusd.toml:3: pins[0].banks[1]: must not be empty, got ""',
    ),
    (
        '[[pins]]\nname = "a"\nbanks = ["a.sf2", 2]',
        "dmusd.toml:3: pins[0].banks[1]: must be a string, got 2",
    ),
    (
        '[[pins]]\nname = "a"\nchannel_groups = 2\nport_names = ["x"]',
        "dmusd.toml:4: pins[0].port_names: must name each of the 2 channel groups,"
        ' or be [], got ["x"]',
    ),
    (
        '[[pins]]\nname = "a"\nport_names = ["x:y"]',
        'dmusd.toml:3: pins[0].port_names[0]: must not contain ":", got "x:y"',
    ),
    (
        '[[pins]]\nname = "a"\nchannel_groups = 2\nport_names = ["x", "x"]',
        'dmusd.toml:4: pins[0].port_names[1]: duplicate port name (pins[0].port_names[0]), got "x"',
    ),
    (
        '[[pins]]\nname = "a"\nport_names = ["lead"]\n[[pins]]\nname = "b"\nport_names = ["lead"]',
        "dmusd.toml:6: pins[1].port_names[0]: duplicate port name (pins[0].port_names[0]),"
        ' got "lead"',
    ),
    (
        '[[pins]]\nname = "a"\nport_names = ["b 1"]\n[[pins]]\nname = "b"',
        'dmusd.toml:5: pins[1].name: duplicate port name (pins[0].port_names[0]), got "b 1"',
    ),
    (
        '[[pins]]\nname = "a"\nsample_memory_mb = -1',
        "dmusd.toml:3: pins[0].sample_memory_mb: must be 0..1048576, got -1",
    ),
    (
        '[[pins]]\nname = "a"\nsample_memory_mb = 1.5',
        "dmusd.toml:3: pins[0].sample_memory_mb: must be an integer, got 1.5",
    ),
    ("pins = []", "dmusd.toml:1: pins: must hold at least one pin, got []"),
    (
        '[pins]\nname = "a"',
        'dmusd.toml:1: pins: must be an array of tables ([[pins]]), got {name = "a"}',
    ),
    ('pins = ["a"]', 'dmusd.toml:1: pins: must be an array of tables ([[pins]]), got ["a"]'),
    # inline tables report the line of the key that holds them
    (
        "[audio]\n\npins = 1",
        "dmusd.toml:3: audio.pins: unknown key (known: " + AUDIO_KEYS + "), got 1",
    ),
    (
        'pins = [\n  {name = "a"},\n  {name = "b", voices = 0},\n]',
        "dmusd.toml:1: pins[1].voices: must be 1..4096, got 0",
    ),
    # a multi-line string that looks like keys does not move the line
    (
        '[audio]\ndevice = """\\\n[midi] \\\nperiod = 1 \\\n"""\nperiod = 2',
        "dmusd.toml:6: audio.period: must be 16..8192, got 2",
    ),
    (
        '[[pins]]\n"name" = "a"\n  "voices"   =   0  # quoted key',
        "dmusd.toml:3: pins[0].voices: must be 1..4096, got 0",
    ),
    (
        "[ logging ] # comment\nlevel = 'loud'",
        'dmusd.toml:2: logging.level: must be one of debug, info, warning, error, got "loud"',
    ),
    (
        '[audio]\ndevice = "x"\n[audio.extra]',
        "dmusd.toml:3: audio.extra: unknown key (known: " + AUDIO_KEYS + "), got {}",
    ),
    # TOML syntax errors carry tomllib's line
    (
        "[audio\nperiod = 1",
        "dmusd.toml:1: TOML syntax: Expected ']' at the end of a table declaration (column 7)",
    ),
    (
        "[audio]\nperiod = 1\nperiod = 2\n",
        "dmusd.toml:3: TOML syntax: Cannot overwrite a value (column 11)",
    ),
    ("[audio]\n\ndevice = 'x", 'dmusd.toml:3: TOML syntax: Expected "\'" (at end of file)'),
    ('[audio]\ndevice = """x', "dmusd.toml:2: TOML syntax: Unterminated string (at end of file)"),
    ("[audio]\nperiod =", "dmusd.toml:2: TOML syntax: Invalid value (at end of file)"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_config_is_one_line_naming_file_line_key_and_value(text, message):
    assert error_of(text, "/some/where/dmusd.toml") == message


def test_error_attributes_name_file_line_and_key():
    with pytest.raises(ConfigError) as info:
        parse_config(SECOND_PIN_VOICES, "conf.d/dmusd.toml")
    assert (info.value.file, info.value.line, info.value.key) == (
        "dmusd.toml",
        14,
        "pins[1].voices",
    )


def test_a_long_value_is_cut_and_stays_on_one_line():
    message = error_of('[midi]\nbackend = """a\nb\tc' + "d" * 100 + '"""')
    assert message.startswith(
        'dmusd.toml:2: midi.backend: must be one of auto, alsa, jack, got "a\\nb\\tc'
    )
    shown = message.split(", got ", 1)[1]
    assert shown.endswith('ddd"') and "..." in shown and len(shown) <= 100


def test_not_utf8_is_a_config_error_with_its_line(tmp_path):
    file = tmp_path / "dmusd.toml"
    file.write_bytes(b'[audio]\ndevice = "\xff"\n')
    with pytest.raises(ConfigError) as info:
        load_config(str(file))
    assert str(info.value) == "dmusd.toml:2: not UTF-8 text (byte 18)"


def test_a_missing_explicit_file_names_its_path(tmp_path):
    missing = tmp_path / "nope" / "dmusd.toml"
    with pytest.raises(ConfigError) as info:
        load_config(str(missing))
    assert str(info.value) == f"{missing}: cannot read config: No such file or directory"


def test_a_directory_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path))
    assert str(info.value).startswith(f"{tmp_path}: cannot read config: ")


# --- where the file is found --------------------------------------------------------------------


@pytest.fixture
def places(tmp_path, monkeypatch):
    """An empty home, XDG_CONFIG_HOME unset and the system file redirected into tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    system = tmp_path / "etc" / "dmusd" / "dmusd.toml"
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", str(system))
    return {"home": home, "system": system, "xdg": tmp_path / "xdg"}


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_no_file_anywhere_gives_the_defaults(places):
    assert find_config_file() is None
    assert load_config() == default_config()


def test_the_system_file_is_the_last_resort(places):
    system = write(places["system"], "[audio]\nperiod = 512\n")
    assert find_config_file() == system
    config = load_config()
    assert config.audio.period == 512 and config.path == system


def test_the_users_config_folder_comes_before_the_system_file(places):
    write(places["system"], "[audio]\nperiod = 512\n")
    user = write(places["home"] / ".config" / "dmusd" / "dmusd.toml", "[audio]\nperiod = 128\n")
    assert find_config_file() == user
    assert load_config().audio.period == 128


def test_xdg_config_home_replaces_dot_config(places, monkeypatch):
    write(places["system"], "[audio]\nperiod = 512\n")
    write(places["home"] / ".config" / "dmusd" / "dmusd.toml", "[audio]\nperiod = 128\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(places["xdg"]))
    assert find_config_file() == str(places["system"])  # ~/.config is not read any more
    xdg = write(places["xdg"] / "dmusd" / "dmusd.toml", "[audio]\nperiod = 64\n")
    assert find_config_file() == xdg
    assert load_config().audio.period == 64


def test_a_relative_xdg_config_home_is_ignored(places, monkeypatch):
    user = write(places["home"] / ".config" / "dmusd" / "dmusd.toml", "")
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert find_config_file() == user


def test_an_explicit_file_wins_over_the_search(places, tmp_path):
    write(places["system"], "[audio]\nperiod = 512\n")
    explicit = write(tmp_path / "mine.toml", "[audio]\nperiod = 32\n")
    assert find_config_file(explicit) == explicit
    assert load_config(explicit).audio.period == 32


def test_a_bad_file_found_by_the_search_is_an_error_not_a_fallback(places):
    write(places["home"] / ".config" / "dmusd" / "dmusd.toml", "[audio]\nperiod = 1\n")
    write(places["system"], "[audio]\nperiod = 512\n")
    with pytest.raises(ConfigError, match=r"^dmusd.toml:2: audio.period: must be 16..8192"):
        load_config()


def test_socket_path_configured_runtime_dir_and_fallback(monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    assert socket_path(default_config()) == "/run/user/4242/dmusd/control.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert socket_path(default_config()) == f"/tmp/dmusd-{os.getuid()}/control.sock"
    monkeypatch.setenv("DMUSD_TEST_RUN", "/srv/run")
    configured = parse_config('[control]\nsocket = "$DMUSD_TEST_RUN/ctl.sock"')
    assert socket_path(configured) == "/srv/run/ctl.sock"


# --- the CLI ------------------------------------------------------------------------------------


def dmusd(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("dmusd")  # the installed console script
    command = [str(script)] if script.exists() else [sys.executable, "-m", "dmusd.cli"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=60, env=env)


def test_check_config_cli_reports_a_bad_file_in_one_line_with_exit_2(tmp_path):
    bad = write(tmp_path / "dmusd.toml", SECOND_PIN_VOICES)
    done = dmusd("check-config", bad)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "dmusd: dmusd.toml:14: pins[1].voices: must be 1..4096, got 0\n"


def test_check_config_cli_summarises_a_good_file(tmp_path):
    bank = tmp_path / "gm.sf2"
    bank.write_bytes(b"RIFF")
    good = write(
        tmp_path / "dmusd.toml",
        '[[pins]]\nname = "piano"\nbanks = ["gm.sf2"]\n'
        '[[pins]]\nname = "drums"\nchannel_groups = 2\nvoices = 64\n',
    )
    done = dmusd("check-config", good)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"{good}: ok: 2 pins, 3 ports, 1 bank; "
        'piano: 256 voices, ports "piano 1", banks gm.sf2; '
        'drums: 64 voices, ports "drums 1", "drums 2", banks built-in GM bank\n'
    )


def test_check_config_without_file_uses_the_search(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))
    done = dmusd("check-config", env=env)
    assert done.returncode == 0
    user = tmp_path / "dmusd" / "dmusd.toml"
    assert f"no config file ({user}, " in done.stdout and "built-in defaults" in done.stdout
    write(user, "[audio]\nbackend = 'oss'\n")
    done = dmusd("check-config", env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        'dmusd: dmusd.toml:2: audio.backend: must be one of auto, jack, alsa, pulse, got "oss"'
    ]


def test_check_config_in_process_missing_file_and_missing_bank(tmp_path, capsys):
    assert main(["check-config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"dmusd: {tmp_path / 'absent.toml'}: cannot read config: No such file or directory\n"
    )
    write(tmp_path / "dmusd.toml", '[[pins]]\nname = "a"\nbanks = ["gone.dls"]\n')
    assert main(["check-config", str(tmp_path / "dmusd.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dmusd: dmusd.toml:3: pins[0].banks[0]: not a readable file, got ")
    assert main(["check-config", str(DOCUMENTED)]) == 0
    assert capsys.readouterr().out.startswith(f"{DOCUMENTED}: ok: 1 pin, 1 port, 0 banks; synth:")


# --- the line finder --------------------------------------------------------------------------


def test_key_lines_skip_multi_line_values_and_count_arrays_of_tables():
    text = "\n".join(
        [
            "top = [",  # 1
            "  [1],",  # 2: looks like a table header, is an array element
            '  "x = 1",',  # 3
            "]",  # 4
            "[[pins]]",  # 5
            's = """',  # 6
            "[[pins]]",  # 7: inside a string
            '\\""""',  # 8: an escaped quote, then the closing delimiter
            "k = 1",  # 9
            "[[ pins ]]",  # 10
            "'q.r' . t = 2",  # 11: a quoted segment with a dot, then a dotted key
            "[pins.sub]",  # 12: a sub-table of the second pin
            "u = { a = 1 }",  # 13
        ]
    )
    assert tomllib.loads(text)["pins"][1]["q.r"]["t"] == 2
    lines = config_module._KeyLines(text)
    assert lines.line(("top",)) == 1
    assert lines.line(("1",)) is None
    assert lines.line(("pins", 0)) == 5
    assert lines.line(("pins", 0, "s")) == 6
    assert lines.line(("pins", 0, "k")) == 9
    assert lines.line(("pins", 1)) == 10
    assert lines.line(("pins", 1, "q.r", "t")) == 11
    assert lines.line(("pins", 1, "sub")) == 12
    assert lines.line(("pins", 1, "sub", "u", "a")) == 13  # inside an inline table: its key
    assert lines.line(("pins", 2)) == 5  # not there: the first [[pins]]


# --- any text: a Config or one ConfigError, never anything else ---------------------------------

KEYS = [*AUDIO_KEYS.split(", "), *PIN_KEYS.split(", "), "client_name", "socket", "level", "pins",
        "audio", "x"]  # fmt: skip
HEADERS = ["[audio]", "[midi]", "[[pins]]", "[control]", "[logging]", "[pins]", "[audio.x]",
           "[[audio]]", "[x]", "[pins.x]"]  # fmt: skip
scalars = st.one_of(
    st.integers(-5, 70000).map(str),
    st.sampled_from(
        [
            "0",
            "1",
            "4096",
            "4097",
            "8000",
            "-200",
            "nan",
            "inf",
            "-inf",
            "1e400",
            "0.5",
            "20.0",
            "true",
            "false",
            "1979-05-27",
            '""',
            '"a:b"',
            '"$HOME/~"',
            '"auto"',
            '"jack"',
            '"cubic"',
            '"synth"',
            '"synth 1"',
            '"info"',
            "[]",
            "{}",
            '{name = "p"}',
            '[{name = "p"}, {name = "p"}]',
            '["x", "x"]',
            '"""\nperiod = 1\n"""',
            "[\n[1],\n]",
        ]
    ),  # fmt: skip
    st.text(alphabet="ab 1:_-/", max_size=8).map(lambda s: f'"{s}"'),
)
value = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3).map(
    lambda xs: "[" + ", ".join(xs) + "]"), max_leaves=5)  # fmt: skip
line = st.one_of(
    st.sampled_from(HEADERS),
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(KEYS), value),
    st.builds(
        lambda a, k, v: f"{a}.{k} = {v}",
        st.sampled_from(["audio", "pins", "x"]),
        st.sampled_from(KEYS),
        value,
    ),  # fmt: skip
    st.sampled_from(["", "# comment", "[", "=", "]]"]),
)


def check_any(text: str) -> None:
    try:
        parse_config(text, "/x/h.toml")
    except ConfigError as error:
        message = str(error)
        assert message.startswith("h.toml") and "\n" not in message
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return
        # Valid TOML: the message names a line, and that line holds the key it names.
        assert error.line is not None and 1 <= error.line <= text.count("\n") + 1, message
        name = re.sub(r"\[\d+\]", "", error.key).split(".")[-1].strip('"')
        assert name in text.split("\n")[error.line - 1], message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, max_size=12).map("\n".join))
def test_toml_like_text_gives_a_config_or_a_located_config_error(text):
    check_any(text)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("[]{}=\"'#.,\n ab1\\\t") + ["\x00", "é"]), max_size=80)
)
def test_arbitrary_text_gives_a_config_or_a_config_error(text):
    check_any(text)


def test_config_is_frozen():
    config = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.audio.period = 1  # type: ignore[misc]
    assert isinstance(config, Config)
