"""Small banks built in code for the bank tests: DLS models (written by our DLS writer) and
SoundFont files assembled record by record, so tests control every field."""

from __future__ import annotations

import io
import re
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dmusd.banks import units
from dmusd.banks.articulation import effective_connections
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_PAN,
    CONN_DST_PITCH,
    CONN_DST_REVERB,
    CONN_SRC_CC1,
    CONN_SRC_LFO,
    CONN_SRC_NONE,
    connection,
)
from dmusd.banks.model import (
    F_RGN_OPTION_SELFNONEXCLUSIVE,
    F_WAVELINK_MULTICHANNEL,
    F_WAVELINK_PHASE_MASTER,
    WAVELINK_CHANNEL_LEFT,
    WAVELINK_CHANNEL_RIGHT,
    WLOOP_TYPE_FORWARD,
    WLOOP_TYPE_RELEASE,
    Bank,
    Instrument,
    Loop,
    Region,
    Wave,
    WaveLink,
    WaveSample,
    make_patch,
)
from dmusd.banks.riff import chunk_bytes, info_list, list_bytes, riff_bytes

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / ".." / "shared" / "data"
SPEC_TEST_SF2 = SHARED_DATA / "soundfont-spec-test" / "sf_spec_test.sf2"
TIMGM6MB = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def timgm6mb() -> Path:
    """The TimGM6mb path; a clear failure (not a skip) when the CI package is missing."""
    assert TIMGM6MB.is_file(), (
        f"{TIMGM6MB} is missing: install Debian's timgm6mb-soundfont (bash .ci/setup does)"
    )
    return TIMGM6MB


def quantized(values: np.ndarray, bits: int) -> np.ndarray:
    """Float samples that survive a round trip at `bits` exactly."""
    scale = {8: 128.0, 16: 32768.0, 24: 8388608.0}[bits]
    top = scale - 1
    return (np.clip(np.rint(values * scale), -scale, top) / scale + 0.0).astype(np.float32)  # no -0


def tone(frames: int, cycles: float, bits: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / frames
    x = 0.6 * np.sin(2 * np.pi * cycles * t) + 0.05 * rng.standard_normal(frames)
    return quantized(x, bits)


def sample_bank(bits: int = 16, stereo: bool = True, frames: int = 4000) -> Bank:
    """Two melodic instruments and a drum kit with every region feature the model has:
    a wsmp override, forward and release loops, key groups, layers, a stereo pair, global and
    region articulation. `frames`: the longest wave's length (the others and the loops scale;
    bench/fuzz seeds use a few dozen)."""
    k = frames / 4000
    mono = Wave(
        tone(frames, 40 * k, bits),
        22050,
        WaveSample(
            60, -7, units.gain_db(-3), 0, (Loop(WLOOP_TYPE_FORWARD, frames // 4, frames // 2),)
        ),
        "mono tone",
        bits,
        0,
    )
    short = Wave(
        tone(frames * 9 // 40, 9 * k, bits, seed=1), 44100, WaveSample(72, 12), "short", bits, 1
    )
    waves = [mono, short]
    global_art = (
        connection(CONN_DST_EG1_ATTACKTIME, units.timecents(0.02)),
        connection(CONN_DST_EG1_RELEASETIME, units.timecents(0.5)),
    )
    lead = Instrument(
        make_patch(80, msb=1, lsb=2),
        "Lead",
        [
            Region(0, 59, 0, 127, mono),
            Region(
                60,
                127,
                0,
                100,
                mono,
                wsmp=WaveSample(
                    64,
                    3,
                    units.gain_db(-6),
                    0,
                    (Loop(WLOOP_TYPE_RELEASE, max(1, frames // 400), frames * 3 // 40),),
                ),
                layer=1,
                articulation=(
                    connection(CONN_DST_PITCH, units.cents(30), CONN_SRC_LFO, CONN_SRC_CC1),
                ),
            ),
            Region(60, 127, 101, 127, short, options=F_RGN_OPTION_SELFNONEXCLUSIVE, layer=2),
        ],
        global_art,
    )
    kit = Instrument(
        make_patch(0, drum=True),
        "Kit",
        [
            Region(
                k,
                k,
                0,
                127,
                short,
                key_group=1,
                articulation=(
                    connection(CONN_DST_PAN, units.percent(10 * (k - 43)), CONN_SRC_NONE),
                ),
            )
            for k in (42, 44, 46)
        ],
    )
    instruments = [lead, kit]
    if stereo:
        pad_frames = frames * 3 // 4
        left = Wave(tone(pad_frames, 30 * k, bits, 2), 32000, WaveSample(60), "pad", bits, 2, 0)
        right = Wave(tone(pad_frames, 31 * k, bits, 3), 32000, WaveSample(60), "pad", bits, 2, 1)
        waves += [left, right]
        pad = Instrument(
            make_patch(89),
            "Stereo Pad",
            [
                Region(
                    0,
                    127,
                    0,
                    127,
                    left,
                    wave_link=WaveLink(
                        F_WAVELINK_PHASE_MASTER | F_WAVELINK_MULTICHANNEL, 1, WAVELINK_CHANNEL_LEFT
                    ),
                ),
                Region(
                    0,
                    127,
                    0,
                    127,
                    right,
                    wave_link=WaveLink(F_WAVELINK_MULTICHANNEL, 1, WAVELINK_CHANNEL_RIGHT),
                    articulation=(connection(CONN_DST_REVERB, units.percent(40)),),
                ),
            ],
        )
        instruments.append(pad)
    return Bank(
        "DLS",
        2,
        {i.patch: i for i in instruments},
        waves,
        {"INAM": "test bank", "ICOP": "public domain"},
    )


def region_signature(region: Region, instrument: Instrument | None = None) -> tuple:
    """What a voice needs from a region, with the wave by content (not identity, not pool
    position), the wsmp that applies and, given its instrument, the connections that apply
    (the instrument's and the region's merged). Equal signatures play alike."""
    wave = region.wave
    articulation = (
        tuple(effective_connections(instrument, region)) if instrument else region.articulation
    )
    return (
        region.key_low,
        region.key_high,
        region.vel_low,
        region.vel_high,
        region.options,
        region.key_group,
        region.layer,
        region.wave_link,
        region.sample,
        articulation,
        region.fixed_key,
        region.fixed_velocity,
        region.sf2_shapes,
        wave.sample_rate,
        wave.bits,
        wave.name,
        wave.samples.tobytes(),
    )


def instrument_signature(inst: Instrument) -> tuple:
    return (inst.patch, inst.name, tuple(region_signature(r, inst) for r in inst.regions))


# --- SoundFont files assembled by hand -----------------------------------------------------------
@dataclass
class SfSample:
    data: np.ndarray  # int16
    rate: int = 22050
    pitch: int = 60
    correction: int = 0
    loop: tuple[int, int] | None = None  # relative to the sample start
    name: str = "sample"
    vorbis: bool = False
    rom: bool = False  # a ROM sample: its header points at no data in the file


@dataclass
class SfZone:
    gens: list[tuple[int, int]] = field(default_factory=list)  # (oper, amount) in file order
    mods: list[tuple[int, int, int, int, int]] = field(default_factory=list)


def _gen_amount(oper: int, amount: int | tuple[int, int]) -> int:
    if isinstance(amount, tuple):
        return amount[0] | amount[1] << 8
    return amount & 0xFFFF


def _hydra(items, bag_of, name_fmt, zones_of):
    """Records, bags, gens and mods for presets or instruments."""
    heads, bags, gens, mods = [], [], [], []
    for item in items:
        heads.append(name_fmt(item, len(bags)))
        for zone in zones_of(item):
            bags.append((len(gens), len(mods)))
            gens += [(o, _gen_amount(o, a)) for o, a in zone.gens]
            mods += zone.mods
    return heads, bags, gens, mods


def sf2_bytes(
    samples: list[SfSample],
    instruments: list[tuple[str, list[SfZone]]],
    presets: list[tuple[str, int, int, list[SfZone]]],
    version: tuple[int, int] = (2, 4),
    sm24: bool = False,
) -> bytes:
    """An SF2 (or, with vorbis samples and version 3, an SF3) file. Presets are
    (name, bank, program, zones); instruments (name, zones); the hydra's terminal records and
    each sample's 46 padding samples are added here."""
    smpl = bytearray()
    shdr = []
    for s in samples:
        if s.vorbis:
            import soundfile

            buf = io.BytesIO()
            soundfile.write(
                buf, s.data.astype(np.float32) / 32768.0, s.rate, format="OGG", subtype="VORBIS"
            )
            start = len(smpl)
            smpl += buf.getvalue()
            end = len(smpl)
            loop = s.loop or (0, 0)
            kind = 1 | 0x10
        else:
            start = len(smpl) // 2
            smpl += s.data.astype("<i2").tobytes()
            end = len(smpl) // 2
            smpl += bytes(46 * 2)
            loop = (start + s.loop[0], start + s.loop[1]) if s.loop else (start, start)
            kind = 0x8001 if s.rom else 1
        shdr.append(
            struct.pack(
                "<20sIIIIIBbHH",
                s.name.encode(),
                start,
                end,
                loop[0],
                loop[1],
                s.rate,
                s.pitch,
                s.correction,
                0,
                kind,
            )
        )
    shdr.append(struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0))

    def inst_head(item, bag):
        return struct.pack("<20sH", item[0].encode(), bag)

    iheads, ibags, igens, imods = _hydra(instruments, None, inst_head, lambda item: item[1])
    iheads.append(struct.pack("<20sH", b"EOI", len(ibags)))

    def preset_head(item, bag):
        return struct.pack("<20sHHHIII", item[0].encode(), item[2], item[1], bag, 0, 0, 0)

    pheads, pbags, pgens, pmods = _hydra(presets, None, preset_head, lambda item: item[3])
    pheads.append(struct.pack("<20sHHHIII", b"EOP", 0, 0, len(pbags), 0, 0, 0))

    def bags_bytes(bags, gens, mods):
        return b"".join(struct.pack("<HH", g, m) for g, m in [*bags, (len(gens), len(mods))])

    def gens_bytes(gens):
        return b"".join(struct.pack("<HH", o, a) for o, a in [*gens, (0, 0)])

    def mods_bytes(mods):
        return b"".join(struct.pack("<HHhHH", *m) for m in [*mods, (0, 0, 0, 0, 0)])

    pdta = list_bytes(
        "pdta",
        [
            chunk_bytes("phdr", b"".join(pheads)),
            chunk_bytes("pbag", bags_bytes(pbags, pgens, pmods)),
            chunk_bytes("pmod", mods_bytes(pmods)),
            chunk_bytes("pgen", gens_bytes(pgens)),
            chunk_bytes("inst", b"".join(iheads)),
            chunk_bytes("ibag", bags_bytes(ibags, igens, imods)),
            chunk_bytes("imod", mods_bytes(imods)),
            chunk_bytes("igen", gens_bytes(igens)),
            chunk_bytes("shdr", b"".join(shdr)),
        ],
    )
    sdta_parts = [chunk_bytes("smpl", bytes(smpl))]
    if sm24:
        sdta_parts.append(chunk_bytes("sm24", bytes([0x80]) * (len(smpl) // 2)))
    info = list_bytes(
        "INFO",
        [chunk_bytes("ifil", struct.pack("<HH", *version)), info_list({"INAM": "built"})[12:]],
    )
    return riff_bytes("sfbk", [info, list_bytes("sdta", sdta_parts), pdta])


def simple_sf2(**kwargs) -> bytes:
    """One sample, one instrument zone, one preset zone: the smallest complete SoundFont."""
    data = (np.sin(np.arange(2000) * 0.05) * 12000).astype(np.int16)
    sample = SfSample(data, 22050, 60, 0, (100, 1900), "sine", **kwargs)
    inst = ("inst", [SfZone([(54, 1), (53, 0)])])
    preset = ("preset", 0, 0, [SfZone([(41, 0)])])
    return sf2_bytes([sample], [inst], [preset], version=(3, 1) if sample.vorbis else (2, 4))


# --- banks with one broken item each (issue 12 item 2) -------------------------------------------
BROKEN_UNKNOWN_DESTINATION = 0x0777  # no DLS destination has this id


def _a4_sine(frames: int = 4000) -> Wave:
    """A looped sine that plays 440 Hz at A4 (a 100-sample period at 44 kHz)."""
    samples = quantized(np.sin(2 * np.pi * np.arange(frames) / 100) * 0.5, 16)
    return Wave(samples, 44000, WaveSample(69, loops=(Loop(WLOOP_TYPE_FORWARD, 0, frames),)))


def broken_dls_bytes() -> bytes:
    """A DLS whose pool holds a good wave and an empty one (what converters write for an SF2 ROM
    sample), with program 0 playing the good wave through an articulation that also names an
    unknown destination, program 1 playing only the empty wave, and program 2 with one region
    linked to a pool entry that does not exist (keys 0-59) and one good region (keys 60-127).
    A reader that skips broken items keeps programs 0 and 2 (60-127) and says where the rest
    went."""
    from dmusd.banks import dls_writer as w

    good = _a4_sine()
    empty = Wave(np.zeros(0, np.float32), 44000, WaveSample(69), "rom sample")
    bad_art = (
        connection(CONN_DST_EG1_RELEASETIME, units.timecents(0.05)),
        connection(BROKEN_UNKNOWN_DESTINATION, 65536),
    )
    r = Region
    programs = [
        (0, [w.region_chunk(r(0, 127, 0, 127, good, articulation=bad_art), 0)]),
        (1, [w.region_chunk(r(0, 127, 0, 127, empty), 1)]),
        (
            2,
            [
                w.region_chunk(r(0, 59, 0, 127, good), 9),
                w.region_chunk(r(60, 127, 0, 127, good), 0),
            ],
        ),
    ]
    instruments = [
        w.instrument_chunk(Instrument(make_patch(p), f"program {p}", []), regions)
        for p, regions in programs
    ]
    return w.collection(instruments, [w.wave_chunk([good]), w.wave_chunk([empty])], {"INAM": "b"})


def broken_sf2_bytes() -> bytes:
    """An SF2 with a good sample (preset 0) and a ROM sample (preset 1, its only zone)."""
    data = (np.sin(2 * np.pi * np.arange(4000) / 100) * 12000).astype(np.int16)
    good = SfSample(data, 44000, 69, 0, (0, 4000), "sine")
    rom = SfSample(np.zeros(16, np.int16), 44000, 69, 0, None, "rom", rom=True)
    insts = [("good", [SfZone([(54, 1), (53, 0)])]), ("rom", [SfZone([(53, 1)])])]
    presets = [("good", 0, 0, [SfZone([(41, 0)])]), ("rom", 0, 1, [SfZone([(41, 1)])])]
    return sf2_bytes([good, rom], insts, presets)


def fluidsynth_presets(path) -> list[tuple[int, int, str]]:
    """(bank, program, name) of every preset, as FluidSynth itself lists them (`inst 1`)."""
    out = subprocess.run(
        ["fluidsynth", "-n", "-a", "file", "-o", "audio.file.name=/dev/null", "-q", str(path)],
        input="inst 1\n",
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [
        (int(m[1]), int(m[2]), m[3].strip())
        for m in re.finditer(r"^(\d{3})-(\d{3}) (.*)$", out, re.MULTILINE)
    ]
