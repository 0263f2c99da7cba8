"""`dmusd render` never leaves a partial file that looks whole, and always says why it stopped.

Through the real command (a subprocess) and real faults: a tiny tmpfs that fills up, a
read-only mount, a missing folder, a FIFO as the target, and SIGTERM/SIGINT/SIGHUP sent to a
render in progress. Each leaves the folder as it was (no temporary file, no partial OUT; a
previous OUT untouched), prints one line and exits 1, or 128 + the signal's number.
Mounting needs root (CAP_SYS_ADMIN); without it those cases are skipped, the others run.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from dmusd.banks.dls_writer import save_dls
from dmusd.cli import main
from tests.synth.test_stream import sine_bank

REPO = Path(__file__).resolve().parents[1]
RATE = 48000


def long_note_song(path: Path, ticks: int = 0x0FFFFFFF) -> Path:
    """One note held for `ticks` ticks at the slowest tempo the format allows (0xFFFFFF us a
    quarter, one tick a quarter): 0x0FFFFFFF ticks is 142 years, in 44 bytes."""
    vlq = bytearray([ticks & 0x7F])
    ticks >>= 7
    while ticks:
        vlq.insert(0, 0x80 | (ticks & 0x7F))
        ticks >>= 7
    track = b"\x00\xff\x51\x03\xff\xff\xff" + b"\x00\x90\x3c\x64"
    track += bytes(vlq) + b"\x80\x3c\x00" + b"\x00\xff\x2f\x00"
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 1) + b"MTrk"
                     + struct.pack(">I", len(track)) + track)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def song_and_bank(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("render-safety")
    bank = folder / "sine.dls"
    save_dls(sine_bank(), bank)
    return long_note_song(folder / "forever.mid"), bank


def render(song: Path, bank: Path, out: Path, *extra: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "dmusd.cli", "render", str(song), "-o", str(out),
               "--bank", str(bank), "--no-effects", *extra]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)  # fmt: skip


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, err = process.communicate(timeout=300)
    return process.returncode, err


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def mount(tmp_path):
    """mount(options) -> a fresh tmpfs folder mounted with those options (unmounted after)."""
    mounted: list[Path] = []

    def make(options: str) -> Path:
        folder = tmp_path / f"mnt{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_a_full_disk_removes_the_partial_file_and_keeps_the_old_one(song_and_bank, mount, suffix):
    song, bank = song_and_bank
    folder = mount("size=256k")
    out = folder / f"out{suffix}"
    out.write_bytes(b"the previous render")
    code, err = finish(render(song, bank, out, "--max-length", "60"))
    assert code == 1
    assert (
        one_line(err) == f"dmusd: {out}: cannot write: no space left on the device; nothing written"
    )
    assert sorted(p.name for p in folder.iterdir()) == [out.name]
    assert out.read_bytes() == b"the previous render"


def test_a_read_only_folder_is_refused_before_rendering(song_and_bank, mount):
    song, bank = song_and_bank
    folder = mount("ro,size=64k")
    code, err = finish(render(song, bank, folder / "out.wav"))
    assert code == 1
    assert one_line(err).endswith("cannot write: the file system is read-only; nothing written")
    assert list(folder.iterdir()) == []


def test_a_missing_folder_or_a_fifo_is_one_line(song_and_bank, tmp_path):
    song, bank = song_and_bank
    code, err = finish(render(song, bank, tmp_path / "no" / "such" / "out.wav"))
    assert code == 1
    assert f"the folder {tmp_path / 'no' / 'such'} does not exist" in one_line(err)
    fifo = tmp_path / "pipe.wav"  # renaming over it would replace the pipe: refused
    os.mkfifo(fifo)
    code, err = finish(render(song, bank, fifo))
    assert code == 1
    assert one_line(err) == f"dmusd: {fifo}: is a FIFO (named pipe): can only write a regular file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.wav"]


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_mid_render_removes_the_partial_file_and_says_so(song_and_bank, tmp_path, number):
    song, bank = song_and_bank
    out = tmp_path / "out.flac"
    process = render(song, bank, out)  # 4 hours of audio by default: still running when hit
    deadline = time.monotonic() + 120
    partial: list[Path] = []
    while time.monotonic() < deadline and process.poll() is None:
        partial = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
        if partial and partial[0].stat().st_size > 100_000:
            break
        time.sleep(0.05)
    assert partial and process.poll() is None, "the render did not get going"
    process.send_signal(number)
    code, err = finish(process)
    assert code == 128 + number
    name = signal.Signals(number).name
    assert one_line(err) == f"dmusd: stopped by {name}: {out} not written"
    assert list(tmp_path.iterdir()) == []


def test_max_length_cuts_a_song_of_years_and_says_so(song_and_bank, tmp_path, capsys):
    song, bank = song_and_bank
    assert song.stat().st_size == 44
    out = tmp_path / "cut.wav"
    code = main(["render", str(song), "-o", str(out), "--bank", str(bank), "--max-length", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert sf.info(str(out)).frames == 2 * RATE
    assert "cut at --max-length 2 s: the song runs 4503599342.2 s (142.7 years)" in one_line(err)
    assert [p.name for p in tmp_path.iterdir()] == ["cut.wav"]


def test_a_song_within_max_length_is_not_cut(song_and_bank, tmp_path, capsys):
    song = long_note_song(tmp_path / "short.mid", ticks=1)  # one tick: 16.8 s
    out = tmp_path / "short.wav"
    code = main(["render", str(song), "-o", str(out), "--bank", str(song_and_bank[1]),
                 "--max-length", "60"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0 and "cut at" not in err, err
    assert 16.7 < sf.info(str(out)).duration < 60
