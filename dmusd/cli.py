"""The `dmusd` command line: one sub-command per module in dmusd/commands/.

Each module exposes `register(subparsers)`, which adds its parser and sets `func` to a callable
taking the parsed arguments and returning an exit code. Errors of the DmusdError family become one
line on stderr and their exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from dmusd import __version__
from dmusd.errors import DmusdError

# Sub-command modules, in the order `dmusd --help` lists them.
COMMANDS = ["run", "ctl", "check_config", "devices", "render", "bank", "trace"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmusd", description="A DirectMusic-model software synthesizer for Linux."
    )
    parser.add_argument("--version", action="version", version=f"dmusd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"dmusd.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DmusdError as error:
        print(f"dmusd: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`dmusd bank info X | head`): nothing more to say, and Python
        # must not complain about flushing stdout on exit either.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 141


if __name__ == "__main__":
    sys.exit(main())
