"""Hostile input: mutated DLS, SF2/SF3, Standard MIDI files and download buffers.

The only acceptable outcomes are success or our typed BankError: never another exception,
never a hang (a watchdog alarm fails the test), and never an allocation sized by a field
nobody checked (tracemalloc's peak stays within a small multiple of the input). Each target
runs a fixed number of seeded mutations, so a failure replays exactly. bench/fuzz/mutations.py
runs the same mutations longer, each file in a worker process with its own timeout and peak RSS;
bench/fuzz/'s atheris targets search the same parsers guided by coverage.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmusd.banks.dls_writer import dls_bytes
from dmusd.banks.download import (
    InstrumentDownload,
    WaveDownload,
    build_bank_downloads,
    parse_download,
)
from dmusd.banks.loader import parse_bank_bytes
from dmusd.banks.model import Bank
from dmusd.errors import BankError, MidiFileError
from dmusd.midifile import parse_midi_bytes
from tests.banks.builders import REPO, SPEC_TEST_SF2, sample_bank, simple_sf2, timgm6mb
from tests.support import SHARED_DATA

HANG_SECONDS = 30
MIDI = SHARED_DATA / "test-midi-files" / "midi"
FOURCCS = [
    b"RIFF", b"LIST", b"colh", b"ptbl", b"insh", b"rgnh", b"wsmp", b"wlnk", b"art1", b"art2",
    b"fmt ", b"data", b"cdl ", b"phdr", b"pbag", b"pmod", b"pgen", b"inst", b"ibag", b"imod",
    b"igen", b"shdr", b"smpl", b"sm24", b"ifil",
]  # fmt: skip
HUGE = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000000, 1 << 24, 0, 1, 3, 7]


@contextlib.contextmanager
def watchdog(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def hang(*_: object) -> None:
        raise AssertionError(f"parsing hung for {seconds} s")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _fields(data: bytes) -> list[int]:
    """Offsets of chunk size fields and of the record fields right after chunk headers."""
    out = []
    for tag in FOURCCS:
        start = 0
        while (at := data.find(tag, start)) >= 0:
            out += [at + 4, at + 8, at + 12, at + 16]
            start = at + 1
    return [o for o in out if o + 4 <= len(data)]


def _grow_lists(buf: bytearray, at: int, extra: bytes) -> None:
    """Insert `extra` at `at`, growing every RIFF/LIST whose span holds `at` to keep it legal."""
    for tag in (b"RIFF", b"LIST"):
        start = 0
        while (p := buf.find(tag, start, at)) >= 0:
            start = p + 1
            if p + 8 > len(buf):
                break
            (size,) = struct.unpack_from("<I", buf, p + 4)
            if p + 12 <= at <= p + 8 + size and size + len(extra) < 1 << 32:
                struct.pack_into("<I", buf, p + 4, size + len(extra))
    buf[at:at] = extra


def mutate_structure(data: bytes, rng: random.Random) -> bytes:
    """Legal RIFF that costs: a flood of empty chunks, or lists nested deeper than any bank."""
    buf = bytearray(data)
    lists, start = [], 0
    while len(lists) < 4096 and (p := buf.find(b"LIST", start)) >= 0:
        lists.append(p)
        start = p + 1
    lists = lists or [0]
    at = rng.choice(lists) + 12
    if rng.randrange(2):
        tag = rng.choice(FOURCCS + [b"ICMT", b"zzzz"])
        _grow_lists(buf, at, (tag + b"\0\0\0\0") * rng.choice([1, 100, 10_000, 10_000, 140_000]))
    else:
        depth = rng.choice([8, 13, 40])
        nest = b""
        for _ in range(depth):
            nest = b"LIST" + struct.pack("<I", 4 + len(nest)) + b"lart" + nest
        _grow_lists(buf, at, nest)
    return bytes(buf)


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    kind = rng.randrange(7)
    if kind == 6:
        return mutate_structure(data, rng)
    if kind == 0:  # truncation
        return bytes(buf[: rng.randrange(len(buf))])
    if kind == 1:  # bit flips
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(buf))
            buf[at] ^= 1 << rng.randrange(8)
    elif kind == 2:  # a size/count/offset field set to something extreme
        fields = _fields(data) or list(range(0, len(data) - 3, 4))  # buffers: any ULONG
        for _ in range(rng.randint(1, 3)):
            at = rng.choice(fields)
            struct.pack_into("<I", buf, at, rng.choice(HUGE + [rng.randrange(1 << 32)]))
    elif kind == 3:  # random bytes over a random span
        at = rng.randrange(len(buf))
        n = min(len(buf) - at, rng.randint(1, 64))
        buf[at : at + n] = bytes(rng.randrange(256) for _ in range(n))
    elif kind == 4:  # a 16-bit field (ranges, indices, generators) set to an edge value
        at = rng.randrange(len(buf) - 2)
        struct.pack_into("<H", buf, at, rng.choice([0, 1, 127, 128, 255, 0x7FFF, 0x8000, 0xFFFF]))
    else:  # a slice duplicated somewhere else (shifts every later offset)
        a = rng.randrange(len(buf))
        b = min(len(buf), a + rng.randint(1, 256))
        at = rng.randrange(len(buf))
        buf[at:at] = buf[a:b]
    return bytes(buf)


def check_invariants(result: object) -> None:
    """What success promises the engine: ranges in MIDI range, loops inside their waves."""
    if isinstance(result, Bank):
        instruments = list(result.instruments.values())
    elif isinstance(result, InstrumentDownload):
        instruments = [result.instrument]
    else:
        return
    for inst in instruments:
        for region in inst.regions:
            assert 0 <= region.key_low <= region.key_high <= 127
            assert 0 <= region.vel_low <= region.vel_high <= 127
            assert region.wave.frames > 0
            for loop in region.sample.loops:
                assert loop.start >= 0 and loop.length > 0 and loop.end <= region.wave.frames


def run_hostile(
    parse: Callable[[bytes], object], data: bytes, rounds: int, seed: int, memory: bool = True
) -> int:
    """Parse `rounds` mutations of `data`; returns how many were refused with BankError."""
    rng = random.Random(seed)
    refused = 0
    with watchdog():
        for _ in range(rounds):
            sample = mutate(data, rng)
            if memory:
                tracemalloc.start()
            try:
                result = parse(sample)
                check_invariants(result)
            except BankError as error:
                refused += 1
                assert error.message and (error.offset is None or error.offset >= 0)
            finally:
                if memory:
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
            if memory:
                assert peak < 24 * len(sample) + (4 << 20), f"{peak} bytes for {len(sample)}"
    return refused


def test_mutated_dls_files():
    data = dls_bytes(sample_bank(8))
    refused = run_hostile(lambda b: parse_bank_bytes(b, "fuzz.dls"), data, 300, seed=1)
    assert 0 < refused < 300  # both outcomes happen: the mutations are not all fatal


def test_mutated_level1_dls_files():
    data = dls_bytes(sample_bank(16, stereo=False), level=1)
    assert run_hostile(lambda b: parse_bank_bytes(b, "fuzz1.dls"), data, 200, seed=2) > 0


def test_mutated_small_soundfonts():
    data = simple_sf2()
    assert run_hostile(lambda b: parse_bank_bytes(b, "fuzz.sf2"), data, 300, seed=3) > 0


def test_mutated_sf3():
    data = simple_sf2(vorbis=True)
    # libsndfile's allocations are outside tracemalloc's view; the frame cap guards them
    assert (
        run_hostile(lambda b: parse_bank_bytes(b, "fuzz.sf3"), data, 120, seed=4, memory=False) > 0
    )


def test_mutated_spec_test_soundfont():
    data = SPEC_TEST_SF2.read_bytes()
    assert (
        run_hostile(lambda b: parse_bank_bytes(b, "spec.sf2"), data, 40, seed=5, memory=False) > 0
    )


def test_loops_anywhere_in_wsmp_chunks():
    data = dls_bytes(sample_bank(16))
    targets = []
    start = 0
    while (at := data.find(b"wsmp", start)) >= 0:
        targets.append(at + 8 + 20)  # the first WLOOP
        start = at + 1
    rng = random.Random(11)
    with watchdog():
        for _ in range(200):
            buf = bytearray(data)
            at = rng.choice(targets)
            values = [rng.choice(HUGE + [rng.randrange(5000)]) for _ in range(2)]
            struct.pack_into("<II", buf, at + 8, *values)
            with contextlib.suppress(BankError):
                check_invariants(parse_bank_bytes(bytes(buf), "loops.dls"))


def test_mutated_timgm6mb_hydra():
    data = timgm6mb().read_bytes()
    pdta = data.find(b"pdta")
    rng = random.Random(12)
    with watchdog():
        for _ in range(8):
            buf = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                struct.pack_into("<H", buf, rng.randrange(pdta, len(buf) - 2), rng.randrange(65536))
            with contextlib.suppress(BankError):
                check_invariants(parse_bank_bytes(bytes(buf), "tim.sf2"))


def _downloads():
    bank = sample_bank(16)
    buffers = list(build_bank_downloads(list(bank.instruments.values())))
    waves = {}
    instruments = []
    for buffer in buffers:
        parsed = parse_download(buffer, waves)
        if isinstance(parsed, WaveDownload):
            waves[parsed.dl_id] = parsed.wave
        else:
            instruments.append(buffer)
    return [b for b in buffers if b not in instruments], instruments, waves


def test_mutated_download_buffers():
    wave_buffers, instrument_buffers, waves = _downloads()
    for n, buffer in enumerate(instrument_buffers):
        run_hostile(lambda b: parse_download(b, waves), buffer, 150, seed=10 + n)
    for n, buffer in enumerate(wave_buffers[:2]):
        run_hostile(parse_download, buffer, 100, seed=20 + n)


def test_download_index_fields_pointing_anywhere_are_refused_or_harmless():
    """Every ULONG of an instrument buffer set to every index of its table, in turn: this
    makes region, articulation and extension lists cyclic, self-referential and crossed."""
    _, instrument_buffers, waves = _downloads()
    buffer = instrument_buffers[0]
    count = struct.unpack_from("<I", buffer, 8)[0]
    start = 16 + 4 * count
    with watchdog():
        for at in range(start, len(buffer) - 3, 4):
            for index in range(count):
                mutated = bytearray(buffer)
                struct.pack_into("<I", mutated, at, index)
                with contextlib.suppress(BankError):
                    parse_download(bytes(mutated), waves)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.binary(min_size=0, max_size=64), st.integers(0, 4000))
def test_random_splices_into_a_dls_file(junk, at):
    data = dls_bytes(sample_bank(16, stereo=False))
    at = min(at, len(data))
    with watchdog(), contextlib.suppress(BankError):
        parse_bank_bytes(data[:at] + junk + data[at + len(junk) :], "splice.dls")


def test_structural_mutations_are_refused_or_loaded_in_bounded_memory():
    for n, data in enumerate((dls_bytes(sample_bank(16, stereo=False)), simple_sf2())):
        rng = random.Random(30 + n)
        with watchdog():
            for _ in range(12):
                sample = mutate_structure(data, rng)
                tracemalloc.start()
                try:
                    check_invariants(parse_bank_bytes(sample, "structure.bank"))
                except BankError as error:
                    assert error.offset is None or 0 <= error.offset < len(sample)
                finally:
                    _, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                assert peak < 24 * len(sample) + (4 << 20), f"{peak} bytes for {len(sample)}"


def test_mutated_midi_files():
    """The SMF reader: MidiFileError or a song, from mutations of every test file."""
    rng = random.Random(40)
    songs = sorted(MIDI.glob("*.mid"))
    refused = 0
    with watchdog():
        for n in range(400):
            data = songs[n % len(songs)].read_bytes() or b"MThd"
            try:
                parse_midi_bytes(mutate(data, rng), "fuzz.mid")
            except MidiFileError:
                refused += 1
    assert 0 < refused < 400


@pytest.mark.slow
def test_the_fuzz_bench_runs_and_finds_nothing():
    """bench/fuzz/mutations.py, short: every target, every outcome typed (the bench's own check)."""
    bench = REPO / "bench" / "fuzz" / "mutations.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--count", "25", "--seconds", "30"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["files"] >= 100 and figures["unexpected"] == 0 and figures["hangs"] == 0


@pytest.mark.parametrize("size", [0, 4, 11, 12, 13, 16])
def test_tiny_files(size):
    data = dls_bytes(sample_bank(16, stereo=False))[:size]
    with pytest.raises(BankError):
        parse_bank_bytes(data, "tiny.dls")
