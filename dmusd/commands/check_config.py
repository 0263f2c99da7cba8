"""`dmusd check-config [FILE]`: validate a config file without starting the daemon.

Without FILE it checks the file `dmusd run` would read (see config/dmusd.toml for the search
order). On success it prints one line: the file, then each pin with its ports and banks. On error
it prints the one-line ConfigError (file, line, key, value) and exits 2. Unlike `dmusd run`, it
also requires every bank to be a readable file.
"""

from __future__ import annotations

import argparse
import os

from dmusd.config import SYSTEM_CONFIG, Config, load_config, user_config_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check-config", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("file", nargs="?", help="the TOML file (default: the one `run` reads)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(summary(load_config(args.file, check_files=True)))
    return 0


def summary(config: Config) -> str:
    """One line: where the config came from, then each pin's ports and banks."""
    if config.path is None:
        source = f"no config file ({user_config_file()}, {SYSTEM_CONFIG}): built-in defaults"
    else:
        source = f"{config.path}: ok"
    ports = sum(len(pin.port_names) for pin in config.pins)
    banks = sum(len(pin.banks) for pin in config.pins)
    parts = [f"{_count(len(config.pins), 'pin')}, {_count(ports, 'port')}, {_count(banks, 'bank')}"]
    for pin in config.pins:
        names = ", ".join(f'"{name}"' for name in pin.port_names)
        loaded = ", ".join(os.path.basename(b) for b in pin.banks) or "built-in GM bank"
        parts.append(f"{pin.name}: {pin.voices} voices, ports {names}, banks {loaded}")
    return f"{source}: " + "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
