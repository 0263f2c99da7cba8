"""SoundFont 2 and 3 files -> the raw hydra (presets, instruments, zones, samples).

RIFF 'sfbk' holds LIST INFO (ifil, INAM, ICOP, ...), LIST sdta (smpl 16-bit samples, optional
sm24 low bytes) and LIST pdta, the "hydra" of nine record arrays: phdr/pbag/pmod/pgen for
presets, inst/ibag/imod/igen for instruments, and shdr for sample headers. Records are read
with numpy structured dtypes; every bag, generator and modulator index is checked against the
array it points into before use.

SF3 (MuseScore's compressed SoundFont, ifil major 3) stores each sample as an Ogg Vorbis stream:
shdr start/end are then byte offsets into smpl, and loop points are relative to the decoded
sample. Sample data becomes float32 (16-bit, or 24-bit with sm24) converted block by block from
the file, so peak memory stays near the size of the float data itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from dmusd.banks.model import Loop, Wave, WaveSample
from dmusd.banks.riff import Chunk, RiffReader, by_name, parse_info
from dmusd.errors import bank_location

SF_SAMPLE_MONO = 1
SF_SAMPLE_RIGHT = 2
SF_SAMPLE_LEFT = 4
SF_SAMPLE_LINKED = 8
SF_SAMPLE_VORBIS = 0x10  # SF3: the sample is an Ogg Vorbis stream
SF_SAMPLE_ROM = 0x8000

GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_VEL_RANGE = 44
GEN_SAMPLE_ID = 53

_PHDR = np.dtype(
    [
        ("name", "S20"),
        ("preset", "<u2"),
        ("bank", "<u2"),
        ("bag", "<u2"),
        ("library", "<u4"),
        ("genre", "<u4"),
        ("morphology", "<u4"),
    ]
)
_BAG = np.dtype([("gen", "<u2"), ("mod", "<u2")])
_MOD = np.dtype(
    [("src", "<u2"), ("dest", "<u2"), ("amount", "<i2"), ("amt_src", "<u2"), ("trans", "<u2")]
)
_GEN = np.dtype([("oper", "<u2"), ("amount", "<u2")])
_INST = np.dtype([("name", "S20"), ("bag", "<u2")])
_SHDR = np.dtype(
    [
        ("name", "S20"),
        ("start", "<u4"),
        ("end", "<u4"),
        ("loop_start", "<u4"),
        ("loop_end", "<u4"),
        ("rate", "<u4"),
        ("pitch", "u1"),
        ("correction", "i1"),
        ("link", "<u2"),
        ("type", "<u2"),
    ]
)
_BLOCK = 1 << 16  # samples converted per block: small temporaries, few calls


@dataclass(slots=True, frozen=True)
class Modulator:
    """sfModList: source, destination generator, amount, amount source, transform."""

    src: int
    dest: int
    amount: int
    amt_src: int
    trans: int

    @property
    def identity(self) -> tuple[int, int, int, int]:
        """SF2 9.5.1: modulators are identical when all but the amount match."""
        return (self.src, self.dest, self.amt_src, self.trans)


@dataclass(slots=True)
class Zone:
    """One bag: generators by operator (raw 16-bit amounts; ranges as (lo, hi)), modulators, and
    the terminal link (instrument index for preset zones, sample index for instrument zones)."""

    generators: dict[int, int]
    modulators: list[Modulator]
    key_range: tuple[int, int] | None = None
    vel_range: tuple[int, int] | None = None
    link: int | None = None
    path: str = ""
    offset: int | None = None  # file offset of the zone's bag record


@dataclass(slots=True)
class SfPreset:
    name: str
    preset: int
    bank: int
    global_zone: Zone | None
    zones: list[Zone]
    path: str
    offset: int | None = None  # file offset of the phdr record


@dataclass(slots=True)
class SfInstrument:
    name: str
    global_zone: Zone | None
    zones: list[Zone]
    path: str
    offset: int | None = None  # file offset of the inst record


@dataclass(slots=True)
class SoundFont:
    """The parsed hydra. `waves[i]` is the Wave of sample header i, or None when that sample is
    unusable (the reason is in `warnings`)."""

    format: str  # "SF2" or "SF3"
    version: tuple[int, int]
    info: dict[str, str]
    presets: list[SfPreset]
    instruments: list[SfInstrument]
    waves: list[Wave | None]
    warnings: list[str] = field(default_factory=list)
    sample_bits: int = 16
    file: str = ""

    def warn(self, where: str, message: str, offset: int | None = None) -> None:
        """A located warning: `file: chunk path: offset N: message`."""
        self.warnings.append(f"{bank_location(self.file, where, offset)}: {message}")


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


class _Sf2Parser:
    def __init__(self, reader: RiffReader) -> None:
        self.r = reader
        self.warnings: list[str] = []
        self.records: dict[str, Chunk] = {}  # the hydra's chunks, to say where a record is

    def warn(self, where: str, message: str, offset: int | None = None) -> None:
        self.warnings.append(f"{bank_location(self.r.file, where, offset)}: {message}")

    def record_offset(self, name: str, index: int, size: int) -> int | None:
        chunk = self.records.get(name)
        return None if chunk is None else chunk.data_offset + index * size

    def parse(self) -> SoundFont:
        root = self.r.root("sfbk")
        lists = {c.form.rstrip(): c for c in self.r.children(root) if c.is_list}
        for name in ("INFO", "sdta", "pdta"):
            if name not in lists:
                raise self.r.error(f"no LIST '{name}'", name, 0)
        info_chunks = by_name(self.r.children(lists["INFO"]))
        if "ifil" not in info_chunks:
            raise self.r.error("no 'ifil' version chunk", "INFO/ifil", lists["INFO"].offset)
        major, minor = np.frombuffer(self.r.read(info_chunks["ifil"], 4)[:4], "<u2").tolist()
        info = parse_info(self.r, lists["INFO"])
        info.pop("ifil", None)
        info.pop("iver", None)
        if major not in (2, 3):
            raise self.r.error(
                f"SoundFont version {major}.{minor} (2.x or 3.x supported)", "INFO/ifil"
            )
        hydra = self.parse_hydra(lists["pdta"])
        instruments = self.parse_instruments(hydra)
        presets = self.parse_presets(hydra, len(instruments))
        shdr = hydra["shdr"][:-1]
        compressed = bool(len(shdr)) and bool((shdr["type"] & SF_SAMPLE_VORBIS).any())
        sdta = by_name(self.r.children(lists["sdta"]))
        waves, bits = self.parse_samples(shdr, sdta, compressed or major == 3)
        return SoundFont(
            "SF3" if compressed or major == 3 else "SF2",
            (major, minor),
            info,
            presets,
            instruments,
            waves,
            self.warnings,
            bits,
            self.r.file,
        )

    # --- hydra -----------------------------------------------------------------------------------
    def parse_hydra(self, pdta: Chunk) -> dict[str, np.ndarray]:
        chunks = by_name(self.r.children(pdta))
        self.records = chunks
        out = {}
        for name, dtype in (
            ("phdr", _PHDR),
            ("pbag", _BAG),
            ("pmod", _MOD),
            ("pgen", _GEN),
            ("inst", _INST),
            ("ibag", _BAG),
            ("imod", _MOD),
            ("igen", _GEN),
            ("shdr", _SHDR),
        ):
            chunk = chunks.get(name)
            if chunk is None:
                raise self.r.error(f"no '{name}' chunk", f"pdta/{name}", pdta.offset)
            if chunk.data_size % dtype.itemsize:
                raise self.r.error(
                    f"'{name}' is {chunk.data_size} bytes, not a multiple of its "
                    f"{dtype.itemsize}-byte records",
                    chunk,
                )
            if chunk.data_size < dtype.itemsize:
                raise self.r.error(f"'{name}' lacks its terminal record", chunk)
            out[name] = np.frombuffer(self.r.read(chunk), dtype=dtype)
        return out

    def bag_ranges(self, starts: np.ndarray, bags: np.ndarray, what: str) -> list[range]:
        """Bag index ranges of each header (the terminal header closes the last range)."""
        starts = starts.astype(np.int64)
        if (np.diff(starts) < 0).any():
            bad = int(np.argmax(np.diff(starts) < 0))
            raise self.r.error(
                f"{what}[{bad + 1}] bag index goes backwards", f"pdta/{what}[{bad + 1}]"
            )
        if len(starts) and starts[-1] > len(bags) - 1:
            raise self.r.error(
                f"bag index {starts[-1]} is past the {len(bags) - 1} bags",
                f"pdta/{what}[{len(starts) - 1}]",
            )
        return [range(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True)]

    def zones(
        self,
        bags: np.ndarray,
        gens: np.ndarray,
        mods: np.ndarray,
        indices: range,
        kind: str,
        path: str,
    ) -> list[Zone]:
        g_idx = bags["gen"].astype(np.int64)
        m_idx = bags["mod"].astype(np.int64)
        out = []
        for b in indices:
            g0, g1, m0, m1 = g_idx[b], g_idx[b + 1], m_idx[b], m_idx[b + 1]
            zpath = f"{path}/zone[{b - indices.start}]"
            if g1 < g0 or g1 > len(gens) - 1 + 1 or m1 < m0 or m1 > len(mods):
                raise self.r.error(
                    f"bag {b} points at generators {g0}..{g1} / modulators {m0}..{m1}, outside "
                    f"{len(gens)} / {len(mods)}",
                    zpath,
                )
            zone = Zone({}, [], path=zpath, offset=self.record_offset(f"{kind}bag", b, 4))
            for oper, amount in gens[g0:g1].tolist():
                if zone.link is not None:
                    break  # generators after the terminal one are ignored (SF2 8.1.3)
                if oper == GEN_KEY_RANGE:
                    zone.key_range = (amount & 0xFF, amount >> 8)
                elif oper == GEN_VEL_RANGE:
                    zone.vel_range = (amount & 0xFF, amount >> 8)
                elif oper == (GEN_INSTRUMENT if kind == "p" else GEN_SAMPLE_ID):
                    zone.link = amount
                else:
                    zone.generators[oper] = amount
            zone.modulators = [Modulator(*row) for row in mods[m0:m1].tolist()]
            out.append(zone)
        return out

    def split_global(self, zones: list[Zone], path: str) -> tuple[Zone | None, list[Zone]]:
        """The first zone without a terminal generator is global; later ones are ignored."""
        global_zone = None
        if zones and zones[0].link is None:
            global_zone = zones[0]
            zones = zones[1:]
        kept = []
        for zone in zones:
            if zone.link is None:
                self.warn(zone.path, "zone without an instrument/sample is ignored", zone.offset)
            else:
                kept.append(zone)
        return global_zone, kept

    def parse_instruments(self, h: dict[str, np.ndarray]) -> list[SfInstrument]:
        inst, ibag, igen, imod = h["inst"], h["ibag"], h["igen"], h["imod"]
        ranges = self.bag_ranges(inst["bag"], ibag, "inst")
        out = []
        for i, indices in enumerate(ranges):
            path = f"pdta/inst[{i}]"
            g, zones = self.split_global(self.zones(ibag, igen, imod, indices, "i", path), path)
            offset = self.record_offset("inst", i, _INST.itemsize)
            out.append(SfInstrument(_name(inst["name"][i]), g, zones, path, offset))
        return out

    def parse_presets(self, h: dict[str, np.ndarray], n_instruments: int) -> list[SfPreset]:
        phdr, pbag, pgen, pmod = h["phdr"], h["pbag"], h["pgen"], h["pmod"]
        ranges = self.bag_ranges(phdr["bag"], pbag, "phdr")
        out = []
        for i, indices in enumerate(ranges):
            path = f"pdta/phdr[{i}]"
            g, zones = self.split_global(self.zones(pbag, pgen, pmod, indices, "p", path), path)
            good = []
            for zone in zones:
                if zone.link is not None and zone.link >= n_instruments:
                    self.warn(
                        zone.path,
                        f"instrument index {zone.link} is past {n_instruments}; zone skipped",
                        zone.offset,
                    )
                else:
                    good.append(zone)
            row = phdr[i]
            offset = self.record_offset("phdr", i, _PHDR.itemsize)
            name, number, bank = _name(row["name"]), int(row["preset"]), int(row["bank"])
            out.append(SfPreset(name, number, bank, g, good, path, offset))
        return out

    # --- samples ---------------------------------------------------------------------------------
    def parse_samples(
        self, shdr: np.ndarray, sdta: dict[str, Chunk], compressed: bool
    ) -> tuple[list[Wave | None], int]:
        smpl = sdta.get("smpl")
        if smpl is None:
            if len(shdr):
                raise self.r.error("no 'smpl' chunk", "sdta/smpl")
            return [], 16
        if compressed:
            return [self.vorbis_wave(i, row, smpl) for i, row in enumerate(shdr)], 16
        data, bits = self.pcm_samples(smpl, sdta.get("sm24"))
        return [self.pcm_wave(i, row, data, bits) for i, row in enumerate(shdr)], bits

    def pcm_samples(self, smpl: Chunk, sm24: Chunk | None) -> tuple[np.ndarray, int]:
        """smpl (+ sm24) -> one float32 array, converted in blocks straight from the file."""
        count = smpl.data_size // 2
        out = np.empty(count, dtype=np.float32)
        use24 = sm24 is not None and sm24.data_size in (count, count + (count & 1))
        if sm24 is not None and not use24:
            self.warn(
                "sdta/sm24",
                f"size {sm24.data_size} does not match {count} samples; ignored",
                sm24.offset,
            )
        buffer = bytearray(_BLOCK * 2)
        low = bytearray(_BLOCK) if use24 else None
        for start in range(0, count, _BLOCK):
            n = min(_BLOCK, count - start)
            view = memoryview(buffer)[: n * 2]
            self.r.readinto(smpl.data_offset + start * 2, view, smpl)
            block = out[start : start + n]
            if low is not None and sm24 is not None:
                lview = memoryview(low)[:n]
                self.r.readinto(sm24.data_offset + start, lview, sm24)
                value = np.frombuffer(view, "<i2").astype(np.int32) << 8
                value |= np.frombuffer(lview, np.uint8)
                np.multiply(value, np.float32(1.0 / 8388608.0), out=block, dtype=np.float32)
            else:
                # float32 all the way: no float64 temporary the size of the block
                np.multiply(
                    np.frombuffer(view, "<i2"),
                    np.float32(1.0 / 32768.0),
                    out=block,
                    dtype=np.float32,
                )
        return out, 24 if use24 else 16

    def sample_wsmp(
        self, row: np.void, frames: int, loop_start: int, loop_end: int, where: str, at: int | None
    ) -> WaveSample:
        pitch = int(row["pitch"])
        if pitch > 127:
            pitch = 60  # 255 = unpitched; anything else above 127 is invalid
        loops: tuple[Loop, ...] = ()
        if 0 <= loop_start < loop_end <= frames:
            loops = (Loop(0, loop_start, loop_end - loop_start),)
        elif loop_end != loop_start:
            self.warn(
                where,
                f"loop {loop_start}..{loop_end} lies outside the {frames} samples; ignored",
                at,
            )
        return WaveSample(pitch, int(row["correction"]), 0, 0, loops)

    def usable(self, i: int, row: np.void, where: str, at: int | None) -> bool:
        """A sample that cannot play is a broken item: its zones are skipped (sf2_mapping)."""
        if int(row["type"]) & SF_SAMPLE_ROM:
            self.warn(where, f"sample {i} is a ROM sample (no data in the file); skipped", at)
            return False
        if int(row["rate"]) < 400 or int(row["rate"]) > 384000:
            self.warn(where, f"sample {i} has a rate of {int(row['rate'])} Hz; skipped", at)
            return False
        if int(row["start"]) == int(row["end"]):
            self.warn(where, f"sample {i} is empty (start = end); skipped", at)
            return False
        return True

    def pcm_wave(self, i: int, row: np.void, data: np.ndarray, bits: int) -> Wave | None:
        where, at = f"pdta/shdr[{i}]", self.record_offset("shdr", i, _SHDR.itemsize)
        if not self.usable(i, row, where, at):
            return None
        start, end = int(row["start"]), int(row["end"])
        if not start < end <= len(data):
            self.warn(
                where, f"sample {start}..{end} lies outside the {len(data)} of smpl; skipped", at
            )
            return None
        frames = end - start
        wsmp = self.sample_wsmp(
            row, frames, int(row["loop_start"]) - start, int(row["loop_end"]) - start, where, at
        )
        return Wave(data[start:end], int(row["rate"]), wsmp, _name(row["name"]), bits, i)

    def vorbis_wave(self, i: int, row: np.void, smpl: Chunk) -> Wave | None:
        where, at = f"pdta/shdr[{i}]", self.record_offset("shdr", i, _SHDR.itemsize)
        if not self.usable(i, row, where, at):
            return None
        start, end = int(row["start"]), int(row["end"])
        if not int(row["type"]) & SF_SAMPLE_VORBIS:
            # An SF3 may still hold plain 16-bit samples; their offsets are then in samples.
            if not start < end <= smpl.data_size // 2:
                self.warn(where, f"sample {start}..{end} lies outside smpl; skipped", at)
                return None
            raw = self.r.read_at(smpl.data_offset + start * 2, (end - start) * 2, smpl)
            samples = np.frombuffer(raw, "<i2").astype(np.float32) * (1.0 / 32768.0)
        else:
            if not start < end <= smpl.data_size:
                self.warn(
                    where,
                    f"Ogg stream {start}..{end} lies outside the {smpl.data_size}-byte smpl; "
                    "skipped",
                    at,
                )
                return None
            samples = self.decode_vorbis(
                self.r.read_at(smpl.data_offset + start, end - start, smpl), where, at
            )
            if samples is None:
                return None
        wsmp = self.sample_wsmp(
            row, len(samples), int(row["loop_start"]), int(row["loop_end"]), where, at
        )
        return Wave(samples, int(row["rate"]), wsmp, _name(row["name"]), 16, i)

    def decode_vorbis(self, raw: bytes, where: str, at: int | None) -> np.ndarray | None:
        import soundfile

        try:
            with soundfile.SoundFile(io.BytesIO(raw)) as f:
                frames = f.frames
                # Vorbis cannot be smaller than ~1 byte per 400 frames; a header that claims
                # more is lying, and we refuse to allocate on its word.
                if frames <= 0 or frames > 2000 * len(raw) + 48000:
                    self.warn(
                        where,
                        f"Ogg stream claims {frames} frames for {len(raw)} bytes; skipped",
                        at,
                    )
                    return None
                data = f.read(frames, dtype="float32", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError, ValueError, TypeError) as error:
            self.warn(where, f"cannot decode Ogg Vorbis sample: {error}; skipped", at)
            return None
        if data.shape[0] == 0:
            self.warn(where, "Ogg Vorbis sample decodes to nothing; skipped", at)
            return None
        return np.ascontiguousarray(data[:, 0])


def read_soundfont(reader: RiffReader) -> SoundFont:
    """Parse the hydra and samples of an SF2/SF3 file from an open reader."""
    return _Sf2Parser(reader).parse()
