"""The `dmusd` command line: one sub-command per module in dmusd/commands/.

Each module exposes `register(subparsers)`, which adds its parser and sets `func` to a callable
taking the parsed arguments and returning an exit code. Errors of the DmusdError family become one
line on stderr and their exit code, never a traceback.

Only the module of the command being run is imported: `dmusd ctl ...` must not pay for numpy,
numba and the synth that `render` needs (a ctl call would take half a second or more). The other
commands appear in `dmusd --help` as stubs with their one-line help from COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from dmusd import __version__
from dmusd.errors import DmusdError

# numpy's OpenBLAS starts a thread per core, and those spin about 0.1 s of CPU after start-up
# (twice a 2-core batch's workers' share of it); dmusd has no BLAS work worth threads. Set
# before any command imports numpy; a value the user set stays.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Sub-commands (as typed) -> their one-line help, in the order `dmusd --help` lists them; the
# module is dmusd/commands/<name with "_" for "-">.py.
COMMANDS = {
    "run": "run the synthesizer daemon",
    "ctl": "control a running daemon",
    "check-config": "validate a config file without starting",
    "devices": "list audio devices and MIDI backends",
    "render": "render MIDI files to WAV or FLAC files",
    "bank": "inspect, check and convert DLS/SF2/SF3 banks",
    "trace": "play a MIDI file through the kernel chain, print events",
}


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command argv names (its first word that is not an option), if it is one."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dmusd", description="A DirectMusic-model software synthesizer for Linux."
    )
    parser.add_argument("--version", action="version", version=f"dmusd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = chosen_command(argv)
    for name, help_line in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"dmusd.commands.{name.replace('-', '_')}").register(sub)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
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
