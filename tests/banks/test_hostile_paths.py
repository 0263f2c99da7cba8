"""Bank paths that are not bank files: a FIFO, devices, /proc, a NUL byte, someone's secrets.

Each must be refused at once with a BankError that names the path and says what it is or what
was expected, never blocking and never echoing the file's bytes. The FIFO has no writer: a plain
open() would wait for one forever, so a hang here is the bug (the subprocess timeout stops it).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dmusd.banks.loader import load_bank
from dmusd.errors import BankError, MidiFileError
from dmusd.midifile import read_midi_file
from tests.banks.builders import REPO


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.sf2"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_at_once_naming_what_it_is(fifo):
    with pytest.raises(BankError, match=r"is a FIFO \(named pipe\), not a regular file") as error:
        load_bank(fifo)
    assert error.value.file == str(fifo)


def test_bank_check_of_a_fifo_answers_at_once(fifo):
    run = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "bank", "check", str(fifo)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 1
    assert run.stderr.strip() == f"dmusd: {fifo}: is a FIFO (named pipe), not a regular file"


def test_a_midi_fifo_is_refused_too(fifo):
    with pytest.raises(MidiFileError, match="is a FIFO"):
        read_midi_file(fifo)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/dev/zero", "is a character device"),
        ("/dev/null", "is a character device"),
        ("/", "is a directory"),
        ("/proc/self/mem", "not a DLS or SoundFont file"),
        ("bank\0.sf2", "the path holds a NUL byte"),
    ],
)
def test_other_non_bank_paths_are_typed_errors(path, words):
    with pytest.raises(BankError, match=words):
        load_bank(path)


def test_a_file_that_is_not_a_bank_is_not_echoed(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_bytes(b"root:$6$s3cr3t:19000:0:99999:7:::\n")
    with pytest.raises(BankError) as error:
        load_bank(secret)
    text = str(error.value)
    assert "s3cr3t" not in text and "19000" not in text
    assert "expected a RIFF header of form 'DLS ' or 'sfbk'" in text
    assert error.value.offset == 0


def test_an_empty_file_says_so(tmp_path):
    empty = tmp_path / "empty.dls"
    empty.write_bytes(b"")
    with pytest.raises(BankError, match="found an empty file"):
        load_bank(empty)
