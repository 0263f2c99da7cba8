"""DMUS_DOWNLOADINFO buffers: the round trip, and the synth side's validation."""

from __future__ import annotations

import struct

import pytest

from dmusd.banks.connection import connection
from dmusd.banks.dls_reader import parse_dls_bytes
from dmusd.banks.dls_writer import dls_bytes
from dmusd.banks.download import (
    DMUS_DOWNLOADINFO_INSTRUMENT,
    DMUS_DOWNLOADINFO_INSTRUMENT2,
    DMUS_DOWNLOADINFO_WAVE,
    InstrumentDownload,
    WaveDownload,
    articparams_connections,
    bank_download_count,
    build_bank_downloads,
    build_instrument_download,
    build_wave_download,
    parse_download,
)
from dmusd.banks.loader import load_bank
from dmusd.errors import BankError
from tests.banks.builders import instrument_signature, sample_bank, timgm6mb


def _through_buffers(instruments):
    """file -> buffers -> model, as a pin would see it."""
    waves = {}
    out = []
    for buffer in build_bank_downloads(instruments):
        parsed = parse_download(buffer, waves)
        if isinstance(parsed, WaveDownload):
            waves[parsed.dl_id] = parsed.wave
        else:
            out.append(parsed.instrument)
    return out, waves


@pytest.mark.parametrize("bits", [8, 16, 24])
def test_file_to_buffers_to_model_equals_file_to_model(bits):
    bank = parse_dls_bytes(dls_bytes(sample_bank(bits)))
    instruments = list(bank.instruments.values())
    got, waves = _through_buffers(instruments)
    assert [instrument_signature(i) for i in got] == [instrument_signature(i) for i in instruments]
    distinct = {id(r.wave) for i in instruments for r in i.regions}
    assert len(waves) == len(distinct)


def test_timgm6mb_round_trips_through_downloads():
    bank = load_bank(timgm6mb())
    instruments = list(bank.instruments.values())[:40] + [bank.instruments[0x8000_0000]]
    got, _ = _through_buffers(instruments)
    for a, b in zip(got, instruments, strict=True):
        assert instrument_signature(a) == instrument_signature(b)


def test_waves_come_first_and_regions_name_wave_download_ids():
    bank = sample_bank()
    buffers = list(build_bank_downloads(list(bank.instruments.values()), first_dl_id=100))
    assert len(buffers) == bank_download_count(list(bank.instruments.values()))
    types = [struct.unpack_from("<I", b)[0] for b in buffers]
    n_waves = types.count(DMUS_DOWNLOADINFO_WAVE)
    assert types == [DMUS_DOWNLOADINFO_WAVE] * n_waves + [DMUS_DOWNLOADINFO_INSTRUMENT2] * 3
    ids = [struct.unpack_from("<I", b, 4)[0] for b in buffers]
    assert ids == list(range(100, 100 + len(buffers)))
    waves = {}
    for b in buffers[:n_waves]:
        parsed = parse_download(b)
        waves[parsed.dl_id] = parsed.wave
    parsed = parse_download(buffers[n_waves], waves)
    assert isinstance(parsed, InstrumentDownload)
    assert set(parsed.wave_ids) <= set(range(100, 100 + n_waves))
    # the layout: header, table, primary object right after the table, 8-byte aligned objects
    count, size = struct.unpack_from("<II", buffers[n_waves], 8)
    table = struct.unpack_from(f"<{count}I", buffers[n_waves], 16)
    assert table[0] == 16 + 4 * count and size == len(buffers[n_waves])
    assert all(offset % 8 == 0 for offset in table[1:])


def test_gm_flag_travels_in_ulflags():
    bank = sample_bank()
    inst = bank.instruments[0x8000_0000]
    wave_ids = {id(r.wave): 1 for r in inst.regions}
    buffer = build_instrument_download(inst, 2, wave_ids, gm=True)
    parsed = parse_download(buffer, {1: inst.regions[0].wave})
    assert parsed.gm and parsed.instrument.gm


def _instrument_buffer(inst=None):
    inst = inst or sample_bank(stereo=False).instruments[0x0001_0250]
    waves = {}
    ids = {}
    for region in inst.regions:
        if id(region.wave) not in ids:
            ids[id(region.wave)] = len(ids) + 1
            waves[ids[id(region.wave)]] = region.wave
    return bytearray(build_instrument_download(inst, 50, ids)), waves


def _table(buffer):
    count = struct.unpack_from("<I", buffer, 8)[0]
    return list(struct.unpack_from(f"<{count}I", buffer, 16))


def _region_offsets(buffer):
    """Table offsets of the DMUS_REGION objects (72+ bytes, key range first)."""
    table = _table(buffer)
    first = struct.unpack_from("<I", buffer, table[0] + 4)[0]
    out, index = [], first
    while index:
        out.append(table[index])
        index = struct.unpack_from("<I", buffer, table[index] + 16)[0]
    return out


def test_region_list_cycles_are_refused():
    buffer, waves = _instrument_buffer()
    regions = _region_offsets(buffer)
    first = struct.unpack_from("<I", buffer, _table(buffer)[0] + 4)[0]
    struct.pack_into("<I", buffer, regions[-1] + 16, first)  # last region -> first
    with pytest.raises(BankError, match="loops back") as err:
        parse_download(bytes(buffer), waves)
    assert err.value.file == "DMUS_DOWNLOADINFO"


def test_articulation_list_cycles_are_refused():
    buffer, waves = _instrument_buffer()
    table = _table(buffer)
    global_art = struct.unpack_from("<I", buffer, table[0] + 8)[0]
    assert global_art
    struct.pack_into("<I", buffer, table[global_art] + 8, global_art)  # ulNextArtIdx -> itself
    with pytest.raises(BankError, match="loops back"):
        parse_download(bytes(buffer), waves)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: struct.pack_into("<I", b, 12, len(b) + 1), "larger than"),
        (lambda b: struct.pack_into("<I", b, 8, 10**6), "do not fit"),
        (lambda b: struct.pack_into("<I", b, 20, len(b) + 8), "outside the objects"),
        (lambda b: struct.pack_into("<I", b, _table(b)[0] + 4, 999), "outside the"),
        (lambda b: struct.pack_into("<I", b, 0, 9), "not supported"),
        (lambda b: struct.pack_into("<HH", b, _region_offsets(b)[0], 90, 12), "key range"),
        (lambda b: struct.pack_into("<I", b, _region_offsets(b)[0] + 52, 1000), "1000 loops"),
        (
            lambda b: struct.pack_into("<II", b, _region_offsets(b)[1] + 64, 3990, 20),
            "outside the wave",
        ),
    ],
)
def test_malformed_instrument_buffers_are_refused(mutate, message):
    buffer, waves = _instrument_buffer()
    mutate(buffer)
    with pytest.raises(BankError, match=message):
        parse_download(bytes(buffer), waves)


def test_a_region_naming_no_wave_on_the_pin_is_skipped_with_a_warning():
    buffer, waves = _instrument_buffer()
    first = _region_offsets(buffer)[0]
    struct.pack_into("<I", buffer, first + 32, 77)  # its wave link's dwDLId
    parsed = parse_download(bytes(buffer), waves)
    assert len(parsed.instrument.regions) == 2  # of 3
    (warning,) = parsed.warnings
    assert warning == (
        f"DMUS_DOWNLOADINFO: DMUS_REGION[0]/WaveLink: offset {first + 24}: wave link names "
        "download id 77, not a wave on this pin; region skipped"
    )
    for offset in _region_offsets(buffer)[1:]:
        struct.pack_into("<I", buffer, offset + 32, 77)
    with pytest.raises(BankError, match="none of its 3 regions names a wave on this pin"):
        parse_download(bytes(buffer), waves)


def test_a_connection_to_an_unknown_destination_is_skipped_with_a_warning():
    bank = sample_bank(stereo=False)
    inst = bank.instruments[0x0001_0250]
    inst.articulation = (*inst.articulation, connection(0x0777, 65536))
    buffer, waves = _instrument_buffer(inst)
    parsed = parse_download(bytes(buffer), waves)
    assert parsed.instrument.articulation == inst.articulation[:-1]
    (warning,) = parsed.warnings
    assert "DMUS_INSTRUMENT/articulation/CONNECTIONLIST: offset " in warning
    assert warning.endswith("connection 2 has unknown destination 0x0777; skipped")


@pytest.mark.parametrize(
    ("field", "fmt", "value", "message"),
    [
        (12, "<H", 2, "format tag"),  # WAVEFORMATEX after the 12-byte DMUS_WAVE head
        (14, "<H", 2, "mono"),
        (16, "<I", 5, "sample rate"),
        (26, "<H", 12, "not supported"),  # wBitsPerSample
    ],
)
def test_malformed_wave_buffers_are_refused(field, fmt, value, message):
    wave = sample_bank().waves[0]
    buffer = bytearray(build_wave_download(wave, 1))
    assert isinstance(parse_download(bytes(buffer)), WaveDownload)
    struct.pack_into(fmt, buffer, _table(buffer)[0] + field, value)
    with pytest.raises(BankError, match=message):
        parse_download(bytes(buffer))


def test_wave_data_size_past_cbsize_is_refused():
    wave = sample_bank().waves[0]
    buffer = bytearray(build_wave_download(wave, 1))
    data_at = _table(buffer)[1]
    struct.pack_into("<I", buffer, data_at, 10**9)
    with pytest.raises(BankError, match="runs past cbSize"):
        parse_download(bytes(buffer))


def test_dx6_instrument_with_articparams_becomes_dls1_connections():
    bank = sample_bank(stereo=False)
    inst = bank.instruments[0x8000_0000]
    wave = inst.regions[0].wave
    params = tuple(range(1, 21))
    # DMUS_INSTRUMENT, one DMUS_REGION with a DMUS_ARTICULATION -> DMUS_ARTICPARAMS
    region = struct.pack("<6H3I", 30, 40, 0, 127, 0, 0, 2, 0, 0)
    region += struct.pack("<HHII", 0, 0, 1, 7) + struct.pack("<IHhiII", 20, 60, 0, 0, 0, 0)
    region += bytes(16)
    objects = [
        struct.pack("<6I", 0x30, 1, 0, 0, 0, 0),
        region,
        struct.pack("<II", 3, 0),
        struct.pack("<20i", *params),
    ]
    offsets, pos = [], 16 + 4 * len(objects)
    for obj in objects:
        offsets.append(pos)
        pos += len(obj)
    buffer = struct.pack("<IIII", DMUS_DOWNLOADINFO_INSTRUMENT, 9, len(objects), pos)
    buffer += struct.pack(f"<{len(objects)}I", *offsets) + b"".join(objects)
    parsed = parse_download(buffer, {7: wave})
    (got,) = parsed.instrument.regions
    assert (got.key_low, got.key_high) == (30, 40)
    assert got.articulation == articparams_connections(params)
    assert {b.scale for b in got.articulation} == set(params)
