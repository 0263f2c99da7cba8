"""`dmusd run` flags merged over the config: --audio, --midi, --rate, --period, --bank FILE
(repeatable), --voices, --volume, as FluidSynth's -a, -m, -r, -z and soundfont arguments.

Each flag is a config key and goes through that key's own rule, so a bad value gets the message
a bad value in the file gets, with the flag in place of the file and line:
`--voices: pins.voices: must be 1..4096, got 0`. The pin keys (banks, voices, volume) apply to
every pin. A bank named by a flag is relative to the working directory.

The merged Config remembers its overrides, so a reload re-reads the file and applies them
again, and `in_force` tells `ctl status` where each of these settings came from.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from dmusd.config import Config, check_value, show_key, show_value
from dmusd.errors import ConfigError

# flag -> (section, key); "pins" keys apply to every pin
FLAGS: dict[str, tuple[str, str]] = {
    "--audio": ("audio", "backend"),
    "--midi": ("midi", "backend"),
    "--rate": ("audio", "sample_rate"),
    "--period": ("audio", "period"),
    "--bank": ("pins", "banks"),
    "--voices": ("pins", "voices"),
    "--volume": ("pins", "volume_db"),
}


def number(text: str) -> int | float | str:
    """A flag's text as the TOML value it would be: an integer, a float, else the string
    (which the key's rule then refuses in the config's words)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check(flag: str, value: Any) -> Any:
    """A flag's value through its key's rule; ConfigError naming the flag and the key."""
    section, key = FLAGS[flag]
    return check_value(section, key, value, source=flag)


def _banks(flag: str, files: tuple[str, ...]) -> tuple[str, ...]:
    """Bank paths from the working directory, each a readable file (as check-config wants)."""
    paths = tuple(os.path.abspath(os.path.expanduser(f)) for f in files)
    for i, path in enumerate(paths):
        if not (os.path.isfile(path) and os.access(path, os.R_OK)):
            message = f"not a readable file, got {show_value(files[i])}"
            raise ConfigError(message, file=flag, key=show_key(("pins", "banks", i)))
    return paths


def apply_overrides(config: Config, overrides: tuple[tuple[str, Any], ...]) -> Config:
    """`config` with the flags (flag, value) merged over it, each checked by its key's rule."""
    if not overrides:
        return config
    audio, midi, pins = config.audio, config.midi, config.pins
    for flag, raw in overrides:
        section, key = FLAGS[flag]
        value = check(flag, list(raw) if isinstance(raw, tuple) else raw)
        if section == "audio":
            audio = replace(audio, **{key: value})
        elif section == "midi":
            midi = replace(midi, **{key: value})
        else:
            if key == "banks":
                value = _banks(flag, value)
            pins = tuple(replace(pin, **{key: value}) for pin in pins)
    return replace(config, audio=audio, midi=midi, pins=pins, overrides=overrides)


def in_force(config: Config) -> dict[str, dict[str, Any]]:
    """Each flag's setting as the daemon runs it and where it came from: the flag, the config
    file, or the built-in defaults. Pin settings are the first pin's (flags set every pin)."""
    source = f"config {config.path}" if config.path else "built-in default"
    flags = {flag for flag, _ in config.overrides}
    shown = {}
    for flag, (section, key) in FLAGS.items():
        holder = getattr(config, section) if section != "pins" else config.pins[0]
        value = getattr(holder, key)
        shown[f"{section}.{key}"] = {
            "value": list(value) if isinstance(value, tuple) else value,
            "from": f"flag {flag}" if flag in flags else source,
        }
    return shown
