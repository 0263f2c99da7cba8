"""`dmusd ctl shell`: an interactive prompt over the control socket, as FluidSynth's shell is.

Each line is what follows `dmusd ctl` on the command line (`noteon 0 60 100`, `status`,
`load synth ~/gm.sf2`), parsed by the same parser and sent as one request; a mistake prints
one line and the prompt comes back. `help` lists the commands, `quit`, `exit` or Ctrl-D leave.
History (readline) is kept in $XDG_STATE_HOME/dmusd/ctl_history (~/.local/state when the
variable is unset); Tab completes command names, then on/off and file names where they fit.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shlex
import sys

from dmusd.errors import DmusdError

HISTORY_LINES = 1000
PROMPT = "dmusd> "
LEAVE = ("quit", "exit")


def history_file() -> str:
    base = os.environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore relative values
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "dmusd", "ctl_history")


def commands(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The actions of `dmusd ctl` with their one-line help, from its parser."""
    actions = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    helps = {choice.dest: choice.help or "" for choice in actions._choices_actions}  # noqa: SLF001
    return {name: helps.get(name, "") for name in actions.choices if name != "shell"}


class Completer:
    """readline's completer: command names first, then what the command takes."""

    def __init__(self, names: list[str]) -> None:
        self.names = sorted(names)
        self._matches: list[str] = []

    def candidates(self, line: str, text: str) -> list[str]:
        words = line.split()
        first = not words or (len(words) == 1 and not line.endswith(" "))
        if first:
            return [n + " " for n in self.names if n.startswith(text)]
        if words[0] in ("reverb", "chorus"):
            return [w + " " for w in ("on", "off") if w.startswith(text)]
        if words[0] == "load":  # a bank file
            path = os.path.expanduser(text)
            return [
                p + ("/" if os.path.isdir(p) else " ") for p in glob.glob(glob.escape(path) + "*")
            ]
        return []

    def complete(self, text: str, state: int) -> str | None:
        if state == 0:
            import readline

            self._matches = self.candidates(readline.get_line_buffer(), text)
        return self._matches[state] if state < len(self._matches) else None


def _setup_readline(names: list[str]) -> str | None:
    """History loaded and Tab bound; the history file, or None without readline."""
    try:
        import readline
    except ImportError:  # a Python built without it: a plain prompt still works
        return None
    path = history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LINES)
    readline.set_completer(Completer(names).complete)
    readline.set_completer_delims(" \t")
    readline.parse_and_bind("tab: complete")
    return path


def _save_history(path: str | None) -> None:
    if path is None:
        return
    import readline

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        readline.write_history_file(path)
    except OSError as error:
        print(f"dmusd: {path}: history not saved: {error.strerror or error}", file=sys.stderr)


def shell(args: argparse.Namespace) -> int:
    from dmusd.commands.ctl import ctl_parser, run, socket_for

    parser = ctl_parser()
    path = socket_for(args)  # once: a config mistake stops the shell before the first prompt
    names = commands(parser)
    history = _setup_readline([*names, "help", *LEAVE])
    print(f"dmusd ctl shell on {path}: `help` lists the commands, `quit` or Ctrl-D leaves")
    try:
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                print()
                return 0
            except KeyboardInterrupt:  # as a shell does: drop the line, prompt again
                print()
                continue
            one(line, parser, path, names, run)
            if line.strip() in LEAVE:
                return 0
    finally:
        _save_history(history)


def one(line, parser, path, names, run) -> None:
    """Run one line of the shell; every mistake is a line on stderr, never an exit."""
    try:
        words = shlex.split(line)
    except ValueError as error:
        print(f"dmusd: {error}", file=sys.stderr)
        return
    if not words or words[0] in LEAVE:
        return
    if words[0] == "shell":
        print("dmusd: already in the shell", file=sys.stderr)
        return
    if words[0] == "help":
        width = max(map(len, names))
        print("\n".join(f"  {name.ljust(width)}  {text}" for name, text in names.items()))
        return
    try:
        args = parser.parse_args(["--socket", path, *words])
    except SystemExit:  # argparse said what was wrong (and printed usage) on stderr
        return
    try:
        run(args)
    except DmusdError as error:
        print(f"dmusd: {error}", file=sys.stderr)
    sys.stdout.flush()
