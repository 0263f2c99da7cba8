"""The CLI imports only the sub-command it runs (issue 14): `dmusd --version` and `dmusd ctl`
must not pay for numpy, numba and the synth that `render` needs. Through a fresh interpreter,
as a user's shell starts it."""

from __future__ import annotations

import ast
import subprocess
import sys

from dmusd.cli import COMMANDS

PROBE = """\
import sys
from dmusd.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ('numpy', 'numba', 'llvmlite', 'sounddevice', 'jack', 'rtmidi', 'soundfile')
print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('dmusd.commands.')))
"""


def loaded(*argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    return ast.literal_eval(done.stdout.splitlines()[-1])  # a list of module names


def test_version_and_help_import_no_sub_command():
    assert loaded("--version") == []
    assert loaded("--help") == []


def test_a_sub_command_imports_its_own_module_only():
    assert loaded("ctl", "--socket", "/nonexistent/ctl.sock", "status") == [
        "dmusd.commands.ctl",
        "dmusd.commands.ctl_verbs",
    ]
    assert loaded("check-config", "--help") == ["dmusd.commands.check_config"]


def test_help_still_lists_every_command():
    done = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    for name, help_line in COMMANDS.items():
        assert f"{name}" in done.stdout and help_line in done.stdout.replace("\n", " ")
