"""The daemon's TOML config: parsed with tomllib, validated into frozen dataclasses.

Every problem becomes one ConfigError that names the file, the line and the key path, and shows
the offending value: `dmusd.toml:14: pins[1].voices: must be 1..4096, got 0`. tomllib gives no
line numbers for values, so `_KeyLines` finds them by scanning the text for table headers and
keys. config/dmusd.toml documents every key; it parses to exactly the built-in defaults.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from dmusd.errors import ConfigError

SYSTEM_CONFIG = "/etc/dmusd/dmusd.toml"


@dataclass(slots=True, frozen=True)
class AudioConfig:
    backend: str = "auto"  # auto | jack | alsa | pulse (auto: JACK if a server answers)
    device: str = ""  # PortAudio device name (substring match); "" = the backend's default
    sample_rate: int = 48000  # 8000..192000
    period: int = 256  # frames per callback, 16..8192
    schedule_ahead_ms: float = 10.0  # live events play at arrival + this; 0.5..1000
    client_name: str = "dmusd"  # JACK client name of the audio client; not midi.client_name
    on_server_loss: str = "exit"  # exit | reconnect


@dataclass(slots=True, frozen=True)
class MidiConfig:
    backend: str = "auto"  # auto | alsa | jack (auto: ALSA sequencer if it opens, else JACK)
    client_name: str = "dmusd-midi"  # one name per role: never the audio client's


@dataclass(slots=True, frozen=True)
class PinConfig:
    name: str  # unique, [A-Za-z0-9 _-]{1,32}
    channel_groups: int = 1  # 1..64
    voices: int = 256  # 1..4096
    banks: tuple[str, ...] = ()  # in order, later override earlier; () = the built-in GM bank
    interpolation: str = "cubic"  # linear | cubic | sinc
    reverb: bool = True
    chorus: bool = True
    volume_db: float = 0.0  # KSPROPERTY_SYNTH_VOLUME, -200..20
    port_names: tuple[str, ...] = ()  # one per channel group; () = f"{name} {group}"
    capture: bool = False  # also a capture output port that re-emits what came in
    sample_memory_mb: int = 0  # MiB the pin's banks may hold, 0..1048576; 0 = from the machine
    effect_outputs: bool = False  # JACK: the reverb and chorus returns on ports of their own
    channel_outputs: bool = False  # JACK: one stereo pair per MIDI channel (dry)

    def __post_init__(self) -> None:
        # Fill the default port names here so every PinConfig, parsed or built in code, carries
        # the names its MIDI ports will have.
        if not self.port_names:
            names = tuple(f"{self.name} {g}" for g in range(1, self.channel_groups + 1))
            object.__setattr__(self, "port_names", names)


@dataclass(slots=True, frozen=True)
class ControlConfig:
    socket: str = ""  # "" = $XDG_RUNTIME_DIR/dmusd/control.sock (else /tmp/dmusd-$UID/...)


@dataclass(slots=True, frozen=True)
class LoggingConfig:
    level: str = "info"  # debug | info | warning | error


@dataclass(slots=True, frozen=True)
class Config:
    audio: AudioConfig
    midi: MidiConfig
    pins: tuple[PinConfig, ...]
    control: ControlConfig
    logging: LoggingConfig
    path: str | None  # the file it came from, None for built-in defaults
    # `dmusd run` flags merged over the file, as (key, value): a reload applies them again
    overrides: tuple[tuple[str, Any], ...] = ()


def default_config() -> Config:
    """The built-in defaults: one pin "synth" with one channel group and the GM bank."""
    return Config(
        AudioConfig(), MidiConfig(), (PinConfig("synth"),), ControlConfig(), LoggingConfig(), None
    )


# --- finding and loading --------------------------------------------------------------------


def user_config_file() -> str:
    """$XDG_CONFIG_HOME/dmusd/dmusd.toml, with ~/.config when the variable is unset or relative."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore relative values
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "dmusd", "dmusd.toml")


def find_config_file(explicit: str | None = None) -> str | None:
    """The config file to use: explicit, else the user's, else the system's, else None."""
    if explicit is not None:
        return explicit
    for candidate in (user_config_file(), SYSTEM_CONFIG):
        if os.path.isfile(candidate):
            return candidate
    return None


def load_config(path: str | None = None, *, check_files: bool = False) -> Config:
    """Find, read and validate the config; the built-in defaults when there is no file.

    check_files also requires each bank to be a readable file (`dmusd check-config`); the service
    checks banks itself when it loads them, so a reload can refuse a missing one.
    """
    found = find_config_file(path)
    if found is None:
        return default_config()
    try:
        with open(found, "rb") as f:
            data = f.read()
    except OSError as error:
        raise ConfigError(f"cannot read config: {error.strerror or error}", file=found) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"not UTF-8 text (byte {error.start})", file=os.path.basename(found), line=line
        ) from None
    return parse_config(text, found, check_files=check_files)


def socket_path(config: Config) -> str:
    """The control socket: the configured path, else in the user's runtime directory."""
    if config.control.socket:
        return config.control.socket
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        return os.path.join(runtime, "dmusd", "control.sock")
    return f"/tmp/dmusd-{os.getuid()}/control.sock"


# --- parsing ----------------------------------------------------------------------------------


def parse_config(text: str, path: str = "<string>", *, check_files: bool = False) -> Config:
    """Validate TOML text into a Config. Raises ConfigError naming file, line, key and value."""
    source = _Source(text, path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise source.syntax_error(error) from None
    except RecursionError:
        raise ConfigError("TOML nested too deeply", file=source.name) from None
    _check_keys(doc, _SECTIONS.keys(), (), source)
    base = None if path.startswith("<") else os.path.dirname(os.path.abspath(path))
    audio = _section(doc, "audio", AudioConfig, _AUDIO, source)
    midi = _section(doc, "midi", MidiConfig, _MIDI, source)
    control = _section(doc, "control", ControlConfig, _CONTROL, source)
    logging = _section(doc, "logging", LoggingConfig, _LOGGING, source)
    if midi.client_name == audio.client_name:
        # PipeWire's JACK lets two clients share a name and then shows them as "name-<node id>"
        raise source.error(
            ("midi", "client_name"), "must differ from audio.client_name", midi.client_name
        )
    pins = _pins(doc, source, base, check_files)
    return Config(audio, midi, pins, control, logging, None if path.startswith("<") else path)


class _Bad(Exception):
    """A value failed a rule: what is wrong, and where below the key when it is an element."""

    def __init__(self, what: str, value: Any, sub: tuple = ()) -> None:
        super().__init__(what)
        self.what, self.value, self.sub = what, value, sub


class _Source:
    """The text being parsed, and the way from a key path to a ConfigError with its line."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.name = text, os.path.basename(path) or path
        self._lines: _KeyLines | None = None

    def error(self, key: tuple, what: str, value: Any = None, *, show: bool = True) -> ConfigError:
        if self._lines is None:
            self._lines = _KeyLines(self.text)
        message = f"{what}, got {show_value(value)}" if show else what
        return ConfigError(message, file=self.name, line=self._lines.line(key), key=show_key(key))

    def syntax_error(self, error: tomllib.TOMLDecodeError) -> ConfigError:
        message = str(error)
        line = getattr(error, "lineno", None)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if found:
            line = line or int(found.group(1))
            message = message[: found.start()] + f" (column {found.group(2)})"
        elif message.endswith("(at end of document)"):
            line = line or self.text.count("\n") + 1
            message = message.removesuffix(" (at end of document)") + " (at end of file)"
        return ConfigError(f"TOML syntax: {message}", file=self.name, line=line)


def _check_keys(table: dict, known: Any, key: tuple, source: _Source) -> None:
    """Unknown keys are errors (a typo must not silently fall back to a default)."""
    for name, value in table.items():
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(known)
            raise source.error(key + (name,), f"unknown key ({hint})", value)


def _section(doc: dict, name: str, cls: type, rules: dict, source: _Source) -> Any:
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise source.error((name,), f"must be a table ([{name}])", table)
    return cls(**_apply(table, rules, (name,), source))


def _apply(table: dict, rules: dict[str, Callable], key: tuple, source: _Source) -> dict:
    _check_keys(table, rules.keys(), key, source)
    values = {}
    for name, value in table.items():
        try:
            values[name] = rules[name](value)
        except _Bad as bad:
            raise source.error(key + (name,) + bad.sub, bad.what, bad.value) from None
    return values


def _pins(doc: dict, source: _Source, base: str | None, check_files: bool) -> tuple:
    if "pins" not in doc:
        return default_config().pins
    tables = doc["pins"]
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise source.error(("pins",), "must be an array of tables ([[pins]])", tables)
    if not tables:
        raise source.error(("pins",), "must hold at least one pin", tables)
    pins: list[PinConfig] = []
    owner: dict[str, tuple] = {}  # port name -> key path of the pin that has it
    for i, table in enumerate(tables):
        key = ("pins", i)
        values = _apply(table, _PIN, key, source)
        if "name" not in values:
            raise source.error(key, "every pin needs a name", show=False)
        for j, other in enumerate(pins):
            if other.name == values["name"]:
                raise source.error(key + ("name",), f"duplicate pin name (pins[{j}])", other.name)
        banks = tuple(_expand(b, base) for b in values.get("banks", ()))
        if check_files:
            for j, bank in enumerate(banks):
                if not (os.path.isfile(bank) and os.access(bank, os.R_OK)):
                    raise source.error(key + ("banks", j), "not a readable file", bank)
        pin = PinConfig(**(values | {"banks": banks}))
        explicit = bool(values.get("port_names"))  # [] means the default names
        if explicit and len(values["port_names"]) != pin.channel_groups:
            what = f"must name each of the {pin.channel_groups} channel groups, or be []"
            raise source.error(key + ("port_names",), what, list(values["port_names"]))
        for j, port in enumerate(pin.port_names):
            where = key + (("port_names", j) if explicit else ("name",))
            if port in owner:
                raise source.error(where, f"duplicate port name ({show_key(owner[port])})", port)
            owner[port] = where
        pins.append(pin)
    return tuple(pins)


def _expand(path: str, base: str | None) -> str:
    """~ and $VARS expanded; a relative bank path is relative to the config file's folder."""
    path = os.path.expanduser(os.path.expandvars(path))
    return os.path.join(base, path) if base and not os.path.isabs(path) else path


# --- rules --------------------------------------------------------------------------------------


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def rule(value: Any) -> int:
        if type(value) is not int:  # bool is an int subclass but never a count
            raise _Bad("must be an integer", value)
        if not lo <= value <= hi:
            raise _Bad(f"must be {lo}..{hi}", value)
        return value

    return rule


def _float(lo: float, hi: float) -> Callable[[Any], float]:
    def rule(value: Any) -> float:
        if type(value) not in (int, float):
            raise _Bad("must be a number", value)
        if not lo <= value <= hi:  # also refuses nan
            raise _Bad(f"must be {_number(lo)}..{_number(hi)}", value)
        return float(value)

    return rule


def _choice(*options: str) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        if value not in options or not isinstance(value, str):
            raise _Bad("must be one of " + ", ".join(options), value)
        return value

    return rule


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("must be true or false", value)
    return value


def _string(*, empty: bool = True, limit: int = 255, forbid: str = "") -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad("must be a string", value)
        if not value and not empty:
            raise _Bad("must not be empty", value)
        if len(value) > limit:
            raise _Bad(f"must be at most {limit} characters", value)
        bad = [c for c in value if c in forbid or not c.isprintable()]
        if bad:
            raise _Bad(f"must not contain {json.dumps(bad[0])}", value)
        return value

    return rule


def _strings(item: Callable[[Any], str]) -> Callable[[Any], tuple[str, ...]]:
    def rule(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise _Bad("must be an array of strings", value)
        for i, element in enumerate(value):
            try:
                item(element)
            except _Bad as bad:
                raise _Bad(bad.what, element, (i,)) from None
        return tuple(value)

    return rule


def _pin_name(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9 _-]{1,32}", value):
        raise _Bad('must be 1..32 letters, digits, spaces, "_" or "-"', value)
    return value


def _socket(value: Any) -> str:
    value = _string()(value)
    path = os.path.expanduser(os.path.expandvars(value))
    if value and not os.path.isabs(path):
        raise _Bad("must be an absolute path (or empty for the runtime directory)", value)
    if len(os.fsencode(path)) > 107:  # sun_path holds 108 bytes with the terminating NUL
        raise _Bad("must be at most 107 bytes (a Unix socket path limit)", value)
    return path


_AUDIO = {
    "backend": _choice("auto", "jack", "alsa", "pulse"),
    "device": _string(),
    "sample_rate": _int(8000, 192000),
    "period": _int(16, 8192),
    "schedule_ahead_ms": _float(0.5, 1000.0),
    "client_name": _string(empty=False, limit=63, forbid=":"),  # JACK's name size, its separator
    "on_server_loss": _choice("exit", "reconnect"),
}
_MIDI = {
    "backend": _choice("auto", "alsa", "jack"),
    "client_name": _string(empty=False, limit=63, forbid=":"),
}
_PIN = {
    "name": _pin_name,
    "channel_groups": _int(1, 64),
    "voices": _int(1, 4096),
    "banks": _strings(_string(empty=False, limit=4096)),
    "interpolation": _choice("linear", "cubic", "sinc"),
    "reverb": _bool,
    "chorus": _bool,
    "volume_db": _float(-200.0, 20.0),
    "port_names": _strings(_string(empty=False, limit=63, forbid=":")),  # ALSA's port name size
    "capture": _bool,
    "sample_memory_mb": _int(0, 1 << 20),
    "effect_outputs": _bool,
    "channel_outputs": _bool,
}
_CONTROL = {"socket": _socket}
_LOGGING = {"level": _choice("debug", "info", "warning", "error")}
_SECTIONS = {"audio": _AUDIO, "midi": _MIDI, "pins": _PIN, "control": _CONTROL, "logging": _LOGGING}


# --- messages ---------------------------------------------------------------------------------


def check_value(section: str, key: str, value: Any, source: str) -> Any:
    """A value for `section.key` from outside the file (a `dmusd run` flag, a control request)
    through that key's own rule; ConfigError naming `source` and the key, in the file's words."""
    try:
        return _SECTIONS[section][key](value)
    except _Bad as bad:
        message = f"{bad.what}, got {show_value(bad.value)}"
        raise ConfigError(message, file=source, key=show_key((section, key, *bad.sub))) from None


def show_key(path: tuple) -> str:
    """("pins", 1, "voices") -> "pins[1].voices"; keys that are not bare TOML keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part)
            out += f".{name}" if out else name
    return out


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def show_value(value: Any, limit: int = 100) -> str:
    """A value as TOML writes it, on one line; a long one keeps its start and its end (a path's
    file name)."""
    text = _toml(value)
    half = (limit - 3) // 2
    return text if len(text) <= limit else text[:half] + "..." + text[-half:]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show_key((k,))} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


# --- where a key is -------------------------------------------------------------------------

_SEGMENT = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")


class _KeyLines:
    """Line numbers of table headers and keys, by key path, from a scan of the TOML text.

    Arrays of tables count from 0 (`pins[1]` is the second `[[pins]]`). A path that is not found
    falls back to its nearest found parent (a key inside an inline table reports that table's
    line). Lines inside multi-line strings and arrays are never read as keys.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple, int] = {}
        self.counts: dict[tuple, int] = {}  # array-of-tables path -> tables seen so far
        table: tuple = ()
        closer = ""  # the delimiter ending a multi-line string being skipped
        depth = 0  # open brackets and braces of a value that spans lines
        for number, line in enumerate(text.split("\n"), start=1):
            if closer or depth:
                closer, depth = _scan(line, closer, depth)
                continue
            header = re.match(r"\s*(\[\[?)", line)
            if header:
                parsed = _dotted(line, header.end())
                if parsed and line.startswith("]" * len(header.group(1)), parsed[1]):
                    table = self._header(parsed[0], len(header.group(1)) == 2, number)
                continue
            parsed = _dotted(line, 0)
            if parsed and line.startswith("=", parsed[1]):
                path = table
                for segment in parsed[0]:
                    path += (segment,)
                    self.lines.setdefault(path, number)
                closer, depth = _scan(line[parsed[1] + 1 :], "", 0)

    def _header(self, segments: list[str], array: bool, number: int) -> tuple:
        path: tuple = ()
        for i, segment in enumerate(segments):
            path += (segment,)
            self.lines.setdefault(path, number)
            if array and i == len(segments) - 1:
                self.counts[path] = self.counts.get(path, 0) + 1
            if path in self.counts:
                path += (self.counts[path] - 1,)
        self.lines.setdefault(path, number)
        return path

    def line(self, path: tuple) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def _dotted(text: str, start: int) -> tuple[list[str], int] | None:
    """A dotted key at text[start:]: its segments and the index after it, or None."""
    segments, pos = [], start
    while True:
        match = _SEGMENT.match(text, pos)
        if not match:
            return None
        bare, basic, literal = match.groups()
        if basic is not None:
            # A TOML-only escape (\U0001F600) fails JSON: keep the raw text, the line still counts.
            with contextlib.suppress(ValueError):
                basic = json.loads(f'"{basic}"')
        segments.append(bare if bare is not None else basic if basic is not None else literal)
        pos = match.end()
        if not text.startswith(".", pos):
            return segments, pos
        pos += 1


def _scan(text: str, closer: str, depth: int) -> tuple[str, int]:
    """Follow a value through one line: the multi-line string still open, bracket depth left."""
    i = 0
    while i < len(text):
        if closer:  # inside a multi-line string
            if closer == '"""' and text[i] == "\\":
                i += 2
            elif text.startswith(closer, i):
                i += 3
                for _ in range(2):  # up to two quotes may end the content before the delimiter
                    i += text.startswith(closer[0], i)
                closer = ""
            else:
                i += 1
            continue
        c = text[i]
        if c == "#":
            break
        if text.startswith(('"""', "'''"), i):
            closer, i = text[i : i + 3], i + 3
        elif c == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif c == "'":
            end = text.find("'", i + 1)
            i = len(text) if end < 0 else end + 1
        else:
            depth += (c in "[{") - (c in "]}")
            i += 1
    return closer, max(depth, 0)
