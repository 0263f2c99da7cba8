"""One broken item does not spoil a bank (issue 12 item 2): real DLS and SF2 files with an empty
wave, a region linked to a missing or empty wave, a ROM sample and an unknown articulation
destination load without those items, say where each was, render what is left, and `bank check`
still fails on them unless --allow-warnings."""

from __future__ import annotations

import re
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from dmusd.banks import load_bank
from dmusd.cli import main
from tests.banks.builders import broken_dls_bytes, broken_sf2_bytes
from tests.synth.audio import cents, zero_crossing_frequency

RATE = 48000
LOCATED = re.compile(r"^(?P<file>[^:]+): (?P<chunk>[^:]+): offset (?P<offset>\d+): (?P<what>.+)$")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("broken")
    dls, sf2 = folder / "broken.dls", folder / "broken.sf2"
    dls.write_bytes(broken_dls_bytes())
    sf2.write_bytes(broken_sf2_bytes())
    song = folder / "programs.mid"
    track = mido.MidiTrack()
    for program in (0, 1, 2):  # one second each at A4
        track.append(mido.Message("program_change", program=program))
        track.append(mido.Message("note_on", note=69, velocity=100))
        track.append(mido.Message("note_off", note=69, time=960))
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(song)
    return {"dls": dls, "sf2": sf2, "song": song, "folder": folder}


def located(warnings: list[str]) -> list[dict[str, str]]:
    out = []
    for warning in warnings:
        m = LOCATED.match(warning)
        assert m, f"not located (file: chunk: offset N: what): {warning}"
        out.append(m.groupdict())
    return out


def test_dls_loads_without_its_broken_items_and_says_where_each_was(files):
    bank = load_bank(files["dls"])
    assert sorted(bank.instruments) == [0, 2]
    assert [len(bank.instruments[p].regions) for p in (0, 2)] == [1, 1]
    assert bank.instruments[2].regions[0].key_low == 60
    art = bank.instruments[0].regions[0].articulation
    assert all(c.destination != 0x0777 for c in art) and len(art) == 1
    data = files["dls"].read_bytes()
    where = located(bank.warnings)
    assert {w["file"] for w in where} == {str(files["dls"])}
    assert [w["chunk"] for w in where] == [
        "wvpl/wave[1]",
        "lins/ins[0]/lrgn/rgn2[0]/lar2/art2",
        "lins/ins[1]/lrgn/rgn2[0]/wlnk",
        "lins/ins[1]",
        "lins/ins[2]/lrgn/rgn2[0]/wlnk",
    ]
    offsets = [int(w["offset"]) for w in where]
    assert (
        data[offsets[0] : offsets[0] + 4] == b"LIST"
        and data[offsets[0] + 8 : offsets[0] + 12] == b"wave"
    )
    assert (
        data[offsets[2] : offsets[2] + 4] == b"wlnk"
        and data[offsets[4] : offsets[4] + 4] == b"wlnk"
    )
    assert (
        int.from_bytes(data[offsets[1] + 4 : offsets[1] + 6], "little") == 0x0777
    )  # usDestination
    assert "pool wave 1 holds no samples; skipped" in where[0]["what"]
    assert where[1]["what"] == "connection 1 has unknown destination 0x0777; skipped"
    assert "region 0 skipped" in where[2]["what"] and "region 0 skipped" in where[4]["what"]
    assert "prog 1 has no region left to play; skipped" in where[3]["what"]


def test_sf2_loads_without_its_rom_sample(files):
    bank = load_bank(files["sf2"])
    assert sorted(bank.instruments) == [0]
    where = located(bank.warnings)
    assert [w["chunk"] for w in where] == ["pdta/shdr[1]", "pdta/phdr[1]"]
    data = files["sf2"].read_bytes()
    assert data[int(where[0]["offset"]) : int(where[0]["offset"]) + 3] == b"rom"  # its record
    assert data[int(where[1]["offset"]) : int(where[1]["offset"]) + 3] == b"rom"
    assert "sample 1 is a ROM sample" in where[0]["what"]


@pytest.mark.parametrize(("kind", "heard"), [("dls", [440, 0, 440]), ("sf2", [440, 0, 0])])
def test_render_plays_what_is_left_and_prints_each_warning(capsys, files, kind, heard):
    out = files["folder"] / f"{kind}.wav"
    code = main(["render", str(files["song"]), "-o", str(out), "--bank", str(files[kind]),
                 "--no-effects"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("dmusd: warning: ")]
    assert [w.removeprefix("dmusd: warning: ") for w in warnings] == load_bank(files[kind]).warnings
    missed = heard.count(0) if kind == "sf2" else 1  # program 1 (and 2 in the SF2) missing
    assert f"{missed} missed patches" in err.splitlines()[-1]
    x, _ = sf.read(out)
    for i, hz in enumerate(heard):
        part = x[i * RATE + 4800 : (i + 1) * RATE - 4800, 0]
        if hz:
            assert abs(cents(zero_crossing_frequency(part, RATE), hz)) < 3
        else:
            assert np.abs(part).max() < 1e-3


def test_bank_check_reports_every_warning_and_fails_unless_allowed(capsys, files):
    count = len(load_bank(files["dls"]).warnings)
    assert main(["bank", "check", str(files["dls"])]) == 1
    out, err = capsys.readouterr()
    assert out.count("warning: ") == count == 5
    assert f"{count} warning(s)" in err
    assert main(["bank", "check", "--allow-warnings", str(files["dls"])]) == 0
    out, _ = capsys.readouterr()
    assert out.count("warning: ") == count and "ok (2 instruments" in out
