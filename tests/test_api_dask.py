"""dmusd.dask.render_files on a real Dask LocalCluster of worker processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import distributed  # the test extra installs it (.ci/setup): missing, this file fails
import pytest
import soundfile as sf

from dmusd.banks.dls_writer import save_dls
from dmusd.dask import SynthPlugin, render_files
from dmusd.errors import BankError
from dmusd.render_settings import RenderSettings
from tests.synth.test_stream import sine_bank

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MIDI = DATA / "test-midi-files" / "midi"
DMUSD = Path(sys.executable).with_name("dmusd")
GOOD = ["test-c-major-scale.mid", "test-note-on-velocity.mid", "test-control-40-damper.mid"]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dask-bank") / "sine.dls"
    save_dls(sine_bank(), path)
    return path


def synth_ids(client, name: str) -> dict[str, int]:
    """Each worker's Synth, by identity."""
    return client.run(lambda dask_worker: id(dask_worker.plugins[name].synth))


@pytest.mark.slow
def test_a_cluster_renders_the_files_the_cli_writes_and_reports_the_broken_one(
    client, bank, tmp_path
):
    songs = tmp_path / "songs"
    songs.mkdir()
    for name in GOOD:
        shutil.copy(MIDI / name, songs / name)
    shutil.copy(MIDI / "test-not-a-midi-file.mid", songs / "broken.mid")
    out = tmp_path / "out"
    results = render_files(client, [songs], out, banks=[bank], effects=False)
    assert [Path(r.song).name for r in results] == sorted([*GOOD, "broken.mid"])
    (broken,) = [r for r in results if r.error]
    assert broken.error.endswith("broken.mid: offset 0: not a Standard MIDI File: no MThd header")
    assert broken.exit_code == 1
    for result in results:
        if result.error is None:
            single = tmp_path / f"single-{Path(result.song).stem}.wav"
            command = [DMUSD, "render", result.song, "-o", single, "--bank", bank, "--no-effects"]
            done = subprocess.run(command, capture_output=True)
            assert done.returncode == 0
            assert Path(result.output).read_bytes() == single.read_bytes()
            assert result.seconds == pytest.approx(sf.info(result.output).duration)
    # every worker built its Synth once, and keeps it for the next call
    name = SynthPlugin(RenderSettings(banks=(str(bank),), effects=False)).name
    first = synth_ids(client, name)
    assert len(first) == 2 and all(first.values())
    again = render_files(client, [songs / GOOD[0]], tmp_path / "again", banks=[bank], effects=False)
    assert again[0].error is None
    assert synth_ids(client, name) == first


@pytest.mark.slow
def test_a_bad_bank_is_the_typed_error_of_the_worker_that_opened_it(client, tmp_path):
    broken = tmp_path / "broken.dls"
    broken.write_bytes(b"RIFF\x04\x00\x00\x00DLS ")
    with pytest.raises(BankError) as caught:
        render_files(client, [MIDI / GOOD[0]], tmp_path / "out", banks=[broken])
    assert str(broken) in str(caught.value)
