"""`dmusd render A.mid B.mid DIR GLOB -o OUT -j N`: the batch renderer, as a user runs it."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dmusd.banks.dls_writer import save_dls
from tests.synth.test_stream import sine_bank
from tests.test_render_safety import long_note_song

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MIDI = DATA / "test-midi-files" / "midi"
DMUSD = Path(sys.executable).with_name("dmusd")
GOOD = ["test-c-major-scale.mid", "test-note-on-velocity.mid", "test-control-40-damper.mid"]


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("batch-bank") / "sine.dls"
    save_dls(sine_bank(), path)
    return path


@pytest.fixture
def songs(tmp_path) -> Path:
    """Three good songs and one that is not a MIDI file, in a folder."""
    folder = tmp_path / "songs"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(MIDI / name, folder / name)
    shutil.copy(MIDI / "test-not-a-midi-file.mid", folder / "broken.mid")
    return folder


def dmusd(*args: object, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([str(DMUSD), *map(str, args)], capture_output=True, text=True,
                          timeout=300, **popen)  # fmt: skip


def lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return err.strip().splitlines()


def samples(path: Path) -> np.ndarray:
    return sf.read(path, dtype="int16")[0]


def test_a_broken_file_is_reported_and_the_others_are_rendered(tmp_path, songs, bank):
    out = tmp_path / "out"
    inputs = [songs / name for name in GOOD[:2]] + [songs / "broken.mid", songs / GOOD[2]]
    done = dmusd("render", *inputs, "-o", out, "-j", 2, "--bank", bank)
    assert done.returncode == 1
    said = lines(done.stderr)
    assert (
        said[0]
        == f"dmusd: {songs / 'broken.mid'}: offset 0: not a Standard MIDI File: no MThd header"
    )
    assert said[-1].startswith(f"dmusd: rendered 3 of 4 files into {out} with 2 workers: ")
    assert said[-1].endswith("x real time; 1 failed") and " s of audio in " in said[-1]
    assert len(said) == 2 and "\r" not in done.stderr  # no progress bar off a terminal
    assert sorted(p.name for p in out.iterdir()) == sorted(n.replace(".mid", ".wav") for n in GOOD)
    for name in GOOD:  # each one is what the single-file command writes
        single = tmp_path / f"single-{name}.wav"
        assert dmusd("render", songs / name, "-o", single, "--bank", bank).returncode == 0
        assert np.array_equal(samples(out / name.replace(".mid", ".wav")), samples(single))


def test_a_folder_and_a_glob_keep_names_sub_folders_and_the_format(tmp_path, songs, bank):
    (songs / "broken.mid").unlink()
    (songs / "more").mkdir()
    shutil.copy(MIDI / "test-running-status-sysex.mid", songs / "more" / "sysex.MID")
    glob = tmp_path / "others"
    glob.mkdir()
    shutil.copy(MIDI / "test-control-41-portamento.mid", glob / "porta.mid")
    out = tmp_path / "out"
    done = dmusd("render", songs, glob / "*.mid", "-o", out, "--format", "flac", "-j", 2,
                 "--bank", bank, "--no-effects")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert lines(done.stderr)[-1].startswith(f"dmusd: rendered 5 of 5 files into {out}")
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.flac"))
    expected = [n.replace(".mid", ".flac") for n in GOOD] + ["more/sysex.flac", "porta.flac"]
    assert written == sorted(expected)
    assert sf.info(out / "porta.flac").format == "FLAC"
    assert not [p for p in out.rglob("*") if "partial" in p.name]


def test_one_worker_renders_in_the_commands_own_process_the_same_files(tmp_path, songs, bank):
    (songs / "broken.mid").unlink()
    one, two = tmp_path / "one", tmp_path / "two"
    assert dmusd("render", songs, "-o", one, "-j", 1, "--bank", bank).returncode == 0
    assert dmusd("render", songs, "-o", two, "-j", 2, "--bank", bank).returncode == 0
    for name in GOOD:
        wav = name.replace(".mid", ".wav")
        assert (one / wav).read_bytes() == (two / wav).read_bytes()


def test_what_the_batch_cannot_start_with_is_one_line_before_any_render(tmp_path, songs, bank):
    out = tmp_path / "out"
    (tmp_path / "a").mkdir()
    shutil.copy(MIDI / GOOD[0], tmp_path / "a" / "song.mid")
    (tmp_path / "b").mkdir()
    shutil.copy(MIDI / GOOD[1], tmp_path / "b" / "song.mid")
    done = dmusd("render", tmp_path / "a" / "song.mid", tmp_path / "b" / "song.mid", "-o", out)
    assert done.returncode == 2
    (said,) = lines(done.stderr)
    assert said.endswith(f"would both be written to {out / 'song.wav'}") and said.startswith(
        "dmusd: -o: "
    )
    broken = tmp_path / "broken.dls"
    broken.write_bytes(b"RIFF\x04\x00\x00\x00DLS ")
    done = dmusd("render", songs, "-o", out, "--bank", broken)
    assert done.returncode == 1
    (said,) = lines(done.stderr)
    assert str(broken) in said
    done = dmusd("render", songs, "-o", out, "-j", 0)
    assert done.returncode == 2 and lines(done.stderr) == [
        "dmusd: -j: 0 worker processes: give at least 1"
    ]
    done = dmusd("render", tmp_path / "nothing-*.mid", "-o", out)
    assert done.returncode == 2 and "no file matches this pattern" in done.stderr
    assert not out.exists() or not list(out.iterdir())


def test_the_progress_bar_goes_over_the_whole_set_on_a_terminal(tmp_path, songs, bank):
    (songs / "broken.mid").unlink()
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(DMUSD), "render", songs, "-o", tmp_path / "out", "--bank", bank],
        stdout=subprocess.DEVNULL, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(60) == 0
    text = seen.decode()
    assert "\rrender [" in text and "100%  3 / 3 files" in text
    assert "rendered 3 of 3 files" in text


def batch_under_way(folder: Path, out: Path, bank: Path, jobs: int):
    """A batch of `folder` started (no effects, no length cap worth the name), once its first
    partial file exists: (the process, the output folder, the partial files)."""
    process = subprocess.Popen(
        [str(DMUSD), "render", folder, "-o", out, "-j", str(jobs), "--bank", bank,
         "--no-effects", "--max-length", "3600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    while not (out.exists() and (partial := [p for p in out.iterdir() if "partial" in p.name])):
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.1)
    return process, out, partial


@pytest.mark.slow
def test_sigterm_stops_the_batch_and_leaves_no_partial_file(tmp_path, bank):
    folder = tmp_path / "songs"
    folder.mkdir()
    for n in range(3):
        long_note_song(folder / f"long{n}.mid")
    process, out, _ = batch_under_way(folder, tmp_path / "out", bank, jobs=2)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert lines(err)[-1] == f"dmusd: stopped by SIGTERM: the batch into {out} is not finished"
    assert list(out.iterdir()) == []


def test_a_caller_with_threads_of_its_own_gets_fresh_workers_with_the_same_files(
    tmp_path, songs, bank
):
    import threading

    from dmusd.batch import render_batch
    from dmusd.batch_inputs import batch_songs
    from dmusd.render_settings import RenderSettings

    out = tmp_path / "out"
    out.mkdir()
    items = batch_songs([str(songs)], str(out), "wav")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # a thread forking would copy mid-flight
    other.start()
    assert threading.active_count() > 1  # so render_batch takes the fork-server route
    try:
        results = list(render_batch(items, RenderSettings(banks=(str(bank),)), 2))
    finally:
        stop.set()
        other.join()
    failed = {Path(r.song).name: r.error for r in results if r.error}
    assert list(failed) == ["broken.mid"] and "offset 0" in failed["broken.mid"]
    for name in GOOD:
        single = tmp_path / f"single-{name}.wav"
        assert dmusd("render", songs / name, "-o", single, "--bank", bank).returncode == 0
        assert (out / name.replace(".mid", ".wav")).read_bytes() == single.read_bytes()


@pytest.mark.slow
def test_a_song_whose_renderer_dies_fails_alone_and_leaves_no_partial_file(tmp_path, bank):
    folder = tmp_path / "songs"
    folder.mkdir()
    long_note_song(folder / "a-long.mid")
    for name in GOOD[:2]:
        shutil.copy(MIDI / name, folder / name)
    process, out, partial = batch_under_way(folder, tmp_path / "out", bank, jobs=1)
    renderer = int(partial[0].name.split("dmusd-")[1].split(".")[0])  # .a-long.dmusd-PID.partial
    assert renderer != process.pid  # each song renders in a fork of its worker
    os.kill(renderer, signal.SIGKILL)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    said = lines(err)
    assert said[0] == f"dmusd: {folder / 'a-long.mid'}: the renderer died (killed by SIGKILL)"
    assert said[-1].startswith("dmusd: rendered 2 of 3 files") and said[-1].endswith("1 failed")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        n.replace(".mid", ".wav") for n in GOOD[:2]
    )


def test_the_worker_hides_its_start_up_objects_from_the_collector(bank):
    # each song renders in a fork: collections there must not walk (and copy the pages of)
    # what the worker built to start, the banks' parse among them
    import gc

    from dmusd import batch_worker
    from dmusd.render_settings import RenderSettings

    gc.unfreeze()
    try:
        batch_worker.open_synth(RenderSettings(banks=(str(bank),)))
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
        batch_worker._synth = None
