"""The parsed-bank cache (dmusd/banks/bank_cache.py): real files on disk, a real cache folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from dmusd.banks import bank_cache, load_bank
from dmusd.pin.banks import parse_bank
from tests.banks.builders import broken_sf2_bytes, instrument_signature, simple_sf2, timgm6mb


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(bank_cache, "MIN_PARSE_S", 0.0)  # the test banks parse fast
    return tmp_path / "cache" / "dmusd" / "banks"


def _signatures(bank) -> list:
    return [instrument_signature(i) for _, i in sorted(bank.instruments.items())]


def _parses(monkeypatch) -> list[str]:
    """Records each real parse (load_bank) from here on."""
    calls: list[str] = []
    real = bank_cache.cached_load

    def counting(path, load):
        return real(path, lambda p: (calls.append(p), load(p))[1])

    monkeypatch.setattr("dmusd.pin.banks.cached_load", counting)
    return calls


def test_a_second_read_comes_from_the_cache_with_the_same_content(tmp_path, cache, monkeypatch):
    path = tmp_path / "bank.sf2"
    path.write_bytes(broken_sf2_bytes())
    parses = _parses(monkeypatch)
    first = parse_bank(str(path))
    assert len(list(cache.glob("*.bank.pickle"))) == 1
    second = parse_bank(str(path))
    assert parses == [str(path)]  # the second read did not parse
    assert second.bank is not first.bank
    assert _signatures(second.bank) == _signatures(first.bank)
    assert second.bank.warnings == first.bank.warnings != []  # the located warning stays


def test_a_changed_file_is_parsed_again(tmp_path, cache, monkeypatch):
    path = tmp_path / "bank.sf2"
    path.write_bytes(simple_sf2())
    parses = _parses(monkeypatch)
    before = _signatures(parse_bank(str(path)).bank)
    path.write_bytes(broken_sf2_bytes())
    changed = _signatures(parse_bank(str(path)).bank)
    assert len(parses) == 2
    assert changed == _signatures(load_bank(path)) != before  # the new file's content


def test_a_damaged_entry_costs_only_a_parse(tmp_path, cache, monkeypatch):
    path = tmp_path / "bank.sf2"
    path.write_bytes(broken_sf2_bytes())
    want = _signatures(parse_bank(str(path)).bank)
    (entry,) = cache.glob("*.bank.pickle")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated, as by a full disk
    parses = _parses(monkeypatch)
    assert _signatures(parse_bank(str(path)).bank) == want
    assert len(parses) == 1
    assert _signatures(parse_bank(str(path)).bank) == want  # rewritten whole: no parse now
    assert len(parses) == 1


def test_an_unwritable_cache_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # the cache folder cannot be made under a file
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(bank_cache, "MIN_PARSE_S", 0.0)
    path = tmp_path / "bank.sf2"
    path.write_bytes(broken_sf2_bytes())
    assert _signatures(parse_bank(str(path)).bank) == _signatures(load_bank(path))


def test_a_bad_bank_is_not_cached(tmp_path, cache):
    from dmusd.errors import BankError

    path = tmp_path / "bad.sf2"
    path.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    with pytest.raises(BankError):
        parse_bank(str(path))
    assert not cache.exists() or not list(cache.iterdir())


def test_entries_are_bounded(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(bank_cache, "KEEP", 2)
    for i in range(4):
        path = tmp_path / f"bank{i}.sf2"
        path.write_bytes(simple_sf2())
        parse_bank(str(path))
    assert len(list(cache.glob("*.bank.pickle"))) == 2
    assert not list(cache.glob(".*partial*"))


def test_a_gm_bank_renders_the_same_from_the_cache(tmp_path):
    """Through the CLI, twice in fresh processes: the second start loads TimGM6mb from the
    cache and renders the same file."""
    song = tmp_path / "song.mid"
    import mido

    midi = mido.MidiFile()
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track += [mido.Message("program_change", program=19), mido.Message("note_on", note=60),
              mido.Message("note_off", note=60, time=480)]  # fmt: skip
    midi.save(song)
    bank = tmp_path / "TimGM6mb.sf2"
    shutil.copy(timgm6mb(), bank)  # a path no other test has cached
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env["NUMBA_CACHE_DIR"] = os.environ.get("NUMBA_CACHE_DIR", "")
    outputs = []
    for name in ("first.wav", "second.wav"):
        out = tmp_path / name
        done = subprocess.run(
            [sys.executable, "-m", "dmusd.cli", "render", str(song), "-o", str(out), "--bank",
             str(bank)],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert len(list((tmp_path / "cache" / "dmusd" / "banks").glob("*.bank.pickle"))) == 1
    assert outputs[0] == outputs[1]


def test_threads_loading_one_bank_at_once_leave_one_good_entry(tmp_path, cache, monkeypatch):
    """Control threads of one daemon may load the same new bank together: a thread that finds
    another writing the entry gives way, and the entry they leave loads without a parse."""
    import threading

    path = tmp_path / "bank.sf2"
    path.write_bytes(broken_sf2_bytes())
    want = _signatures(load_bank(path))
    results, start = [], threading.Barrier(4)

    def load() -> None:
        start.wait()
        results.append(_signatures(parse_bank(str(path)).bank))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [want] * 4
    assert len(list(cache.glob("*.bank.pickle"))) == 1 and not list(cache.glob(".*partial*"))
    parses = _parses(monkeypatch)
    assert _signatures(parse_bank(str(path)).bank) == want and parses == []


def test_a_read_only_cache_still_serves_its_entries(tmp_path, cache, monkeypatch):
    """Its entries' times cannot be touched there (root ignores modes, so os.utime is made to
    fail as it does for a user on a read-only folder): the entry still loads, without a parse."""
    path = tmp_path / "bank.sf2"
    path.write_bytes(broken_sf2_bytes())
    want = _signatures(parse_bank(str(path)).bank)

    def refused(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(bank_cache.os, "utime", refused)
    parses = _parses(monkeypatch)
    assert _signatures(parse_bank(str(path)).bank) == want and parses == []
