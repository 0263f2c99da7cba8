"""The instrument model -> a DLS Level 1 or Level 2 file.

Level 2 keeps everything the model holds: rgn2 with usLayer, art2 connection lists, release
loops, multichannel wave links. The two SF2 extras DLS has no field for (fixed key and fixed
velocity) go into a private region chunk 'dmsx' that other readers skip and ours reads back.
Level 1 drops what DLS1 cannot say (DLS2-only connections, release loop type, layer) and lists
each loss in `DlsWriter.notes`.

The building blocks (wave, region, instrument chunks) are public so tests can assemble files
with conditional chunks and odd layouts.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections.abc import Iterable

import numpy as np

from dmusd.banks import pcm
from dmusd.banks.articulation import merge, to_art1
from dmusd.banks.connection import ConnectionBlock
from dmusd.banks.dls_reader import PRIVATE_REGION_CHUNK
from dmusd.banks.model import (
    DMSX_SF2_SHAPES,
    WAVELINK_CHANNEL_LEFT,
    WLOOP_TYPE_FORWARD,
    Bank,
    Instrument,
    Region,
    Wave,
    WaveSample,
    locale_from_patch,
)
from dmusd.banks.riff import chunk_bytes, info_list, list_bytes, riff_bytes
from dmusd.io.atomic_file import write_atomically


# --- building blocks -----------------------------------------------------------------------------
def wsmp_chunk(wsmp: WaveSample, level: int = 2) -> bytes:
    loops = wsmp.loops if level >= 2 else tuple(loop for loop in wsmp.loops[:1])
    body = struct.pack(
        "<IHhiII", 20, wsmp.unity_note, wsmp.fine_tune, wsmp.attenuation, wsmp.options, len(loops)
    )
    for loop in loops:
        kind = loop.type if level >= 2 else WLOOP_TYPE_FORWARD
        body += struct.pack("<IIII", 16, kind, loop.start, loop.length)
    return chunk_bytes("wsmp", body)


def connections_chunk(blocks: Iterable[ConnectionBlock], cid: str = "art2") -> bytes:
    blocks = list(blocks)
    body = struct.pack("<II", 8, len(blocks)) + b"".join(
        struct.pack("<HHHHi", b.source, b.control, b.destination, b.transform, b.scale)
        for b in blocks
    )
    return chunk_bytes(cid, body)


def articulation_list(
    blocks: Iterable[ConnectionBlock], level: int = 2, cdl: bytes | None = None
) -> bytes:
    blocks = list(blocks)
    if not blocks:
        return b""
    head = [chunk_bytes("cdl ", cdl)] if cdl is not None else []
    if level >= 2:
        return list_bytes("lar2", [*head, connections_chunk(blocks, "art2")])
    return list_bytes("lart", [*head, connections_chunk(blocks, "art1")])


def wave_chunk(channels: list[Wave], level: int = 2) -> bytes:
    """LIST 'wave' for one pool entry (one Wave per channel, interleaved in the data chunk)."""
    first = channels[0]
    bits = first.bits if first.bits in (8, 16, 24, 32) else 16
    count = len(channels)
    if count == 1:
        interleaved = first.samples
    else:
        interleaved = np.stack([w.samples for w in channels], axis=1)
    align = count * bits // 8
    fmt = struct.pack(
        "<HHIIHHH",
        pcm.format_tag_for(bits),
        count,
        first.sample_rate,
        first.sample_rate * align,
        align,
        bits,
        0,
    )
    parts = [chunk_bytes("fmt ", fmt)]
    if first.wsmp is not None:
        parts.append(wsmp_chunk(first.wsmp, level))
    parts.append(chunk_bytes("data", pcm.encode(interleaved, bits)))
    if first.name:
        parts.append(info_list({"INAM": first.name}))
    return list_bytes("wave", parts)


def region_chunk(
    region: Region,
    table_index: int,
    channel: int | None = None,
    level: int = 2,
    cdl: bytes | None = None,
) -> bytes:
    """LIST 'rgn2' (or 'rgn ' at Level 1). `channel` overrides the wave link's channel mask."""
    link = region.wave_link
    rgnh = struct.pack(
        "<6H",
        region.key_low,
        region.key_high,
        region.vel_low,
        region.vel_high,
        region.options,
        region.key_group,
    )
    if level >= 2:
        rgnh += struct.pack("<H", region.layer)
    parts = [chunk_bytes("cdl ", cdl)] if cdl is not None else []
    parts.append(chunk_bytes("rgnh", rgnh))
    if region.wsmp is not None:
        parts.append(wsmp_chunk(region.wsmp, level))
    mask = link.channel if channel is None else channel
    parts.append(
        chunk_bytes("wlnk", struct.pack("<HHII", link.options, link.phase_group, mask, table_index))
    )
    if level >= 2 and (region.fixed_key >= 0 or region.fixed_velocity >= 0 or region.sf2_shapes):
        flags = DMSX_SF2_SHAPES if region.sf2_shapes else 0
        private = struct.pack("<hhH", region.fixed_key, region.fixed_velocity, flags)
        parts.append(chunk_bytes(PRIVATE_REGION_CHUNK, private))
    parts.append(articulation_list(region.articulation, level))
    return list_bytes("rgn2" if level >= 2 else "rgn ", parts)


def instrument_chunk(
    instrument: Instrument, regions: list[bytes], level: int = 2, cdl: bytes | None = None
) -> bytes:
    ul_bank, ul_instrument = locale_from_patch(instrument.patch)
    parts = [chunk_bytes("cdl ", cdl)] if cdl is not None else []
    parts += [
        chunk_bytes("insh", struct.pack("<III", len(regions), ul_bank, ul_instrument)),
        list_bytes("lrgn", regions),
        articulation_list(instrument.articulation, level),
        info_list({"INAM": instrument.name}),
    ]
    return list_bytes("ins ", parts)


def collection(
    instruments: list[bytes],
    waves: list[bytes],
    info: dict[str, str] | None = None,
    version: tuple[int, int, int, int] | None = None,
    cdl: bytes | None = None,
) -> bytes:
    """RIFF 'DLS ' from finished instrument and wave chunks (pool table computed here)."""
    offsets, pos = [], 0
    for wave in waves:
        offsets.append(pos)
        pos += len(wave)
    parts = []
    if version is not None:
        ms = version[0] << 16 | version[1]
        ls = version[2] << 16 | version[3]
        parts.append(chunk_bytes("vers", struct.pack("<II", ms, ls)))
    if cdl is not None:
        parts.append(chunk_bytes("cdl ", cdl))
    parts += [
        chunk_bytes("colh", struct.pack("<I", len(instruments))),
        list_bytes("lins", instruments),
        chunk_bytes("ptbl", struct.pack(f"<II{len(offsets)}I", 8, len(offsets), *offsets)),
        list_bytes("wvpl", waves),
        info_list(info or {}),
    ]
    return riff_bytes("DLS ", parts)


# --- whole banks ---------------------------------------------------------------------------------
class DlsWriter:
    """Lays a Bank out as a DLS file: the wave pool (stereo pool waves regrouped), then the
    instruments with wave links rewritten to pool indices."""

    def __init__(self, bank: Bank, level: int = 2) -> None:
        if level not in (1, 2):
            raise ValueError("DLS level is 1 or 2")
        self.bank = bank
        self.level = level
        self.notes: list[str] = []
        self.pool: list[list[Wave]] = []
        self.where: dict[int, tuple[int, int]] = {}  # id(wave) -> (pool index, channel)

    def _add_wave(self, wave: Wave) -> None:
        if id(wave) in self.where:
            return
        if wave.pool_index >= 0:
            # A channel of a multichannel pool wave joins its siblings when they line up.
            for index, entry in enumerate(self.pool):
                head = entry[0]
                if (
                    head.pool_index == wave.pool_index
                    and wave.channel == len(entry)
                    and head.frames == wave.frames
                    and head.sample_rate == wave.sample_rate
                    and head.bits == wave.bits
                    and head.wsmp == wave.wsmp
                ):
                    entry.append(wave)
                    self.where[id(wave)] = (index, wave.channel)
                    return
        self.where[id(wave)] = (len(self.pool), 0)
        self.pool.append([wave])

    def layout(self) -> None:
        for wave in self.bank.waves:
            if wave.channel == 0 or wave.pool_index < 0:
                self._add_wave(wave)
        for wave in self.bank.waves:
            self._add_wave(wave)
        for inst in self.bank.instruments.values():
            for region in inst.regions:
                self._add_wave(region.wave)

    def region(self, region: Region, instrument: Instrument) -> bytes:
        index, channel = self.where[id(region.wave)]
        if region.articulation and instrument.articulation:
            # Readers differ: dmusd (and Wine) apply the instrument's list, then the region's;
            # FluidSynth 2.6 (fluid_dls.cpp) plays a region with its own list from that list
            # alone. A region's list that holds the instrument's too plays alike in both.
            region = dataclasses.replace(
                region, articulation=tuple(merge(instrument.articulation, region.articulation))
            )
        mask = 1 << channel if len(self.pool[index]) > 1 else None
        if self.level == 1:
            self._level1_losses(region)
            region = self._level1_region(region)
            if mask is not None and mask != WAVELINK_CHANNEL_LEFT:
                self.notes.append("a stereo region's right channel has no DLS1 form; kept as is")
        return region_chunk(region, index, mask, self.level)

    def _level1_losses(self, region: Region) -> None:
        if region.layer:
            self.notes.append("region layers are dropped (DLS1 has no usLayer)")
        if region.fixed_key >= 0 or region.fixed_velocity >= 0:
            self.notes.append("fixed key/velocity are dropped (no DLS form)")
        if region.sf2_shapes:
            self.notes.append("SF2's triangle LFOs and convex EG2 attack become DLS's shapes")

    def _level1_region(self, region: Region) -> Region:
        blocks = self._level1_blocks(region.articulation)
        return Region(
            region.key_low,
            region.key_high,
            region.vel_low,
            region.vel_high,
            region.wave,
            region.options,
            region.key_group,
            0,
            region.wave_link,
            region.wsmp,
            blocks,
        )

    def _level1_blocks(self, blocks: tuple[ConnectionBlock, ...]) -> tuple[ConnectionBlock, ...]:
        out = []
        for block in blocks:
            art1 = to_art1(block)
            if art1 is None:
                self.notes.append(
                    f"connection {block.source:#x}->{block.destination:#x} has no DLS1 form; "
                    "dropped"
                )
            else:
                out.append(art1)
        return tuple(out)

    def write(self) -> bytes:
        self.layout()
        waves = [wave_chunk(entry, self.level) for entry in self.pool]
        instruments = []
        for inst in self.bank.instruments.values():
            regions = [self.region(region, inst) for region in inst.regions]
            if self.level == 1:
                inst = Instrument(
                    inst.patch, inst.name, inst.regions, self._level1_blocks(inst.articulation)
                )
            instruments.append(instrument_chunk(inst, regions, self.level))
        info = dict(self.bank.info)
        info.setdefault("ISFT", "dmusd")
        version = self.bank.version if self.bank.format == "DLS" else None  # not an SF2's
        return collection(instruments, waves, info, version)


def dls_bytes(bank: Bank, level: int = 2) -> bytes:
    """A whole bank as DLS file bytes."""
    return DlsWriter(bank, level).write()


def save_dls(bank: Bank, path: str | os.PathLike[str], level: int = 2) -> list[str]:
    """Write a bank as a DLS file (atomically: a temporary file renamed into place; a file that
    cannot be written is an OutputError saying why). Returns the notes about anything the
    chosen level could not express."""
    writer = DlsWriter(bank, level)
    write_atomically(path, writer.write())
    return sorted(set(writer.notes))
