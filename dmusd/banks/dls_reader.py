"""DLS Level 1 and Level 2 files -> the instrument model.

Layout (ddi-digest 5.3): RIFF 'DLS ' holds vers, dlid, cdl, colh, LIST lins (LIST ins: insh,
LIST lrgn of rgn/rgn2, lart/lar2, INFO), ptbl, LIST wvpl (LIST wave: fmt, data, wsmp, INFO) and
INFO. Regions reach waves through wlnk.ulTableIndex -> ptbl cue -> offset inside wvpl.

Damage policy (one broken item does not spoil a bank):
- what makes the collection unreadable (not a RIFF 'DLS ' file, no lins, a bad ptbl, chunks that
  run past their list, a collection-level cdl that excludes us) raises BankError with the file,
  chunk path and offset;
- a broken item is skipped and the rest loads: a pool wave that cannot be decoded or holds no
  samples, a region whose wave link names a missing or skipped wave (or that lacks rgnh/wlnk,
  or has an empty key range), an instrument without insh or left with no region, a connection
  to a destination DLS does not define. Each skip is a warning in `Bank.warnings` that says
  where (file, chunk path with the item's index, offset) and what was skipped;
- what a synth can safely repair (a loop past the end of its wave, counts that disagree with the
  lists, a duplicate patch) is repaired, with a warning too.
`dmusd bank check` reports every warning and fails on them unless --allow-warnings.
"""

from __future__ import annotations

import os
import struct
import uuid

from dmusd.banks import pcm
from dmusd.banks.articulation import from_art1
from dmusd.banks.conditional import DEFAULT_CAPABILITIES, Capabilities, ConditionError, evaluate
from dmusd.banks.connection import DESTINATIONS, ConnectionBlock
from dmusd.banks.model import (
    DMSX_SF2_SHAPES,
    Bank,
    Instrument,
    Loop,
    Region,
    Wave,
    WaveLink,
    WaveSample,
    describe_patch,
    patch_from_locale,
)
from dmusd.banks.riff import Chunk, RiffReader, by_name, parse_info
from dmusd.errors import BankError, bank_location

POOL_CUE_NULL = 0xFFFF_FFFF
# dmusd's own region chunk: SHORT fixed key, SHORT fixed velocity (SF2 46/47), then (since
# the LFO shapes) USHORT flags; a 4-byte one from an older dmusd has no flags
PRIVATE_REGION_CHUNK = "dmsx"
MAX_LOOPS = 64  # WSMPL allows a list; a voice uses one, and more than this is not a real file

_CONNECTION = struct.Struct("<HHHHi")
_WLOOP = struct.Struct("<IIII")


class _DlsParser:
    def __init__(self, reader: RiffReader, caps: Capabilities) -> None:
        self.r = reader
        self.caps = caps
        self.warnings: list[str] = []
        self.level2 = False
        self.pool: list[list[Wave]] = []  # per pool index, one Wave per channel
        self.pool_offsets: dict[int, int] = {}  # offset inside wvpl -> pool index
        self.cues: list[int] | None = None

    def warn(self, message: str, chunk: Chunk | None = None, offset: int | None = None) -> None:
        path = chunk.path if chunk is not None else None
        if offset is None and chunk is not None:
            offset = chunk.offset
        self.warnings.append(f"{bank_location(self.r.file, path, offset)}: {message}")

    def skip(self, what: str, error: BankError) -> None:
        """A broken item: say where and why, and leave it out."""
        self.warnings.append(f"{bank_location(error.file, error.chunk, error.offset)}: "
                             f"{error.message}; {what} skipped")  # fmt: skip

    def condition(self, chunk: Chunk) -> bool:
        self.level2 = True
        try:
            return evaluate(self.r.read(chunk), self.caps)
        except ConditionError as error:
            raise self.r.error(
                f"bad conditional chunk: {error}", chunk, chunk.data_offset + error.position
            ) from None

    # --- the collection --------------------------------------------------------------------------
    def parse(self) -> Bank:
        root = self.r.root("DLS ")
        top = self.r.children(root)
        version = dlid = None
        info: dict[str, str] = {}
        lins = wvpl = colh = None
        for chunk in top:
            name = chunk.name
            if name == "cdl":
                if not self.condition(chunk):
                    raise self.r.error(
                        "the collection's conditional chunk excludes this synthesizer", chunk
                    )
            elif name == "vers":
                ms, ls = struct.unpack("<II", self.r.read(chunk, 8)[:8])
                version = (ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF)
            elif name == "dlid":
                dlid = str(uuid.UUID(bytes_le=self.r.read(chunk, 16)[:16]))
            elif name == "colh":
                colh = int.from_bytes(self.r.read(chunk, 4)[:4], "little")
            elif name == "ptbl":
                self.cues = self.parse_ptbl(chunk)
            elif name == "lins" and chunk.is_list:
                lins = chunk
            elif name == "wvpl" and chunk.is_list:
                wvpl = chunk
            elif name == "INFO" and chunk.is_list:
                info = parse_info(self.r, chunk)
        if lins is None:
            raise self.r.error("no LIST 'lins' (instrument list)", "lins", root.offset)
        if wvpl is not None:
            self.parse_wave_pool(wvpl)
        instruments: dict[int, Instrument] = {}
        count = 0
        for chunk in self.r.children(lins):
            if chunk.form != "ins ":
                continue
            count += 1
            try:
                inst = self.parse_instrument(chunk)
            except BankError as error:
                self.skip(f"instrument {count - 1}", error)
                continue
            if inst is None:
                continue
            if inst.patch in instruments:
                self.warn(
                    f"duplicate patch {describe_patch(inst.patch)}; the first one is kept", chunk
                )
                continue
            instruments[inst.patch] = inst
        if colh is not None and colh != count:
            self.warn(f"colh says {colh} instruments, lins holds {count}")
        waves = [wave for channels in self.pool for wave in channels]
        return Bank(
            format="DLS",
            level=2 if self.level2 else 1,
            instruments=instruments,
            waves=waves,
            info=info,
            source=self.r.file,
            version=version,
            dlid=dlid,
            warnings=self.warnings,
        )

    def parse_ptbl(self, chunk: Chunk) -> list[int]:
        data = self.r.read(chunk, 8)
        cb_size, count = struct.unpack_from("<II", data)
        if cb_size < 8 or cb_size > len(data):
            raise self.r.error(f"ptbl cbSize {cb_size} is outside 8..{len(data)}", chunk)
        if count > (len(data) - cb_size) // 4:
            raise self.r.error(
                f"ptbl says {count} cues but holds room for {(len(data) - cb_size) // 4}", chunk
            )
        return list(struct.unpack_from(f"<{count}I", data, cb_size))

    # --- waves -----------------------------------------------------------------------------------
    def parse_wave_pool(self, wvpl: Chunk) -> None:
        base = wvpl.data_offset
        for chunk in self.r.children(wvpl):
            if chunk.form != "wave":
                continue
            index = len(self.pool)
            self.pool_offsets[chunk.offset - base] = index
            try:
                channels = self.parse_wave(chunk, index)
            except BankError as error:
                self.skip(f"pool wave {index}", error)
                channels = []  # regions that link to it are skipped in turn
            else:
                if channels and channels[0].frames == 0:
                    # what converters write for an SF2 ROM sample
                    self.warn(f"pool wave {index} holds no samples; skipped", chunk)
                    channels = []
            self.pool.append(channels)

    def parse_wave(self, wave: Chunk, index: int) -> list[Wave]:
        parts = by_name(self.r.children(wave))
        fmt = parts.get("fmt")
        data = parts.get("data")
        if fmt is None:
            raise self.r.error("wave has no 'fmt ' chunk", wave)
        if data is None:
            raise self.r.error("wave has no 'data' chunk", wave)
        bits, channels, rate, is_float = self.parse_format(fmt)
        raw = self.r.read(data)
        frame = channels * bits // 8
        if len(raw) % frame:
            self.warn(f"data ends in a partial frame ({len(raw) % frame} bytes dropped)", data)
        frames = pcm.decode(raw, bits, channels, is_float)
        del raw
        wsmp = self.parse_wsmp(parts["wsmp"]) if "wsmp" in parts else None
        name = parse_info(self.r, parts["INFO"]).get("INAM", "") if "INFO" in parts else ""
        out = []
        for ch in range(channels):
            samples = frames.reshape(-1) if channels == 1 else frames[:, ch].copy()
            out.append(Wave(samples, rate, wsmp, name, 32 if is_float else bits, index, ch))
        if wsmp is not None:
            out = [self.checked_wave(w, parts["wsmp"]) for w in out]
        return out

    def parse_format(self, fmt: Chunk) -> tuple[int, int, int, bool]:
        data = self.r.read(fmt, 14)
        tag, channels, rate, _avg, align = struct.unpack_from("<HHIIH", data)
        bits = struct.unpack_from("<H", data, 14)[0] if len(data) >= 16 else 0
        if tag == pcm.WAVE_FORMAT_EXTENSIBLE:
            if len(data) < 40:
                raise self.r.error("WAVE_FORMAT_EXTENSIBLE needs a 40-byte fmt chunk", fmt)
            tag = struct.unpack_from("<H", data, 24)[0]  # first field of the SubFormat GUID
        if tag not in (pcm.WAVE_FORMAT_PCM, pcm.WAVE_FORMAT_IEEE_FLOAT):
            raise self.r.error(f"unsupported wave format tag {tag:#06x} (PCM or float only)", fmt)
        if not 1 <= channels <= 16:
            raise self.r.error(f"{channels} channels (1..16 supported)", fmt)
        if not 1000 <= rate <= 384000:
            raise self.r.error(f"sample rate {rate} Hz is outside 1000..384000", fmt)
        if bits == 0 and align:
            bits = 8 * align // channels
        is_float = tag == pcm.WAVE_FORMAT_IEEE_FLOAT
        valid = (32, 64) if is_float else (8, 16, 24, 32)
        if bits not in valid:
            raise self.r.error(f"unsupported sample depth {bits} bits", fmt)
        if align != channels * bits // 8:
            self.warn(f"nBlockAlign {align} should be {channels * bits // 8}", fmt)
        return bits, channels, rate, is_float

    def parse_wsmp(self, chunk: Chunk) -> WaveSample:
        data = self.r.read(chunk, 20)
        cb_size, unity, fine, atten, options, count = struct.unpack_from("<IHhiII", data)
        if cb_size < 20:
            self.warn(f"wsmp cbSize {cb_size} is below 20; read as 20", chunk)
            cb_size = 20
        room = (len(data) - cb_size) // 16 if cb_size <= len(data) else 0
        if count > room:
            raise self.r.error(f"wsmp says {count} loops but holds room for {room}", chunk)
        if count > MAX_LOOPS:
            raise self.r.error(f"wsmp has {count} loops (at most {MAX_LOOPS})", chunk)
        if unity > 127:
            self.warn(f"unity note {unity} is above 127; clamped", chunk)
            unity = 127
        loops = []
        for i in range(count):
            _cb, kind, start, length = _WLOOP.unpack_from(data, cb_size + 16 * i)
            if kind not in (0, 1):
                self.warn(f"loop type {kind} is unknown; read as forward", chunk)
                kind = 0
            if kind == 1:
                self.level2 = True
            loops.append(Loop(kind, start, length))
        return WaveSample(unity, fine, atten, options, tuple(loops))

    def checked_loops(self, wsmp: WaveSample, frames: int, chunk: Chunk) -> WaveSample:
        """Drop or trim loops that do not fit the wave, as a synth would have to."""
        good = []
        for loop in wsmp.loops:
            if loop.length == 0 or loop.start >= frames:
                self.warn(
                    f"loop {loop.start}+{loop.length} is empty or starts past the wave's "
                    f"{frames} samples; dropped",
                    chunk,
                )
                continue
            if loop.end > frames:
                self.warn(
                    f"loop {loop.start}+{loop.length} runs past the wave's {frames} samples; "
                    "trimmed",
                    chunk,
                )
                loop = Loop(loop.type, loop.start, frames - loop.start)
            good.append(loop)
        if len(good) == len(wsmp.loops) and all(
            a == b for a, b in zip(good, wsmp.loops, strict=True)
        ):
            return wsmp
        return WaveSample(
            wsmp.unity_note, wsmp.fine_tune, wsmp.attenuation, wsmp.options, tuple(good)
        )

    def checked_wave(self, wave: Wave, chunk: Chunk) -> Wave:
        assert wave.wsmp is not None
        wave.wsmp = self.checked_loops(wave.wsmp, wave.frames, chunk)
        return wave

    # --- instruments -----------------------------------------------------------------------------
    def parse_instrument(self, ins: Chunk) -> Instrument | None:
        children = self.r.children(ins)
        header = None
        regions: list[Region] = []
        articulation: list[ConnectionBlock] = []
        name = ""
        lrgn = None
        for chunk in children:
            cname = chunk.name
            if cname == "cdl":
                if not self.condition(chunk):
                    return None
            elif cname == "insh":
                header = struct.unpack_from("<III", self.r.read(chunk, 12))
            elif cname == "lrgn" and chunk.is_list:
                lrgn = chunk
            elif cname in ("lart", "lar2") and chunk.is_list:
                articulation += self.parse_articulation_list(chunk)
            elif cname == "INFO" and chunk.is_list:
                name = parse_info(self.r, chunk).get("INAM", "")
        if header is None:
            raise self.r.error("instrument has no 'insh' header", ins)
        count, ul_bank, ul_instrument = header
        patch = patch_from_locale(ul_bank, ul_instrument)
        if ul_instrument > 127 or ul_bank & 0x7FFF_8080:
            self.warn(f"MIDILOCALE bank {ul_bank:#x} program {ul_instrument} has stray bits", ins)
        skipped = 0  # broken regions left out
        if lrgn is not None:
            for chunk in self.r.children(lrgn):
                if chunk.form in ("rgn ", "rgn2"):
                    try:
                        region = self.parse_region(chunk)
                    except BankError as error:
                        self.skip(f"region {skipped + len(regions)}", error)
                        skipped += 1
                        continue
                    if region is not None:
                        regions.append(region)
        if count != len(regions) + skipped:
            self.warn(f"insh says {count} regions, lrgn holds {len(regions) + skipped}", ins)
        if skipped and not regions:
            self.warn(
                f"instrument {describe_patch(patch)} has no region left to play; skipped", ins
            )
            return None
        return Instrument(patch, name, regions, tuple(articulation))

    def parse_region(self, rgn: Chunk) -> Region | None:
        if rgn.form == "rgn2":
            self.level2 = True
        header = wsmp = link = None
        fixed_key = fixed_velocity = -1
        private_flags = 0
        articulation: list[ConnectionBlock] = []
        for chunk in self.r.children(rgn):
            cname = chunk.name
            if cname == "cdl":
                if not self.condition(chunk):
                    return None
            elif cname == "rgnh":
                header = self.r.read(chunk, 12)
                header_chunk = chunk
            elif cname == "wsmp":
                wsmp = (self.parse_wsmp(chunk), chunk)
            elif cname == "wlnk":
                link = (struct.unpack_from("<HHII", self.r.read(chunk, 12)), chunk)
            elif cname in ("lart", "lar2") and chunk.is_list:
                articulation += self.parse_articulation_list(chunk)
            elif cname == PRIVATE_REGION_CHUNK:
                private = self.r.read(chunk, 4)
                fixed_key, fixed_velocity = struct.unpack_from("<hh", private)
                private_flags = struct.unpack_from("<H", private, 4)[0] if len(private) >= 6 else 0
                fixed_key = fixed_key if 0 <= fixed_key <= 127 else -1
                fixed_velocity = fixed_velocity if 0 <= fixed_velocity <= 127 else -1
        if header is None:
            raise self.r.error("region has no 'rgnh' header", rgn)
        if link is None:
            raise self.r.error("region has no 'wlnk' wave link", rgn)
        key_low, key_high, vel_low, vel_high, options, key_group = struct.unpack_from("<6H", header)
        layer = struct.unpack_from("<H", header, 12)[0] if len(header) >= 14 else 0
        if len(header) >= 14:
            self.level2 = True
        key_low, key_high = self.checked_range("key", key_low, key_high, header_chunk)
        if vel_low == vel_high == 0:
            vel_low, vel_high = 0, 127  # DLS1 files leave the unused velocity range zeroed
        vel_low, vel_high = self.checked_range("velocity", vel_low, vel_high, header_chunk)
        (link_options, phase_group, channel, table_index), link_chunk = link
        wave = self.resolve_wave(table_index, channel, link_chunk)
        region_wsmp = None
        if wsmp is not None:
            region_wsmp = self.checked_loops(wsmp[0], wave.frames, wsmp[1])
        return Region(
            key_low,
            key_high,
            vel_low,
            vel_high,
            wave,
            options=options,
            key_group=key_group,
            layer=layer,
            wave_link=WaveLink(link_options, phase_group, channel),
            wsmp=region_wsmp,
            articulation=tuple(articulation),
            fixed_key=fixed_key,
            fixed_velocity=fixed_velocity,
            sf2_shapes=bool(private_flags & DMSX_SF2_SHAPES),
        )

    def checked_range(self, what: str, low: int, high: int, chunk: Chunk) -> tuple[int, int]:
        if high > 127:
            self.warn(f"{what} range top {high} is above 127; clamped", chunk)
            high = 127
        if low > high:
            raise self.r.error(f"{what} range {low}..{high} is empty", chunk)
        return low, high

    def resolve_wave(self, table_index: int, channel: int, chunk: Chunk) -> Wave:
        if self.cues is not None:
            if table_index >= len(self.cues):
                raise self.r.error(
                    f"wave link index {table_index} is past the {len(self.cues)}-entry pool table",
                    chunk,
                )
            offset = self.cues[table_index]
            if offset == POOL_CUE_NULL or offset not in self.pool_offsets:
                raise self.r.error(
                    f"pool table entry {table_index} (offset {offset}) is not a wave in wvpl", chunk
                )
            index = self.pool_offsets[offset]
        else:
            index = table_index  # no ptbl: files written without one index waves in order
            if index >= len(self.pool):
                raise self.r.error(
                    f"wave link index {table_index} is past the {len(self.pool)} pool waves", chunk
                )
        channels = self.pool[index]
        if not channels:
            raise self.r.error(f"wave link names pool wave {index}, which was skipped", chunk)
        if len(channels) == 1:
            return channels[0]
        bit = (channel & -channel).bit_length() - 1 if channel else 0
        if bit >= len(channels):
            raise self.r.error(
                f"wave link channel mask {channel:#x} is outside the wave's "
                f"{len(channels)} channels",
                chunk,
            )
        return channels[bit]

    # --- articulation ----------------------------------------------------------------------------
    def parse_articulation_list(self, lart: Chunk) -> list[ConnectionBlock]:
        if lart.form == "lar2":
            self.level2 = True
        out: list[ConnectionBlock] = []
        for chunk in self.r.children(lart):
            cname = chunk.name
            if cname == "cdl":
                if not self.condition(chunk):
                    return []
            elif cname in ("art1", "art2"):
                out += self.parse_connections(chunk)
        return out

    def parse_connections(self, chunk: Chunk) -> list[ConnectionBlock]:
        data = self.r.read(chunk, 8)
        cb_size, count = struct.unpack_from("<II", data)
        if cb_size < 8 or cb_size > len(data):
            raise self.r.error(f"{chunk.name} cbSize {cb_size} is outside 8..{len(data)}", chunk)
        room = (len(data) - cb_size) // _CONNECTION.size
        if count > room:
            raise self.r.error(f"{chunk.name} says {count} connections, room for {room}", chunk)
        body = memoryview(data)[cb_size : cb_size + count * _CONNECTION.size]
        art2 = chunk.name == "art2"
        self.level2 |= art2
        out = []
        for i, fields in enumerate(_CONNECTION.iter_unpack(body)):
            if fields[2] not in DESTINATIONS:
                self.warn(
                    f"connection {i} has unknown destination {fields[2]:#06x}; skipped",
                    chunk,
                    chunk.data_offset + cb_size + i * _CONNECTION.size,
                )
                continue
            out.append(ConnectionBlock(*fields) if art2 else from_art1(*fields))
        return out


def read_dls(reader: RiffReader, caps: Capabilities = DEFAULT_CAPABILITIES) -> Bank:
    """Parse a DLS collection from an open reader."""
    return _DlsParser(reader, caps).parse()


def load_dls(path: str | os.PathLike[str], caps: Capabilities = DEFAULT_CAPABILITIES) -> Bank:
    """Parse a DLS file."""
    with RiffReader.open(path) as reader:
        return read_dls(reader, caps)


def parse_dls_bytes(
    data: bytes, name: str = "<buffer>", caps: Capabilities = DEFAULT_CAPABILITIES
) -> Bank:
    """Parse a DLS collection held in memory (tests, fuzzing, embedded banks)."""
    return read_dls(RiffReader.from_bytes(data, name), caps)


__all__ = ["BankError", "load_dls", "parse_dls_bytes", "read_dls"]
