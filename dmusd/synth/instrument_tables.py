"""The instrument and region tables the compiled pin call reads, built off the audio thread.

A download (or a fixed bank given to a pin) changes what the channels can play; the stream then
builds new tables here, on the thread that made the change, and the audio thread picks them up
at its next block boundary. Everything a note-on needs is prepared now, once per region rather
than per note: the wave's place in the engine's sample pool, its loop, pitch and level, and the
region's effective connection blocks (DLS2 defaults, then the instrument's global articulation,
then the region's) as engine rows. A region that is one side of a stereo wave-link pair gets one
more absolute PAN connection that places it hard left or right, as SF2's pan generator does.

Per instrument the prepared rows are kept (`TableBuilder`), so a bank downloaded one instrument
at a time costs one preparation per instrument, and a new table is a concatenation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dmusd.banks.articulation import effective_connections
from dmusd.banks.connection import CONN_DST_PAN, connection
from dmusd.banks.model import WLOOP_TYPE_FORWARD, WLOOP_TYPE_RELEASE, Instrument, Region, Wave
from dmusd.banks.units import percent
from dmusd.synth.engine import Engine
from dmusd.synth.engine import layout as L
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.connections import connections_array, engine_rows
from dmusd.synth.engine.engine import key_pitch_rows

_LOOP_TYPES = {WLOOP_TYPE_FORWARD: L.LOOP_FORWARD, WLOOP_TYPE_RELEASE: L.LOOP_RELEASE}
_HARD_PAN = percent(50.0)  # +-500 in 0.1 % units: the edge of the DLS pan range


class InstrumentSource(Protocol):
    """What instruments come from: a loaded Bank, or a download manager's InstrumentTable."""

    instruments: Mapping[int, Instrument]

    def find(self, patch: int) -> Instrument | None: ...


@dataclass(slots=True, frozen=True)
class InstrumentTables:
    """One generation of a pin's instruments, as the compiled call reads them (`arrays`), and
    the model objects its rows stand for (for inspection)."""

    generation: int
    arrays: tuple  # (inst, rg, rgf, rows, scale, generation[1])
    instruments: tuple[Instrument, ...]  # by instrument row
    regions: tuple[Region, ...]  # by region row


@dataclass(slots=True, frozen=True)
class _Prepared:
    instrument: Instrument  # kept so that its id stays unique while cached
    rg: np.ndarray
    rgf: np.ndarray
    rows: np.ndarray
    scale: np.ndarray


class TableBuilder:
    """Builds the tables of one engine (one pool of samples, one output rate)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._prepared: dict[int, _Prepared] = {}
        self._fixed_waves: dict[Wave, int] = {}  # a fixed source's wave -> its pool offset

    @staticmethod
    def empty() -> InstrumentTables:
        """Tables with no instrument (generation 0)."""
        arrays = (
            np.zeros((0, P.IN_N), dtype=np.int64),
            np.zeros((0, P.RG_N), dtype=np.int64),
            np.zeros((0, P.RF_N), dtype=np.float64),
            np.zeros((0, L.C_N), dtype=np.int64),
            np.zeros(0, dtype=np.float64),
            np.zeros(1, dtype=np.int64),
        )
        return InstrumentTables(0, arrays, (), ())

    def build(self, instruments: Mapping[int, Instrument], generation: int) -> InstrumentTables:
        """The tables for patch -> instrument (the newest table of a source)."""
        ordered = sorted(instruments.items())
        parts = [self._prepare(inst) for _, inst in ordered]
        live = {id(inst) for _, inst in ordered}
        for key in [k for k in self._prepared if k not in live]:
            del self._prepared[key]  # unloaded: its rows go with it
        inst = np.zeros((len(ordered), P.IN_N), dtype=np.int64)
        first = conn_first = 0
        rg_parts, rows_parts = [], []
        for i, ((patch, _), part) in enumerate(zip(ordered, parts, strict=True)):
            inst[i] = (patch, first, part.rg.shape[0])
            rg = part.rg.copy()
            rg[:, P.RG_FIRST_CONN] += conn_first
            rg_parts.append(rg)
            rows_parts.append(part.rows)
            first += part.rg.shape[0]
            conn_first += part.rows.shape[0]
        arrays = (
            inst,
            _stack(rg_parts, (0, P.RG_N), np.int64),
            _stack([p.rgf for p in parts], (0, P.RF_N), np.float64),
            _stack(rows_parts, (0, L.C_N), np.int64),
            _stack([p.scale for p in parts], (0,), np.float64),
            np.array([generation], dtype=np.int64),
        )
        regions = tuple(r for _, i in ordered for r in i.regions)
        return InstrumentTables(generation, arrays, tuple(i for _, i in ordered), regions)

    def _prepare(self, instrument: Instrument) -> _Prepared:
        cached = self._prepared.get(id(instrument))
        if cached is not None and cached.instrument is instrument:
            return cached
        n = len(instrument.regions)
        rg = np.zeros((n, P.RG_N), dtype=np.int64)
        rgf = np.zeros((n, P.RF_N), dtype=np.float64)
        # the instrument's connection rows in one numpy conversion, not one per region: numpy's
        # call overhead per region was most of a GM bank's table building (0.2 s of 0.3)
        region_blocks = [self._blocks(instrument, region) for region in instrument.regions]
        flat = [b for bs in region_blocks if bs is not None for b in bs]
        rows, scale = engine_rows(connections_array(flat))
        counts = np.array([len(bs or ()) for bs in region_blocks], dtype=np.int64)
        ends = np.cumsum(counts)
        firsts = ends - counts
        keyed = np.concatenate(([0.0], np.cumsum(np.where(key_pitch_rows(rows), scale, 0.0))))
        key = (keyed[ends] - keyed[firsts]) / 128.0  # exact: the scales are n / 65536
        peaks: dict[tuple[int, int, int], float] = {}  # regions share waves: each span once
        for j, region in enumerate(instrument.regions):
            playable = region_blocks[j] is not None
            rg[j], rgf[j] = self._region_row(
                region, int(firsts[j]), int(counts[j]), playable, peaks
            )
            rgf[j, P.RF_KEY_CENTS] = key[j]
        prepared = _Prepared(instrument, rg, rgf, rows, scale)
        self._prepared[id(instrument)] = prepared
        return prepared

    @staticmethod
    def _blocks(instrument: Instrument, region: Region) -> list | None:
        """The region's effective connection blocks; None when there are more than a voice
        holds (the region is then not playable)."""
        blocks = effective_connections(instrument, region)
        placement = region.wave_link.placement
        if placement:
            blocks.append(connection(CONN_DST_PAN, placement * _HARD_PAN))
        return blocks if len(blocks) <= L.MAX_CONNECTIONS else None

    def _region_row(
        self, region: Region, conn_first: int, conns: int, playable: bool, peaks: dict
    ) -> tuple[list[int], list[float]]:
        wave = region.wave
        wsmp = region.sample
        loop = wsmp.loop
        loop_type = L.LOOP_NONE if loop is None else _LOOP_TYPES.get(loop.type, L.LOOP_NONE)
        frames = wave.frames
        offset = self._wave_offset(wave) if frames > 0 else 0
        ints = [0] * P.RG_N
        ints[P.RG_KEY_LOW] = region.key_low
        ints[P.RG_KEY_HIGH] = region.key_high
        ints[P.RG_VEL_LOW] = region.vel_low
        ints[P.RG_VEL_HIGH] = region.vel_high
        ints[P.RG_KEY_GROUP] = region.key_group
        ints[P.RG_SELF_NON_EXCLUSIVE] = int(region.self_non_exclusive)
        ints[P.RG_FIXED_KEY] = region.fixed_key
        ints[P.RG_FIXED_VELOCITY] = region.fixed_velocity
        ints[P.RG_WAVE_OFFSET] = offset
        ints[P.RG_WAVE_LENGTH] = frames
        ints[P.RG_LOOP_TYPE] = loop_type
        ints[P.RG_LOOP_START] = 0 if loop is None else loop.start
        ints[P.RG_LOOP_END] = 0 if loop is None else loop.start + loop.length
        ints[P.RG_UNITY_NOTE] = wsmp.unity_note
        ints[P.RG_FIRST_CONN] = conn_first
        ints[P.RG_CONNS] = conns
        ints[P.RG_PLAYABLE] = int(playable)
        ints[P.RG_SF2_SHAPES] = int(region.sf2_shapes)
        floats = [0.0] * P.RF_N
        floats[P.RF_RATE_RATIO] = wave.sample_rate / self.engine.sample_rate
        floats[P.RF_FINE_TUNE] = float(wsmp.fine_tune)
        floats[P.RF_ATTENUATION] = wsmp.attenuation / 655360.0
        floats[P.RF_PEAK] = _peak(wave, 0, frames, peaks)
        # a forward loop plays on inside itself; a release loop, after it, to the wave's end
        loop_end = ints[P.RG_LOOP_END] if loop_type == L.LOOP_FORWARD else frames
        looped = loop_type != L.LOOP_NONE and 0 <= ints[P.RG_LOOP_START] < loop_end <= frames
        floats[P.RF_LOOP_PEAK] = (
            _peak(wave, ints[P.RG_LOOP_START], loop_end, peaks) if looped else floats[P.RF_PEAK]
        )
        return ints, floats

    def _wave_offset(self, wave: Wave) -> int:
        """The wave's place in the engine pool. A downloaded wave is there already (its samples
        are a view of the pool, which add_wave finds without a copy); a fixed source's wave is
        copied there once."""
        offset = self._fixed_waves.get(wave)
        if offset is not None:
            return offset
        downloaded = self.engine.pool.offset_of(wave.samples) >= 0
        offset = self.engine.pool.add_wave(wave.samples)
        if not downloaded:
            self._fixed_waves[wave] = offset
        return offset


def _peak(wave: Wave, start: int, end: int, peaks: dict) -> float:
    """The largest |sample| of wave[start:end], measured once per `peaks` memo."""
    key = (id(wave), start, end)
    peak = peaks.get(key)
    if peak is None:
        span = wave.samples[start:end]
        # max and -min: no |x| copy of the wave (a bank load makes thousands of these)
        peak = max(float(span.max()), -float(span.min())) if end > start else 0.0
        peaks[key] = peak
    return peak


def _stack(parts: list[np.ndarray], empty: tuple[int, ...], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty, dtype)
