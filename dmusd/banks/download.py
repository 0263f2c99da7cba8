"""DMUS_DOWNLOADINFO buffers: what KSPROPERTY_SYNTH_DLS_DOWNLOAD carries (ddi-digest 5.1).

A buffer is a 16-byte DMUS_DOWNLOADINFO, an offset table of dwNumOffsetTableEntries ULONGs, then
the objects; objects refer to each other by table index (0 = none), and entry 0 is the primary
object (DMUS_WAVE or DMUS_INSTRUMENT) right after the table. Waves are downloaded first; an
INSTRUMENT2 download's regions name their wave by the wave download's dwDLId.

The builder lays out what a DirectMusic client sends. The parser is the synth's side and trusts
nothing: cbSize against the buffer, every table entry and object inside cbSize, every index inside
the table, region and articulation and extension lists free of cycles, counts against the room
they claim. A broken item inside an instrument download (a region whose wave link names no wave
on the pin, a connection to a destination DLS does not define) is left out with a warning in
`InstrumentDownload.warnings` naming the object and its offset; an instrument left with no
region at all is refused. Names travel in 'INAM' extension chunks; the region fields
DMUS_REGION lacks (DLS2 layer, SF2 fixed key/velocity) travel in a 'dmsx' extension chunk, so a
download round trip gives back the model it came from.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from dmusd.banks import pcm
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
    CONN_DST_EG2_RELEASETIME,
    CONN_DST_EG2_SUSTAINLEVEL,
    CONN_DST_GAIN,
    CONN_DST_LFO_FREQUENCY,
    CONN_DST_LFO_STARTDELAY,
    CONN_DST_PAN,
    CONN_DST_PITCH,
    CONN_SRC_CC1,
    CONN_SRC_EG2,
    CONN_SRC_KEYNUMBER,
    CONN_SRC_KEYONVELOCITY,
    CONN_SRC_LFO,
    DESTINATIONS,
    ConnectionBlock,
)
from dmusd.banks.model import (
    DMSX_SF2_SHAPES,
    Instrument,
    Loop,
    Region,
    Wave,
    WaveLink,
    WaveSample,
)
from dmusd.errors import BankError, bank_location

DMUS_DOWNLOADINFO_INSTRUMENT = 1
DMUS_DOWNLOADINFO_WAVE = 2
DMUS_DOWNLOADINFO_INSTRUMENT2 = 3
DMUS_DOWNLOADINFO_WAVEARTICULATION = 4
DMUS_DOWNLOADINFO_STREAMINGWAVE = 5
DMUS_DOWNLOADINFO_ONESHOTWAVE = 6
DMUS_INSTRUMENT_GM_INSTRUMENT = 0x1

_INFO = struct.Struct("<IIII")  # dwDLType, dwDLId, dwNumOffsetTableEntries, cbSize
_INSTRUMENT = struct.Struct("<6I")  # patch, first region, global art, first ext, copyright, flags
_REGION = struct.Struct("<6H3I")  # key lo/hi, vel lo/hi, options, key group, art, next, ext
_WAVELINK = struct.Struct("<HHII")
_WSMPL = struct.Struct("<IHhiII")
_WLOOP = struct.Struct("<IIII")
_REGION_SIZE = _REGION.size + _WAVELINK.size + _WSMPL.size + _WLOOP.size  # 72 with one loop
_ARTICULATION2 = struct.Struct("<III")  # art idx, first ext, next art
_ARTICULATION = struct.Struct("<II")  # DX6: articparams idx, first ext
_ARTICPARAMS = struct.Struct("<20i")
_CONNECTIONLIST = struct.Struct("<II")
_CONNECTION = struct.Struct("<HHHHi")
_WAVE = struct.Struct("<III")  # first ext, copyright, wave data idx (+ WAVEFORMATEX)
_WAVEFORMATEX = struct.Struct("<HHIIHHH")
_EXTENSION = struct.Struct("<II4s")  # cbSize (of the data), next ext idx, FOURCC
_ULONG = struct.Struct("<I")
_EXTRAS = struct.Struct("<Hhh")  # layer, fixed key, fixed velocity
_EXTRA_FLAGS = struct.Struct("<H")  # after them: model's DMSX_* flags
MAX_LOOPS = 64
WHERE = "DMUS_DOWNLOADINFO"


# --- building -----------------------------------------------------------------------------------
class _Layout:
    """Objects in table order; serialised with 8-byte alignment (CHUNK_ALIGN)."""

    def __init__(self) -> None:
        self.objects: list[bytes | None] = []

    def reserve(self) -> int:
        self.objects.append(None)
        return len(self.objects) - 1

    def add(self, data: bytes) -> int:
        self.objects.append(data)
        return len(self.objects) - 1

    def set(self, index: int, data: bytes) -> None:
        self.objects[index] = data

    def build(self, dl_type: int, dl_id: int) -> bytes:
        n = len(self.objects)
        pos = _INFO.size + 4 * n
        offsets, body = [], bytearray()
        for obj in self.objects:
            assert obj is not None
            offsets.append(pos + len(body))
            body += obj
            body += bytes(-(pos + len(body)) % 8)
        size = pos + len(body)
        return _INFO.pack(dl_type, dl_id, n, size) + struct.pack(f"<{n}I", *offsets) + bytes(body)


def _extension(layout: _Layout, fourcc: str, data: bytes, next_index: int = 0) -> int:
    return layout.add(_EXTENSION.pack(len(data), next_index, fourcc.encode("ascii")) + data)


def _connection_list(blocks: tuple[ConnectionBlock, ...]) -> bytes:
    return _CONNECTIONLIST.pack(8, len(blocks)) + b"".join(_CONNECTION.pack(*b) for b in blocks)


def build_wave_download(wave: Wave, dl_id: int) -> bytes:
    """A DMUS_DOWNLOADINFO_WAVE buffer: [0] DMUS_WAVE, [1] DMUS_WAVEDATA (+ [2] INAM)."""
    layout = _Layout()
    head = layout.reserve()
    bits = wave.bits if wave.bits in (8, 16, 24, 32) else 16
    data = pcm.encode(wave.samples, bits)
    data_index = layout.add(_ULONG.pack(len(data)) + data)
    name_index = _extension(layout, "INAM", wave.name.encode("utf-8")) if wave.name else 0
    align = bits // 8
    fmt = _WAVEFORMATEX.pack(
        pcm.format_tag_for(bits), 1, wave.sample_rate, wave.sample_rate * align, align, bits, 0
    )
    layout.set(head, _WAVE.pack(name_index, 0, data_index) + fmt)
    return layout.build(DMUS_DOWNLOADINFO_WAVE, dl_id)


def build_instrument_download(
    instrument: Instrument, dl_id: int, wave_ids: Mapping[int, int], gm: bool = False
) -> bytes:
    """A DMUS_DOWNLOADINFO_INSTRUMENT2 buffer. `wave_ids` maps id(Wave) -> that wave's dwDLId."""
    layout = _Layout()
    head = layout.reserve()
    global_art = 0
    if instrument.articulation:
        art = layout.reserve()
        layout.set(
            art, _ARTICULATION2.pack(layout.add(_connection_list(instrument.articulation)), 0, 0)
        )
        global_art = art
    indices = [layout.reserve() for _ in instrument.regions]
    for i, region in enumerate(instrument.regions):
        art = 0
        if region.articulation:
            art = layout.reserve()
            layout.set(
                art, _ARTICULATION2.pack(layout.add(_connection_list(region.articulation)), 0, 0)
            )
        ext = 0
        if region.layer or region.fixed_key >= 0 or region.fixed_velocity >= 0 or region.sf2_shapes:
            extras = _EXTRAS.pack(region.layer, region.fixed_key, region.fixed_velocity)
            extras += _EXTRA_FLAGS.pack(DMSX_SF2_SHAPES if region.sf2_shapes else 0)
            ext = _extension(layout, "dmsx", extras)
        following = indices[i + 1] if i + 1 < len(indices) else 0
        layout.set(
            indices[i], _region_bytes(region, art, following, ext, wave_ids[id(region.wave)])
        )
    name = _extension(layout, "INAM", instrument.name.encode("utf-8")) if instrument.name else 0
    flags = DMUS_INSTRUMENT_GM_INSTRUMENT if gm or instrument.gm else 0
    first = indices[0] if indices else 0
    layout.set(head, _INSTRUMENT.pack(instrument.patch, first, global_art, name, 0, flags))
    return layout.build(DMUS_DOWNLOADINFO_INSTRUMENT2, dl_id)


def _region_bytes(region: Region, art: int, following: int, ext: int, wave_id: int) -> bytes:
    wsmp = region.sample
    link = region.wave_link
    out = _REGION.pack(
        region.key_low,
        region.key_high,
        region.vel_low,
        region.vel_high,
        region.options,
        region.key_group,
        art,
        following,
        ext,
    )
    out += _WAVELINK.pack(link.options, link.phase_group, link.channel, wave_id)
    out += _WSMPL.pack(
        20, wsmp.unity_note, wsmp.fine_tune, wsmp.attenuation, wsmp.options, len(wsmp.loops)
    )
    loops = wsmp.loops or (Loop(0, 0, 0),)  # WLOOP[1] is always present
    return out + b"".join(_WLOOP.pack(16, lp.type, lp.start, lp.length) for lp in loops)


def bank_wave_ids(instruments: list[Instrument], first_dl_id: int = 1) -> dict[int, int]:
    """The dwDLId of each wave the instruments use (by id(Wave)), in first-use order from
    `first_dl_id`; the instruments follow with the next ids."""
    wave_ids: dict[int, int] = {}
    for inst in instruments:
        for region in inst.regions:
            wave_ids.setdefault(id(region.wave), first_dl_id + len(wave_ids))
    return wave_ids


def bank_download_count(instruments: list[Instrument]) -> int:
    """How many buffers (and dwDLIds) build_bank_downloads makes for these instruments."""
    return len(bank_wave_ids(instruments)) + len(instruments)


def build_bank_downloads(
    instruments: list[Instrument], first_dl_id: int = 1, gm: bool = False
) -> Iterator[bytes]:
    """Every buffer a client sends to put these instruments on a pin: waves first (each wave
    once), then the instruments, with consecutive dwDLIds from `first_dl_id`. Built one at a
    time as they are asked for, so a bank's samples are never all in buffers at once."""
    wave_ids = bank_wave_ids(instruments, first_dl_id)
    waves = {id(region.wave): region.wave for inst in instruments for region in inst.regions}
    for key, dl_id in wave_ids.items():
        yield build_wave_download(waves[key], dl_id)
    next_id = first_dl_id + len(wave_ids)
    for offset, inst in enumerate(instruments):
        yield build_instrument_download(inst, next_id + offset, wave_ids, gm)


# --- parsing (the synth's side) -----------------------------------------------------------------
@dataclass(slots=True)
class WaveDownload:
    dl_id: int
    wave: Wave


@dataclass(slots=True)
class InstrumentDownload:
    dl_id: int
    instrument: Instrument
    wave_ids: tuple[int, ...]  # the dwDLIds of the waves its regions use, each once
    gm: bool
    warnings: list[str] = field(default_factory=list)  # broken items left out, with where


class _Buffer:
    """Bounds-checked access to the objects of one download buffer."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = bytes(data)
        self.warnings: list[str] = []
        if len(self.data) < _INFO.size:
            raise self.error(
                f"{len(self.data)} bytes is shorter than DMUS_DOWNLOADINFO", "header", 0
            )
        self.dl_type, self.dl_id, count, self.size = _INFO.unpack_from(self.data)
        if self.size > len(self.data):
            raise self.error(
                f"cbSize {self.size} is larger than the {len(self.data)}-byte buffer", "header", 12
            )
        if count == 0 or count > (self.size - _INFO.size) // 4:
            raise self.error(
                f"{count} offset table entries do not fit cbSize {self.size}", "header", 8
            )
        self.count = count
        self.table = struct.unpack_from(f"<{count}I", self.data, _INFO.size)
        self.objects_start = _INFO.size + 4 * count
        for i, offset in enumerate(self.table):
            if not self.objects_start <= offset < self.size:
                raise self.error(
                    f"offset {offset} is outside the objects at {self.objects_start}..{self.size}",
                    f"table[{i}]",
                    _INFO.size + 4 * i,
                )

    @staticmethod
    def error(message: str, where: str, offset: int) -> BankError:
        return BankError(message, file=WHERE, chunk=where, offset=offset)

    def warn(self, message: str, where: str, offset: int) -> None:
        self.warnings.append(f"{bank_location(WHERE, where, offset)}: {message}")

    def offset(self, index: int, size: int, what: str) -> int:
        """The offset of object `index`, checked to hold `size` bytes."""
        if not 0 <= index < self.count:
            raise self.error(f"index {index} is outside the {self.count}-entry table", what, 0)
        offset = self.table[index]
        if offset + size > self.size:
            raise self.error(f"{size}-byte {what} runs past cbSize {self.size}", what, offset)
        return offset

    def unpack(self, fmt: struct.Struct, index: int, what: str) -> tuple:
        return fmt.unpack_from(self.data, self.offset(index, fmt.size, what))

    def chain(self, first: int, next_of, what: str) -> list[int]:
        """Follow a linked list of table indices (0 ends it); a repeat is a cycle."""
        seen: dict[int, None] = {}  # ordered, with O(1) membership
        index = first
        while index:
            if index in seen:
                raise self.error(
                    f"{what} list loops back to index {index}", f"{what}[{len(seen)}]", 0
                )
            seen[index] = None
            index = next_of(index)
        return list(seen)

    def extensions(self, first: int, what: str) -> dict[str, bytes]:
        out: dict[str, bytes] = {}

        def next_of(index: int) -> int:
            return self.unpack(_EXTENSION, index, f"{what}/extension")[1]

        for index in self.chain(first, next_of, f"{what}/extension"):
            size, _next, fourcc = self.unpack(_EXTENSION, index, f"{what}/extension")
            start = (
                self.offset(index, _EXTENSION.size + size, f"{what}/extension") + _EXTENSION.size
            )
            out.setdefault(fourcc.decode("latin-1"), self.data[start : start + size])
        return out

    def name(self, first_ext: int, what: str) -> str:
        raw = self.extensions(first_ext, what).get("INAM", b"")
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_download(
    data: bytes | bytearray | memoryview, waves: Mapping[int, Wave] | None = None
) -> WaveDownload | InstrumentDownload:
    """Validate and decode one download buffer. `waves` maps the dwDLIds of waves already on
    the pin to their Wave; an instrument whose regions name any other id is refused."""
    buf = _Buffer(data)
    if buf.dl_type == DMUS_DOWNLOADINFO_WAVE:
        return _parse_wave(buf)
    if buf.dl_type in (DMUS_DOWNLOADINFO_INSTRUMENT, DMUS_DOWNLOADINFO_INSTRUMENT2):
        return _parse_instrument(buf, waves or {})
    raise buf.error(f"download type {buf.dl_type} is not supported (1, 2 or 3)", "header", 0)


def _parse_wave(buf: _Buffer) -> WaveDownload:
    if buf.table[0] != buf.objects_start:
        raise buf.error("the primary object must follow the offset table", "table[0]", _INFO.size)
    head = buf.offset(0, _WAVE.size + 16, "DMUS_WAVE")  # WAVEFORMATEX without cbSize at least
    first_ext, _copyright, data_index = _WAVE.unpack_from(buf.data, head)
    fmt = head + _WAVE.size
    tag, channels, rate, _avg, align, bits = struct.unpack_from("<HHIIHH", buf.data, fmt)
    where = "DMUS_WAVE/WaveformatEx"
    if tag not in (pcm.WAVE_FORMAT_PCM, pcm.WAVE_FORMAT_IEEE_FLOAT):
        raise buf.error(f"wave format tag {tag:#06x} (PCM or IEEE float only)", where, fmt)
    if channels != 1:
        raise buf.error(f"{channels} channels: download waves are mono", where, fmt + 2)
    if not 1000 <= rate <= 384000:
        raise buf.error(f"sample rate {rate} Hz is outside 1000..384000", where, fmt + 4)
    is_float = tag == pcm.WAVE_FORMAT_IEEE_FLOAT
    if bits not in ((32,) if is_float else (8, 16, 24, 32)) or align != bits // 8:
        raise buf.error(f"{bits}-bit samples, block align {align}: not supported", where, fmt + 12)
    if data_index == 0:
        raise buf.error("DMUS_WAVE has no wave data index", "DMUS_WAVE", head + 8)
    (size,) = buf.unpack(_ULONG, data_index, "DMUS_WAVEDATA")
    start = buf.offset(data_index, 4 + size, "DMUS_WAVEDATA") + 4
    frames = size // align  # a synth's APPEND padding may leave a partial frame: ignored
    if frames == 0:
        raise buf.error("wave data holds no sample", "DMUS_WAVEDATA", start - 4)
    samples = pcm.decode(memoryview(buf.data)[start : start + frames * align], bits, 1, is_float)
    name = buf.name(first_ext, "DMUS_WAVE")
    wave = Wave(samples.reshape(-1), rate, None, name, 32 if is_float else bits)
    return WaveDownload(buf.dl_id, wave)


def _parse_instrument(buf: _Buffer, waves: Mapping[int, Wave]) -> InstrumentDownload:
    if buf.table[0] != buf.objects_start:
        raise buf.error("the primary object must follow the offset table", "table[0]", _INFO.size)
    v2 = buf.dl_type == DMUS_DOWNLOADINFO_INSTRUMENT2
    patch, first_region, global_art, first_ext, _copyright, flags = buf.unpack(
        _INSTRUMENT, 0, "DMUS_INSTRUMENT"
    )
    articulation = _articulation(buf, global_art, "DMUS_INSTRUMENT/articulation", v2)

    def next_region(index: int) -> int:
        return buf.unpack(_REGION, index, "DMUS_REGION")[7]

    regions: list[Region] = []
    used: dict[int, None] = {}
    chain = buf.chain(first_region, next_region, "DMUS_REGION")
    for n, index in enumerate(chain):
        parsed = _parse_region(buf, index, f"DMUS_REGION[{n}]", waves, v2)
        if parsed is not None:
            regions.append(parsed[0])
            used[parsed[1]] = None
    if chain and not regions:
        raise buf.error(
            f"none of its {len(chain)} regions names a wave on this pin", "DMUS_INSTRUMENT", 0
        )
    name = buf.name(first_ext, "DMUS_INSTRUMENT")
    gm = bool(flags & DMUS_INSTRUMENT_GM_INSTRUMENT)
    instrument = Instrument(patch, name, regions, articulation, gm)
    return InstrumentDownload(buf.dl_id, instrument, tuple(used), gm, buf.warnings)


def _parse_region(
    buf: _Buffer, index: int, where: str, waves: Mapping[int, Wave], v2: bool
) -> tuple[Region, int] | None:
    """The region and its wave's dwDLId; None (with a warning) when it names no wave here."""
    offset = buf.offset(index, _REGION_SIZE - _WLOOP.size, where)
    link_at = offset + _REGION.size
    wsmp_at = link_at + _WAVELINK.size
    loops_at = wsmp_at + _WSMPL.size
    key_lo, key_hi, vel_lo, vel_hi, options, key_group, art, _next, ext = _REGION.unpack_from(
        buf.data, offset
    )
    link_options, phase, channel, wave_id = _WAVELINK.unpack_from(buf.data, link_at)
    cb, unity, fine, atten, wsmp_options, loop_count = _WSMPL.unpack_from(buf.data, wsmp_at)
    if not (key_lo <= key_hi <= 127 and vel_lo <= vel_hi <= 127):
        raise buf.error(
            f"key range {key_lo}..{key_hi}, velocity range {vel_lo}..{vel_hi}", where, offset
        )
    wave = waves.get(wave_id)
    if wave is None:
        buf.warn(
            f"wave link names download id {wave_id}, not a wave on this pin; region skipped",
            f"{where}/WaveLink",
            link_at,
        )
        return None
    if cb != _WSMPL.size:
        raise buf.error(f"WSMPL cbSize {cb} should be 20", f"{where}/WSMP", wsmp_at)
    if unity > 127:
        raise buf.error(f"unity note {unity} is above 127", f"{where}/WSMP", wsmp_at + 4)
    if loop_count > MAX_LOOPS:
        raise buf.error(f"{loop_count} loops (at most {MAX_LOOPS})", f"{where}/WSMP", wsmp_at + 16)
    if loops_at + _WLOOP.size * max(loop_count, 1) > buf.size:
        raise buf.error(
            f"{loop_count} loops run past cbSize {buf.size}", f"{where}/WLOOP", loops_at
        )
    loops = []
    for i in range(loop_count):
        at = loops_at + i * _WLOOP.size
        lcb, kind, start, length = _WLOOP.unpack_from(buf.data, at)
        if lcb != _WLOOP.size or kind > 1:
            raise buf.error(f"WLOOP cbSize {lcb}, type {kind}", f"{where}/WLOOP[{i}]", at)
        if length == 0 or start + length > wave.frames:
            raise buf.error(
                f"loop {start}+{length} is outside the wave's {wave.frames} samples",
                f"{where}/WLOOP[{i}]",
                at,
            )
        loops.append(Loop(kind, start, length))
    layer, fixed_key, fixed_velocity, flags = 0, -1, -1, 0
    extras = buf.extensions(ext, where).get("dmsx")
    if extras is not None and len(extras) >= _EXTRAS.size:
        layer, fixed_key, fixed_velocity = _EXTRAS.unpack_from(extras)
    if extras is not None and len(extras) >= _EXTRAS.size + _EXTRA_FLAGS.size:
        flags = _EXTRA_FLAGS.unpack_from(extras, _EXTRAS.size)[0]
    region = Region(
        key_lo,
        key_hi,
        vel_lo,
        vel_hi,
        wave,
        options=options,
        key_group=key_group,
        layer=layer,
        wave_link=WaveLink(link_options, phase, channel),
        wsmp=WaveSample(unity, fine, atten, wsmp_options, tuple(loops)),
        articulation=_articulation(buf, art, f"{where}/articulation", v2),
        fixed_key=fixed_key if 0 <= fixed_key <= 127 else -1,
        fixed_velocity=fixed_velocity if 0 <= fixed_velocity <= 127 else -1,
        sf2_shapes=bool(flags & DMSX_SF2_SHAPES),
    )
    return region, wave_id


def _articulation(buf: _Buffer, first: int, where: str, v2: bool) -> tuple[ConnectionBlock, ...]:
    if not first:
        return ()
    if not v2:
        params_index, _ext = buf.unpack(_ARTICULATION, first, where)
        return articparams_connections(
            buf.unpack(_ARTICPARAMS, params_index, f"{where}/DMUS_ARTICPARAMS")
        )

    def next_art(index: int) -> int:
        return buf.unpack(_ARTICULATION2, index, where)[2]

    blocks: list[ConnectionBlock] = []
    for index in buf.chain(first, next_art, where):
        list_index = buf.unpack(_ARTICULATION2, index, where)[0]
        cb, count = buf.unpack(_CONNECTIONLIST, list_index, f"{where}/CONNECTIONLIST")
        if cb < 8:
            raise buf.error(f"CONNECTIONLIST cbSize {cb} is below 8", f"{where}/CONNECTIONLIST", 0)
        start = buf.offset(list_index, cb, f"{where}/CONNECTIONLIST") + cb
        if count > (buf.size - start) // _CONNECTION.size:
            raise buf.error(
                f"{count} connections run past cbSize", f"{where}/CONNECTIONLIST", start
            )
        body = memoryview(buf.data)[start : start + count * _CONNECTION.size]
        for i, fields in enumerate(_CONNECTION.iter_unpack(body)):
            if fields[2] in DESTINATIONS:
                blocks.append(ConnectionBlock(*fields))
            else:
                buf.warn(
                    f"connection {i} has unknown destination {fields[2]:#06x}; skipped",
                    f"{where}/CONNECTIONLIST",
                    start + i * _CONNECTION.size,
                )
    return tuple(blocks)


def articparams_connections(p: tuple[int, ...]) -> tuple[ConnectionBlock, ...]:
    """The DLS1 connections a DX6 DMUS_ARTICPARAMS stands for (ddi-digest 5.1)."""
    (lfo_freq, lfo_delay, lfo_vol, lfo_pitch, mw_vol, mw_pitch) = p[0:6]
    (v_att, v_dec, v_sus, v_rel, v_vel2att, v_key2dec) = p[6:12]
    (p_att, p_dec, p_sus, p_rel, p_vel2att, p_key2dec, p_range) = p[12:19]
    pan = p[19]
    c = ConnectionBlock
    return (
        c(0, 0, CONN_DST_LFO_FREQUENCY, 0, lfo_freq),
        c(0, 0, CONN_DST_LFO_STARTDELAY, 0, lfo_delay),
        c(CONN_SRC_LFO, 0, CONN_DST_GAIN, 0, lfo_vol),
        c(CONN_SRC_LFO, 0, CONN_DST_PITCH, 0, lfo_pitch),
        c(CONN_SRC_LFO, CONN_SRC_CC1, CONN_DST_GAIN, 0, mw_vol),
        c(CONN_SRC_LFO, CONN_SRC_CC1, CONN_DST_PITCH, 0, mw_pitch),
        c(0, 0, CONN_DST_EG1_ATTACKTIME, 0, v_att),
        c(0, 0, CONN_DST_EG1_DECAYTIME, 0, v_dec),
        c(0, 0, CONN_DST_EG1_SUSTAINLEVEL, 0, v_sus),
        c(0, 0, CONN_DST_EG1_RELEASETIME, 0, v_rel),
        c(CONN_SRC_KEYONVELOCITY, 0, CONN_DST_EG1_ATTACKTIME, 0, v_vel2att),
        c(CONN_SRC_KEYNUMBER, 0, CONN_DST_EG1_DECAYTIME, 0, v_key2dec),
        c(0, 0, CONN_DST_EG2_ATTACKTIME, 0, p_att),
        c(0, 0, CONN_DST_EG2_DECAYTIME, 0, p_dec),
        c(0, 0, CONN_DST_EG2_SUSTAINLEVEL, 0, p_sus),
        c(0, 0, CONN_DST_EG2_RELEASETIME, 0, p_rel),
        c(CONN_SRC_KEYONVELOCITY, 0, CONN_DST_EG2_ATTACKTIME, 0, p_vel2att),
        c(CONN_SRC_KEYNUMBER, 0, CONN_DST_EG2_DECAYTIME, 0, p_key2dec),
        c(CONN_SRC_EG2, 0, CONN_DST_PITCH, 0, p_range),
        c(0, 0, CONN_DST_PAN, 0, pan),
    )
