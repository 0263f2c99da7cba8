"""DLS Level 1 and Level 2: our writer's files read back into the same model."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from dmusd.banks import conditional as cdl
from dmusd.banks import dls_writer as w
from dmusd.banks import units
from dmusd.banks.articulation import merge
from dmusd.banks.connection import (
    CONN_DST_CHORUS,
    CONN_DST_GAIN,
    CONN_DST_PITCH,
    CONN_SRC_KEYONVELOCITY,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_RPN0,
    CONN_TRN_CONCAVE,
    SRC_BIPOLAR,
    SRC_INVERT,
    connection,
)
from dmusd.banks.dls_reader import parse_dls_bytes
from dmusd.banks.loader import load_bank
from dmusd.banks.model import (
    WLOOP_TYPE_FORWARD,
    WLOOP_TYPE_RELEASE,
    Bank,
    Instrument,
    Loop,
    Region,
    Wave,
    WaveSample,
    make_patch,
)
from dmusd.banks.riff import RiffReader, chunk_bytes, list_bytes
from dmusd.errors import BankError
from tests.banks.builders import instrument_signature, quantized, sample_bank, tone


@pytest.mark.parametrize("bits", [8, 16, 24])
def test_level2_round_trip_keeps_every_field(bits):
    bank = sample_bank(bits)
    back = parse_dls_bytes(w.dls_bytes(bank), "rt.dls")
    assert back.format == "DLS" and back.level == 2
    assert back.info["INAM"] == "test bank" and back.info["ICOP"] == "public domain"
    assert back.warnings == []
    assert sorted(back.instruments) == sorted(bank.instruments)
    for patch, inst in bank.instruments.items():
        assert instrument_signature(back.instruments[patch]) == instrument_signature(inst)
        for got, region in zip(back.instruments[patch].regions, inst.regions, strict=True):
            # A region with its own list carries the instrument's too, so readers that play a
            # region's list alone (FluidSynth's) hear what merging readers (ours) hear.
            want = merge(inst.articulation, region.articulation) if region.articulation else []
            assert list(got.articulation) == want
    assert all(wave.bits == bits for wave in back.waves)


def test_stereo_pair_is_one_two_channel_pool_wave():
    data = w.dls_bytes(sample_bank())
    r = RiffReader.from_bytes(data)
    top = {c.name: c for c in r.children(r.root("DLS "))}
    waves = r.children(top["wvpl"])
    assert len(waves) == 3
    channels = []
    for wave in waves:
        fmt = next(c for c in r.children(wave) if c.name == "fmt")
        channels.append(struct.unpack_from("<H", r.read(fmt), 2)[0])
    assert channels == [1, 1, 2]
    pad = parse_dls_bytes(data).instruments[make_patch(89)]
    left, right = pad.regions
    assert left.wave.pool_index == right.wave.pool_index == 2
    assert (left.wave.channel, right.wave.channel) == (0, 1)
    assert (left.wave_link.placement, right.wave_link.placement) == (-1, 1)
    assert not np.array_equal(left.wave.samples, right.wave.samples)


def test_patch_numbers_decode_drum_bit_and_bank_bytes():
    data = w.dls_bytes(sample_bank())
    back = parse_dls_bytes(data)
    assert set(back.instruments) == {0x0001_0250, 0x8000_0000, 0x59}
    lead = back.instruments[0x0001_0250]
    assert (lead.bank_msb, lead.bank_lsb, lead.program, lead.is_drum) == (1, 2, 80, False)
    assert back.instruments[0x8000_0000].is_drum
    # and the file stores a DLS MIDILOCALE: MSB at bits 8-14, LSB at 0-6
    r = RiffReader.from_bytes(data)
    top = {c.name: c for c in r.children(r.root("DLS "))}
    insh = next(c for c in r.children(r.children(top["lins"])[0]) if c.name == "insh")
    assert struct.unpack("<III", r.read(insh))[1:] == (0x0102, 80)


def test_region_wsmp_overrides_the_waves():
    lead = parse_dls_bytes(w.dls_bytes(sample_bank())).instruments[0x0001_0250]
    plain, override, _ = lead.regions
    assert plain.wsmp is None and plain.sample == plain.wave.wsmp
    assert plain.sample.loop == Loop(WLOOP_TYPE_FORWARD, 1000, 2000)
    assert override.sample.unity_note == 64
    assert override.sample.loop == Loop(WLOOP_TYPE_RELEASE, 10, 300)
    assert override.sample.attenuation == units.gain_db(-6)


def test_level1_file_drops_what_dls1_cannot_say(tmp_path):
    bank = sample_bank(stereo=False)
    path = tmp_path / "l1.dls"
    notes = w.save_dls(bank, path, level=1)
    back = load_bank(path)
    assert back.level == 1
    assert any("layers" in n for n in notes)
    lead = back.instruments[0x0001_0250]
    assert [r.layer for r in lead.regions] == [0, 0, 0]
    # the release loop became a forward loop; DLS2-only connections are gone
    assert lead.regions[1].sample.loop.type == WLOOP_TYPE_FORWARD
    kit = back.instruments[0x8000_0000]
    assert all(r.key_group == 1 for r in kit.regions)
    # DLS1 connections kept (pan and the LFO x CC1 pitch vibrato), the instrument's merged in
    original = bank.instruments[0x0001_0250]
    assert lead.regions[1].articulation == tuple(
        merge(original.articulation, original.regions[1].articulation)
    )
    raw = RiffReader.from_bytes(path.read_bytes())
    top = {c.name: c for c in raw.children(raw.root("DLS "))}
    ins = raw.children(top["lins"])[0]
    lrgn = next(c for c in raw.children(ins) if c.name == "lrgn")
    assert {c.form for c in raw.children(lrgn)} == {"rgn "}


def test_level1_articulation_converts_to_the_dls2_form():
    # art1: velocity -> gain with the DLS1 concave curve is an inverted concave in DLS2;
    # the pitch wheel is implicitly bipolar.
    art1 = w.connections_chunk(
        [
            connection(
                CONN_DST_GAIN, units.gain_db(-96), CONN_SRC_KEYONVELOCITY, 0, CONN_TRN_CONCAVE
            ),
            connection(CONN_DST_PITCH, units.cents(12800), CONN_SRC_PITCHWHEEL, CONN_SRC_RPN0),
        ],
        "art1",
    )
    data = _one_region_file(extra_region_parts=[list_bytes("lart", [art1])])
    (region,) = parse_dls_bytes(data).instruments[0].regions
    vel, wheel = region.articulation
    assert vel.transform == SRC_INVERT | CONN_TRN_CONCAVE << 10
    assert wheel.transform == SRC_BIPOLAR
    assert (vel.scale, wheel.scale) == (units.gain_db(-96), units.cents(12800))


def _wave(frames: int = 500) -> Wave:
    return Wave(tone(frames, 5), 22050, WaveSample(60, 0, 0, 0, (Loop(0, 100, 200),)), "w")


def _one_region_file(
    extra_region_parts: list[bytes] | None = None,
    region_cdl: bytes | None = None,
    instrument_cdl: bytes | None = None,
    file_cdl: bytes | None = None,
    wsmp: bytes | None = None,
    wlnk_index: int = 0,
    wave_chunk: bytes | None = None,
) -> bytes:
    """A DLS file with one instrument and one region, assembled piece by piece."""
    region = Region(0, 127, 0, 127, _wave())
    body = w.region_chunk(region, wlnk_index, cdl=region_cdl)
    if extra_region_parts or wsmp:
        # splice extra chunks into the rgn2 list
        extra = b"".join(extra_region_parts or []) + (wsmp or b"")
        size = struct.unpack_from("<I", body, 4)[0] + len(extra)
        body = body[:4] + struct.pack("<I", size) + body[8:] + extra
    inst = Instrument(0, "one", [region])
    ins = w.instrument_chunk(inst, [body], cdl=instrument_cdl)
    wave = wave_chunk or w.wave_chunk([region.wave])
    return w.collection([ins], [wave], {"INAM": "one"}, cdl=file_cdl)


TRUE = cdl.assemble((cdl.DLS_CDL_QUERY, cdl.DLSID_SupportsDLS2))
FALSE = cdl.assemble((cdl.DLS_CDL_QUERY, cdl.DLSID_GMInHardware))


def test_conditional_chunks_keep_or_drop_their_list():
    assert len(parse_dls_bytes(_one_region_file(region_cdl=TRUE)).instruments[0].regions) == 1
    assert parse_dls_bytes(_one_region_file(region_cdl=FALSE)).instruments[0].regions == []
    assert parse_dls_bytes(_one_region_file(instrument_cdl=FALSE)).instruments == {}
    art = w.articulation_list([connection(CONN_DST_CHORUS, units.percent(50))], cdl=FALSE)
    (region,) = parse_dls_bytes(_one_region_file([art])).instruments[0].regions
    assert region.articulation == ()
    art = w.articulation_list([connection(CONN_DST_CHORUS, units.percent(50))], cdl=TRUE)
    (region,) = parse_dls_bytes(_one_region_file([art])).instruments[0].regions
    assert region.articulation == (connection(CONN_DST_CHORUS, units.percent(50)),)
    assert parse_dls_bytes(_one_region_file(region_cdl=TRUE)).level == 2


def test_a_false_collection_condition_is_an_error_and_a_bad_program_is_located():
    with pytest.raises(BankError, match="excludes this synthesizer"):
        parse_dls_bytes(_one_region_file(file_cdl=FALSE))
    bad = cdl.assemble(cdl.DLS_CDL_AND)  # nothing on the stack
    bank = parse_dls_bytes(_one_region_file(region_cdl=bad), "cdl.dls")  # a broken item: skipped
    assert bank.instruments == {}
    assert bank.warnings[0].startswith("cdl.dls: lins/ins[0]/lrgn/rgn2[0]/cdl: offset ")
    assert "bad conditional chunk" in bank.warnings[0] and "region 0 skipped" in bank.warnings[0]
    assert "has no region left to play; skipped" in bank.warnings[1]


def test_loops_past_the_wave_are_trimmed_with_a_warning():
    wsmp = w.wsmp_chunk(WaveSample(60, 0, 0, 0, (Loop(0, 400, 300), Loop(0, 900, 5))))
    bank = parse_dls_bytes(_one_region_file(wsmp=wsmp), "loops.dls")
    (region,) = bank.instruments[0].regions
    assert region.sample.loops == (Loop(0, 400, 100),)
    assert len(bank.warnings) == 2
    assert all("lins/ins[0]/lrgn/rgn2[0]/wsmp" in text for text in bank.warnings)


@pytest.mark.parametrize(
    ("kwargs", "path", "message"),
    [
        ({"wlnk_index": 7}, "lins/ins[0]/lrgn/rgn2[0]/wlnk", "pool table"),
        (
            {"wsmp": chunk_bytes("wsmp", struct.pack("<IHhiII", 20, 60, 0, 0, 0, 9))},
            "lins/ins[0]/lrgn/rgn2[0]/wsmp",
            "9 loops",
        ),
        (
            {
                "wave_chunk": list_bytes(
                    "wave",
                    [
                        chunk_bytes("fmt ", struct.pack("<HHIIHH", 2, 1, 22050, 0, 256, 4)),
                        chunk_bytes("data", bytes(64)),
                    ],
                )
            },
            "wvpl/wave[0]/fmt",
            "format tag 0x0002",
        ),
        (
            {"wave_chunk": list_bytes("wave", [chunk_bytes("data", bytes(64))])},
            "wvpl/wave[0]",
            "no 'fmt ' chunk",
        ),
    ],
)
def test_malformed_parts_are_skipped_with_their_chunk(kwargs, path, message):
    """A broken wave or region is an item: skipped with a warning naming the file, the chunk
    with the item's index and its offset; here the one instrument is then left with nothing
    to play and is skipped too."""
    bank = parse_dls_bytes(_one_region_file(**kwargs), "bad.dls")
    assert bank.instruments == {}
    first = bank.warnings[0]
    assert first.startswith(f"bad.dls: {path}: offset ") and message in first
    assert int(first.split("offset ")[1].split(":")[0]) > 0
    assert first.endswith("skipped") and "skipped" in bank.warnings[-1]


def test_region_without_wave_link_is_skipped():
    rgn = list_bytes("rgn2", [chunk_bytes("rgnh", struct.pack("<7H", 0, 127, 0, 127, 0, 0, 0))])
    good = w.region_chunk(Region(0, 127, 0, 127, _wave()), 0)
    inst = w.instrument_chunk(Instrument(0, "x", []), [rgn, good])
    data = w.collection([inst], [w.wave_chunk([_wave()])])
    bank = parse_dls_bytes(data, "x.dls")
    assert len(bank.instruments[0].regions) == 1
    assert bank.warnings[0].startswith("x.dls: lins/ins[0]/lrgn/rgn2[0]: offset ")
    assert "no 'wlnk'" in bank.warnings[0] and "region 0 skipped" in bank.warnings[0]


@pytest.mark.parametrize(("tag", "bits", "dtype"), [(3, 32, "<f4"), (1, 32, "<i4")])
def test_32_bit_waves_are_converted(tag, bits, dtype):
    values = np.array([0.0, 0.5, -0.5, 0.25], dtype=np.float64)
    raw = (values * (1 if tag == 3 else 2**31)).astype(dtype).tobytes()
    wave = list_bytes(
        "wave",
        [
            chunk_bytes("fmt ", struct.pack("<HHIIHH", tag, 1, 8000, 32000, 4, bits)),
            chunk_bytes("data", raw),
        ],
    )
    bank = parse_dls_bytes(_one_region_file(wave_chunk=wave))
    np.testing.assert_allclose(bank.waves[0].samples, values, atol=1e-7)
    assert bank.waves[0].samples.dtype == np.float32


def test_8_bit_samples_are_unsigned():
    wave = list_bytes(
        "wave",
        [
            chunk_bytes("fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)),
            chunk_bytes("data", bytes([128, 255, 0, 192])),
        ],
    )
    samples = parse_dls_bytes(_one_region_file(wave_chunk=wave)).waves[0].samples
    assert samples.tolist() == [0.0, 127 / 128, -1.0, 0.5]


def test_duplicate_patches_keep_the_first_and_warn():
    region = Region(0, 127, 0, 127, _wave())
    first = w.instrument_chunk(Instrument(5, "first", [region]), [w.region_chunk(region, 0)])
    second = w.instrument_chunk(Instrument(5, "second", [region]), [w.region_chunk(region, 0)])
    bank = parse_dls_bytes(w.collection([first, second], [w.wave_chunk([region.wave])]))
    assert bank.instruments[5].name == "first"
    assert any("duplicate patch" in text for text in bank.warnings)


def test_fixed_key_and_velocity_survive_in_the_private_chunk():
    wave = Wave(quantized(np.linspace(-1, 1, 64), 16), 8000)
    region = Region(0, 127, 0, 127, wave, fixed_key=61, fixed_velocity=99)
    inst = Instrument(3, "fixed", [region])
    back = parse_dls_bytes(
        w.collection(
            [w.instrument_chunk(inst, [w.region_chunk(region, 0)])], [w.wave_chunk([wave])]
        )
    )
    (got,) = back.instruments[3].regions
    assert (got.fixed_key, got.fixed_velocity) == (61, 99)


def test_sf2_shapes_survive_in_the_private_chunk_and_level_1_says_it_drops_them():
    wave = Wave(quantized(np.linspace(-1, 1, 64), 16), 8000)
    region = Region(0, 127, 0, 127, wave, sf2_shapes=True)
    bank = Bank("SF2", 2, {3: Instrument(3, "sf2", [region])}, [wave])
    (got,) = parse_dls_bytes(w.dls_bytes(bank)).instruments[3].regions
    assert got.sf2_shapes and got.fixed_key == -1 and got.fixed_velocity == -1
    writer = w.DlsWriter(bank, 1)
    (plain,) = parse_dls_bytes(writer.write()).instruments[3].regions
    assert not plain.sf2_shapes
    assert "SF2's triangle LFOs and convex EG2 attack become DLS's shapes" in writer.notes
