"""A bank's cost follows what it holds, not how many chunk headers it has.

An empty RIFF chunk is 8 bytes of file; a Python object per chunk is 20 times that. The crafted
files here are legal RIFF with millions of empty chunks in a list (the attack found 4 million
in an INFO list: 38 MB, accepted after 30 s and a gigabyte). Each is loaded in a fresh process
so its peak RSS is its own; the load must be refused with the list's location, within a small
constant of the file's size in memory. How fast it is belongs to a bench, so the only clock
here is a generous subprocess timeout that stops a hang.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

from dmusd.banks.dls_writer import dls_bytes
from dmusd.banks.loader import parse_bank_bytes
from dmusd.banks.riff import MAX_CHILDREN, SMALL_LIST
from dmusd.errors import BankError
from tests.banks.builders import sample_bank, simple_sf2

# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (pytest's) peak.
MEASURE = """
import json, sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
from dmusd.banks.loader import load_bank
from dmusd.errors import BankError
base = hwm()
began = time.process_time()
try:
    load_bank(sys.argv[1])
    outcome = "loaded"
except BankError as error:
    outcome = str(error)
print(json.dumps({"outcome": outcome, "cpu": time.process_time() - began, "base": base,
                  "peak": hwm()}))
"""


def empty_chunks(count: int) -> bytes:
    return b"ICMT\0\0\0\0" * count


def grow_list(data: bytes, at: int, extra: bytes) -> bytes:
    """`data` with `extra` appended to the LIST whose header starts at `at` (sizes fixed)."""
    (size,) = struct.unpack_from("<I", data, at + 4)
    end = at + 8 + size
    out = bytearray(data[:end] + extra + data[end:])
    struct.pack_into("<I", out, at + 4, size + len(extra))
    struct.pack_into("<I", out, 4, len(out) - 8)
    return bytes(out)


def sf2_with_empty_info(count: int) -> bytes:
    data = simple_sf2()
    return grow_list(data, data.find(b"INFO") - 8, empty_chunks(count))


def dls_with_empty_info(count: int) -> bytes:
    data = dls_bytes(sample_bank(16, stereo=False))
    info = b"LIST" + struct.pack("<I", 4 + 8 * count) + b"INFO" + empty_chunks(count)
    out = data + info
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


def measure(path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, timeout=300, check=True
    )
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "build"), [("sf2", sf2_with_empty_info), ("dls", dls_with_empty_info)]
)
def test_millions_of_empty_info_chunks_are_refused_in_bounded_memory(tmp_path, kind, build):
    path = tmp_path / f"flood.{kind}"
    path.write_bytes(build(4_000_000))
    size = path.stat().st_size
    figures = measure(path)
    assert "'INFO' holds more than" in figures["outcome"], figures
    assert f"{path}: " in figures["outcome"] and "offset " in figures["outcome"]
    assert figures["peak"] - figures["base"] < 3 * size + (150 << 20), figures


def test_the_bound_names_the_list_and_the_first_chunk_past_it():
    data = sf2_with_empty_info(SMALL_LIST + 5)
    info = data.find(b"INFO") - 8
    with pytest.raises(BankError, match="'INFO' holds more than 4096 chunks of under 32") as error:
        parse_bank_bytes(data, "flood.sf2")
    assert error.value.chunk == "INFO"
    # the INFO list's own chunks (ifil, isng, INAM, ...) come first, then the empty ones
    assert info < error.value.offset < info + 12 + 8 * (SMALL_LIST + 64)


def test_big_chunks_may_be_many_but_not_too_many():
    """Chunks of 40 bytes pass the average rule; past MAX_CHILDREN the count rule stops them."""
    data = simple_sf2()
    at = data.find(b"INFO") - 8
    filler = b"ICMT" + struct.pack("<I", 32) + bytes(32)
    assert parse_bank_bytes(grow_list(data, at, filler * (SMALL_LIST * 2)), "big.sf2").instruments
    with pytest.raises(BankError, match=f"holds more than {MAX_CHILDREN} chunks: no bank"):
        parse_bank_bytes(grow_list(data, at, filler * (MAX_CHILDREN + 1)), "huge.sf2")


def test_a_list_just_under_the_bound_still_loads():
    bank = parse_bank_bytes(dls_with_empty_info(1000), "many.dls")
    assert bank.instruments
