"""The RIFF reader: every size is checked, every error names file, chunk path and offset."""

from __future__ import annotations

import struct

import pytest

from dmusd.banks.dls_reader import parse_dls_bytes
from dmusd.banks.dls_writer import dls_bytes
from dmusd.banks.riff import MAX_DEPTH, RiffReader, chunk_bytes, list_bytes, riff_bytes
from dmusd.errors import BankError
from tests.banks.builders import sample_bank


def reader(data: bytes) -> RiffReader:
    return RiffReader.from_bytes(data, "test.riff")


def test_nested_lists_and_odd_padding_are_walked():
    data = riff_bytes(
        "TEST",
        [
            chunk_bytes("odd1", b"abc"),  # 3 bytes + pad
            list_bytes(
                "outr", [list_bytes("innr", [chunk_bytes("zero", b"")]), chunk_bytes("two ", b"xy")]
            ),
        ],
    )
    r = reader(data)
    root = r.root("TEST")
    top = r.children(root)
    assert [c.name for c in top] == ["odd1", "outr"]
    assert r.read(top[0]) == b"abc"
    assert top[1].offset == 12 + 8 + 4  # the pad byte was skipped
    inner = r.children(top[1])
    assert [c.path for c in inner] == ["outr/innr", "outr/two"]
    assert [c.path for c in r.children(inner[0])] == ["outr/innr/zero"]
    assert r.read(r.children(inner[0])[0]) == b""


def test_missing_pad_byte_at_the_end_of_a_parent_is_tolerated():
    body = b"TEST" + struct.pack("<4sI", b"odd1", 3) + b"abc"  # no pad, list ends
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    r = reader(data)
    (chunk,) = r.children(r.root("TEST"))
    assert r.read(chunk) == b"abc"


def test_chunk_past_its_parent_names_path_and_offset():
    inner = struct.pack("<4sI", b"wsmp", 500) + bytes(20)
    data = riff_bytes("TEST", [list_bytes("lrgn", [inner])])
    r = reader(data)
    (lrgn,) = r.children(r.root("TEST"))
    with pytest.raises(BankError) as err:
        r.children(lrgn)
    assert err.value.chunk == "lrgn/wsmp"
    assert err.value.offset == 24
    assert err.value.file == "test.riff"
    assert "500 bytes" in str(err.value) and "test.riff: lrgn/wsmp: offset 24" in str(err.value)


def test_truncated_file_is_reported_at_the_riff_header():
    data = dls_bytes(sample_bank())
    with pytest.raises(BankError) as err:
        parse_dls_bytes(data[: len(data) // 2], "half.dls")
    assert "truncated" in err.value.message and err.value.offset == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a RIFF file"),
        (b"RIFX" + bytes(8), "not a RIFF file"),
        (b"RIFF" + struct.pack("<I", 4) + b"WAVE", "RIFF form is 'WAVE'"),
        (b"RIFF" + struct.pack("<I", 2) + b"TEST", "too small"),
        (riff_bytes("TEST", [b"LIST" + struct.pack("<I", 2) + b"ab"]), "too small for its type"),
        (riff_bytes("TEST", [b"\x00\x01\x02\x03" + struct.pack("<I", 0)]), "invalid chunk id"),
        (riff_bytes("TEST", [b"ab\x07"]), "stray bytes"),
    ],
)
def test_malformed_structure_raises_bank_error(data, message):
    r = reader(data)
    with pytest.raises(BankError, match=message):
        r.children(r.root("TEST"))


def test_zero_padding_after_the_last_chunk_is_accepted():
    data = riff_bytes("TEST", [chunk_bytes("abcd", b"12"), bytes(3)])
    r = reader(data)
    assert [c.name for c in r.children(r.root("TEST"))] == ["abcd"]


def test_nesting_deeper_than_any_bank_is_refused():
    node = chunk_bytes("leaf", b"x")
    for _ in range(MAX_DEPTH + 2):
        node = list_bytes("deep", [node])
    r = reader(riff_bytes("TEST", [node]))
    chunk = r.root("TEST")
    with pytest.raises(BankError, match="nested deeper"):
        while True:
            chunk = r.children(chunk)[0]


def test_short_payload_is_refused_with_its_needed_size():
    r = reader(riff_bytes("TEST", [chunk_bytes("colh", b"\x01")]))
    (chunk,) = r.children(r.root("TEST"))
    with pytest.raises(BankError, match="needs at least 4"):
        r.read(chunk, 4)


def test_paths_index_repeating_lists_like_the_dls_tree():
    data = dls_bytes(sample_bank())
    r = reader(data)
    top = {c.name: c for c in r.children(r.root("DLS "))}
    instruments = r.children(top["lins"])
    assert [c.path for c in instruments] == ["lins/ins[0]", "lins/ins[1]", "lins/ins[2]"]
    lrgn = next(c for c in r.children(instruments[1]) if c.name == "lrgn")
    regions = r.children(lrgn)
    assert regions[2].path == "lins/ins[1]/lrgn/rgn2[2]"
    assert [c.path for c in r.children(regions[2])][0] == "lins/ins[1]/lrgn/rgn2[2]/rgnh"


def test_open_reports_a_missing_file(tmp_path):
    with pytest.raises(BankError, match="cannot open") as err:
        RiffReader.open(tmp_path / "nope.dls")
    assert err.value.file.endswith("nope.dls")
