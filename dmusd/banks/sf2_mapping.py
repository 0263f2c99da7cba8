"""SoundFont presets -> the instrument model (DLS2 regions and connection blocks).

Each preset becomes an Instrument; each (preset zone x instrument zone) pair whose key and
velocity ranges overlap becomes a Region, combined by the SF2.04 rules (9.4, 9.5):
- instrument generators: default, overridden by the instrument's global zone, overridden by the
  local zone; preset generators (global, then local) are *added* to them, and the sum is
  clamped to the generator's range. Preset zones cannot set sample offsets, loop mode, root key,
  fixed key/velocity or exclusive class.
- modulators: the SF2 defaults, replaced by identical ones (same sources, destination and
  transform) of the instrument's global zone, then its local zone; the preset's modulators are
  added, summing the amounts of identical ones.

Generators land where DLS keeps them: root key, tuning, attenuation and loops in the region's
wsmp; exclusive class as key group; sample offsets as a Wave that views a slice of the sample;
everything else as absolute connections (source NONE) or LFO/EG connections. Connections that
equal the DLS2 defaults are left out, and connections shared by every region of a preset move to
the instrument's global articulation. Unmapped features are listed in README.md.
"""

from __future__ import annotations

from dmusd.banks import sf2_generators as G
from dmusd.banks import units
from dmusd.banks.articulation import DLS2_DEFAULT_CONNECTIONS, default_value
from dmusd.banks.connection import (
    CONN_DST_CHORUS,
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_DELAYTIME,
    CONN_DST_EG1_HOLDTIME,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
    CONN_DST_EG2_DELAYTIME,
    CONN_DST_EG2_HOLDTIME,
    CONN_DST_EG2_RELEASETIME,
    CONN_DST_EG2_SUSTAINLEVEL,
    CONN_DST_FILTER_CUTOFF,
    CONN_DST_FILTER_Q,
    CONN_DST_GAIN,
    CONN_DST_LFO_FREQUENCY,
    CONN_DST_LFO_STARTDELAY,
    CONN_DST_PAN,
    CONN_DST_PITCH,
    CONN_DST_REVERB,
    CONN_DST_VIB_FREQUENCY,
    CONN_DST_VIB_STARTDELAY,
    CONN_SRC_EG2,
    CONN_SRC_KEYNUMBER,
    CONN_SRC_LFO,
    CONN_SRC_NONE,
    CONN_SRC_VIBRATO,
    ConnectionBlock,
)
from dmusd.banks.model import (
    F_INSTRUMENT_DRUMS,
    WLOOP_TYPE_FORWARD,
    WLOOP_TYPE_RELEASE,
    Bank,
    Instrument,
    Loop,
    Region,
    Wave,
    WaveSample,
    describe_patch,
    make_patch,
)
from dmusd.banks.riff import RiffReader
from dmusd.banks.sf2_modulators import COVERED_BY_DLS2, DEFAULT_MODULATORS, Unmapped, to_connection
from dmusd.banks.sf2_reader import (
    Modulator,
    SfInstrument,
    SfPreset,
    SoundFont,
    Zone,
    read_soundfont,
)

SF2_ATTENUATION_FACTOR = 0.4  # EMU hardware applies 0.4 dB per written dB (spec test #11)

# Absolute generators: generator -> DLS destination (plain unit -> 16.16).
_ABSOLUTE = {
    G.INITIAL_FILTER_Q: CONN_DST_FILTER_Q,
    G.CHORUS_EFFECTS_SEND: CONN_DST_CHORUS,
    G.REVERB_EFFECTS_SEND: CONN_DST_REVERB,
    G.PAN: CONN_DST_PAN,
    G.DELAY_MOD_LFO: CONN_DST_LFO_STARTDELAY,
    G.FREQ_MOD_LFO: CONN_DST_LFO_FREQUENCY,
    G.DELAY_VIB_LFO: CONN_DST_VIB_STARTDELAY,
    G.FREQ_VIB_LFO: CONN_DST_VIB_FREQUENCY,
    G.DELAY_MOD_ENV: CONN_DST_EG2_DELAYTIME,
    G.ATTACK_MOD_ENV: CONN_DST_EG2_ATTACKTIME,
    G.RELEASE_MOD_ENV: CONN_DST_EG2_RELEASETIME,
    G.DELAY_VOL_ENV: CONN_DST_EG1_DELAYTIME,
    G.ATTACK_VOL_ENV: CONN_DST_EG1_ATTACKTIME,
    G.RELEASE_VOL_ENV: CONN_DST_EG1_RELEASETIME,
}
# The delays' default and minimum, -12000 time cents, is "<1 msec" in SF2.04 8.1.3: no delay
# (FluidSynth plays it as none too), not a 1 ms late start of every note.
_DELAYS = frozenset({G.DELAY_MOD_LFO, G.DELAY_VIB_LFO, G.DELAY_MOD_ENV, G.DELAY_VOL_ENV})
_NO_DELAY = -12000
# Depth generators: generator -> (source, destination).
_DEPTHS = {
    G.MOD_LFO_TO_PITCH: (CONN_SRC_LFO, CONN_DST_PITCH),
    G.VIB_LFO_TO_PITCH: (CONN_SRC_VIBRATO, CONN_DST_PITCH),
    G.MOD_ENV_TO_PITCH: (CONN_SRC_EG2, CONN_DST_PITCH),
    G.MOD_LFO_TO_FILTER_FC: (CONN_SRC_LFO, CONN_DST_FILTER_CUTOFF),
    G.MOD_ENV_TO_FILTER_FC: (CONN_SRC_EG2, CONN_DST_FILTER_CUTOFF),
    G.MOD_LFO_TO_VOLUME: (CONN_SRC_LFO, CONN_DST_GAIN),
}
# Hold/decay generators with their key-number scaling generator.
_KEY_SCALED = (
    (G.HOLD_MOD_ENV, G.KEYNUM_TO_MOD_ENV_HOLD, CONN_DST_EG2_HOLDTIME),
    (G.DECAY_MOD_ENV, G.KEYNUM_TO_MOD_ENV_DECAY, CONN_DST_EG2_DECAYTIME),
    (G.HOLD_VOL_ENV, G.KEYNUM_TO_VOL_ENV_HOLD, CONN_DST_EG1_HOLDTIME),
    (G.DECAY_VOL_ENV, G.KEYNUM_TO_VOL_ENV_DECAY, CONN_DST_EG1_DECAYTIME),
)
_DEFAULTS = {oper: info.default for oper, info in G.GENERATORS.items()}
_ABSOLUTE_DEFAULT = {dest: default_value(dest) or 0 for dest in range(0x600)}
_DLS_DEFAULT_BY_KEY = {block.key: block for block in DLS2_DEFAULT_CONNECTIONS}
_MAX_KEY_SCALE = 32767 // 128  # time cents per key that still fit a LONG after x128 x 65536


def _generators(*zones: Zone | None, preset: bool = False) -> dict[int, int]:
    """Later zones override earlier ones; preset zones keep only preset-level generators."""
    out: dict[int, int] = {}
    for zone in zones:
        if zone is None:
            continue
        for oper, raw in zone.generators.items():
            info = G.GENERATORS.get(oper)
            if info is None or (preset and not info.preset_level):
                continue  # unused/reserved ids, and what presets may not set
            out[oper] = G.signed_amount(oper, raw)
    return out


def _modulators(*zones: Zone | None, base: tuple[Modulator, ...] = ()) -> dict[tuple, Modulator]:
    """Identical modulators of later zones replace earlier ones (by identity)."""
    out = {m.identity: m for m in base}
    for zone in zones:
        if zone is not None:
            for mod in zone.modulators:
                out[mod.identity] = mod
    return out


def _range(*ranges: tuple[int, int] | None) -> tuple[int, int]:
    low, high = 0, 127
    for r in ranges:
        if r is not None:
            low, high = max(low, r[0]), min(high, r[1])
    return low, high


class _BrokenZone:
    """What region() gives for a zone whose sample is missing or unusable."""


_BROKEN = _BrokenZone()


class _Mapper:
    def __init__(self, sf: SoundFont, file: str) -> None:
        self.sf = sf
        self.file = file
        self.warnings = sf.warnings
        self.slices: dict[tuple[int, int, int], Wave] = {}
        self.unmapped: dict[str, tuple[int, str]] = {}
        self.memo: dict[tuple, tuple[tuple, list[str]]] = {}
        # Equal records are shared, not repeated: a bank has thousands of regions whose
        # connections and wsmps mostly repeat (a few MB of Python objects saved on TimGM6mb).
        self.interned: dict[object, object] = {}

    def map(self) -> Bank:
        instruments: dict[int, Instrument] = {}
        for preset in self.sf.presets:
            inst = self.instrument(preset)
            if inst is None:
                continue
            if inst.patch in instruments:
                self.sf.warn(
                    preset.path,
                    f"duplicate patch {describe_patch(inst.patch)}; first one kept",
                    preset.offset,
                )
                continue
            instruments[inst.patch] = inst
        for reason, (count, where) in self.unmapped.items():
            self.sf.warn(where, f"{count} modulator(s) not mapped: {reason}")
        waves = [w for w in self.sf.waves if w is not None] + list(self.slices.values())
        major, minor = self.sf.version
        return Bank(
            self.sf.format,
            major,
            instruments,
            waves,
            self.sf.info,
            self.file,
            (major, minor, 0, 0),
            None,
            self.warnings,
        )

    def instrument(self, preset: SfPreset) -> Instrument | None:
        if preset.preset > 127 or preset.bank > 128 * 128:
            self.sf.warn(
                preset.path, f"bank {preset.bank} preset {preset.preset} ignored", preset.offset
            )
            return None
        if preset.bank == 128:
            patch = make_patch(preset.preset) | F_INSTRUMENT_DRUMS
        else:
            patch = make_patch(preset.preset, preset.bank & 0x7F, preset.bank >> 7)
        regions: list[Region] = []
        broken = 0  # zones skipped for a missing or unusable sample
        for pzone in preset.zones:
            assert pzone.link is not None
            inst = self.sf.instruments[pzone.link]
            for izone in inst.zones:
                region = self.region(preset, pzone, inst, izone)
                if region is _BROKEN:
                    broken += 1
                elif isinstance(region, Region):
                    regions.append(region)
        if broken and not regions:
            self.sf.warn(
                preset.path,
                f"preset {describe_patch(patch)} has no playable zone left; skipped",
                preset.offset,
            )
            return None
        shared = _hoist(regions)
        for region in regions:  # what hoisting left behind repeats from region to region
            region.articulation = self.interned.setdefault(region.articulation, region.articulation)
        return Instrument(patch, preset.name, regions, shared)

    # --- one region ------------------------------------------------------------------------------
    def region(
        self, preset: SfPreset, pzone: Zone, inst: SfInstrument, izone: Zone
    ) -> Region | _BrokenZone | None:
        """The region of a zone pair; None when their ranges do not meet, _BROKEN when the
        zone's sample is missing or unusable (a broken item, skipped with a warning)."""
        key = _range(preset.global_zone and preset.global_zone.key_range, pzone.key_range)
        key = _range(key, izone.key_range or (inst.global_zone and inst.global_zone.key_range))
        vel = _range(preset.global_zone and preset.global_zone.vel_range, pzone.vel_range)
        vel = _range(vel, izone.vel_range or (inst.global_zone and inst.global_zone.vel_range))
        if key[0] > key[1] or vel[0] > vel[1]:
            return None
        sample = izone.link
        if sample is None or sample >= len(self.sf.waves):
            self.sf.warn(
                izone.path,
                f"sample index {sample} is past the sample headers; zone skipped",
                izone.offset,
            )
            return _BROKEN
        base = self.sf.waves[sample]
        if base is None:
            return _BROKEN  # unusable sample, already reported by the reader
        inst_g = _generators(inst.global_zone, izone)
        pre_g = _generators(preset.global_zone, pzone, preset=True)
        values = dict(_DEFAULTS)
        values.update(inst_g)
        for oper, amount in pre_g.items():
            values[oper] += amount
        for oper in inst_g.keys() | pre_g.keys():
            values[oper] = G.clamp(oper, values[oper])
        gen = values.__getitem__

        mode = gen(G.SAMPLE_MODES) & 3
        wave, loop = self.wave_for(base, inst_g, izone.path, mode in (1, 3))
        loops: tuple[Loop, ...] = ()
        if mode in (1, 3) and loop is not None:
            kind = WLOOP_TYPE_RELEASE if mode == 3 else WLOOP_TYPE_FORWARD
            loops = (Loop(kind, loop[0], loop[1] - loop[0]),)
        base_wsmp = base.wsmp or WaveSample()
        root = gen(G.OVERRIDING_ROOT_KEY)
        wsmp = WaveSample(
            unity_note=root if root >= 0 else base_wsmp.unity_note,
            fine_tune=gen(G.COARSE_TUNE) * 100 + gen(G.FINE_TUNE) + base_wsmp.fine_tune,
            attenuation=units.clamp_long(
                -SF2_ATTENUATION_FACTOR * gen(G.INITIAL_ATTENUATION) * 65536
            ),
            loops=loops,
        )
        mods = _modulators(inst.global_zone, izone, base=DEFAULT_MODULATORS)
        for ident, mod in _modulators(preset.global_zone, pzone).items():
            if ident in mods:
                old = mods[ident]
                mods[ident] = Modulator(
                    old.src, old.dest, old.amount + mod.amount, old.amt_src, old.trans
                )
            else:
                mods[ident] = mod
        blocks = self.generator_connections(gen) + self.modulator_connections(mods, izone.path)
        blocks = self.filter_connection(gen(G.INITIAL_FILTER_FC), blocks) + blocks
        intern = self.interned.setdefault
        articulation = tuple(intern(b, b) for b in blocks)
        return Region(
            key[0],
            key[1],
            vel[0],
            vel[1],
            wave,
            key_group=gen(G.EXCLUSIVE_CLASS),
            wsmp=intern(wsmp, wsmp),
            articulation=articulation,
            fixed_key=gen(G.KEYNUM),
            fixed_velocity=gen(G.VELOCITY),
            sf2_shapes=True,
        )

    def wave_for(
        self, base: Wave, g: dict[int, int], where: str, looped: bool
    ) -> tuple[Wave, tuple[int, int] | None]:
        """The wave a zone plays (a slice when it has sample offsets) and its loop in that wave."""
        frames = base.frames
        start = g.get(G.START_ADDRS_OFFSET, 0) + 32768 * g.get(G.START_ADDRS_COARSE_OFFSET, 0)
        end_off = g.get(G.END_ADDRS_OFFSET, 0) + 32768 * g.get(G.END_ADDRS_COARSE_OFFSET, 0)
        start = min(max(start, 0), frames - 1)
        end = min(max(frames + end_off, start + 1), frames)
        loop = base.wsmp.loop if base.wsmp is not None and looped else None
        bounds = None
        if loop is not None:
            ls = loop.start + g.get(G.STARTLOOP_ADDRS_OFFSET, 0)
            ls += 32768 * g.get(G.STARTLOOP_ADDRS_COARSE_OFFSET, 0)
            le = loop.end + g.get(G.ENDLOOP_ADDRS_OFFSET, 0)
            le += 32768 * g.get(G.ENDLOOP_ADDRS_COARSE_OFFSET, 0)
            if start <= ls < le <= end:
                bounds = (ls - start, le - start)
            else:
                self.sf.warn(where, f"loop {ls}..{le} falls outside {start}..{end}; ignored")
        if start == 0 and end == frames:
            return base, bounds
        slice_key = (id(base), start, end)
        wave = self.slices.get(slice_key)
        if wave is None:
            wave = Wave(base.samples[start:end], base.sample_rate, None, base.name, base.bits)
            self.slices[slice_key] = wave
        return wave, bounds

    def generator_connections(self, gen) -> list[ConnectionBlock]:
        out: list[ConnectionBlock] = []

        def absolute(destination: int, value: float) -> None:
            scaled(destination, round(value * 65536))  # generator ranges keep this in a LONG

        def scaled(destination: int, scale: int) -> None:
            if scale != _ABSOLUTE_DEFAULT.get(destination, 0):
                out.append(ConnectionBlock(CONN_SRC_NONE, CONN_SRC_NONE, destination, 0, scale))

        for oper, destination in _ABSOLUTE.items():
            value = gen(oper)
            if oper in _DELAYS and value <= _NO_DELAY:
                scaled(destination, units.ZERO_TIME)
            else:
                absolute(destination, value)
        absolute(
            CONN_DST_EG1_SUSTAINLEVEL, max(0.0, 1000.0 * (1.0 - gen(G.SUSTAIN_VOL_ENV) / 960.0))
        )
        absolute(CONN_DST_EG2_SUSTAINLEVEL, 1000 - gen(G.SUSTAIN_MOD_ENV))
        for time_gen, key_gen, destination in _KEY_SCALED:
            per_key = gen(key_gen)
            if abs(per_key) > _MAX_KEY_SCALE:
                self.sf.warn(
                    "pdta",
                    f"{G.GENERATORS[key_gen].name} {per_key} clamped to ±{_MAX_KEY_SCALE} "
                    "(LONG range)",
                )
                per_key = max(-_MAX_KEY_SCALE, min(_MAX_KEY_SCALE, per_key))
            # SF2 scales around key 60: t(key) = t + (60 - key) x per_key; DLS adds key/128 x scale.
            absolute(destination, gen(time_gen) + 60 * per_key)
            if per_key:
                out.append(
                    ConnectionBlock(
                        CONN_SRC_KEYNUMBER, 0, destination, 0, units.fixed(-128 * per_key)
                    )
                )
        for oper, (source, destination) in _DEPTHS.items():
            value = gen(oper)
            if value:
                out.append(ConnectionBlock(source, 0, destination, 0, units.fixed(value)))
        tuning = gen(G.SCALE_TUNING)
        if tuning != 100:
            out.append(
                ConnectionBlock(CONN_SRC_KEYNUMBER, 0, CONN_DST_PITCH, 0, units.fixed(tuning * 128))
            )
        return out

    @staticmethod
    def filter_connection(cutoff: int, blocks: list[ConnectionBlock]) -> list[ConnectionBlock]:
        """SF2's filter is "open" at 13500 cents (19.9 kHz), where DLS2's default is off. State the
        cutoff when it is lower, when something modulates it (it must start from 13500), or when
        a resonance is given: an SF2 voice with Q keeps its lowered pass band (SF2.01 8.1.3)
        even with the filter open, as in FluidSynth."""
        if cutoff < 13500 or any(
            b.destination == CONN_DST_FILTER_CUTOFF or b.destination == CONN_DST_FILTER_Q
            for b in blocks
        ):
            return [ConnectionBlock(0, 0, CONN_DST_FILTER_CUTOFF, 0, cutoff * 65536)]
        return []

    def modulator_connections(
        self, mods: dict[tuple, Modulator], where: str
    ) -> list[ConnectionBlock]:
        # Most zones carry just the defaults: map each distinct modulator set once.
        memo_key = tuple(mods.values())
        memo = self.memo.get(memo_key)
        if memo is None:
            memo = self.memo[memo_key] = self._modulator_connections(mods)
        blocks, reasons = memo
        for reason in reasons:
            count, first = self.unmapped.get(reason, (0, where))
            self.unmapped[reason] = (count + 1, first)
        return list(blocks)

    def _modulator_connections(self, mods: dict[tuple, Modulator]) -> tuple[tuple, list[str]]:
        out: list[ConnectionBlock] = []
        reasons: list[str] = []
        covered = {m.identity: m for m in COVERED_BY_DLS2}
        untouched = []
        for ident, mod in mods.items():
            default = covered.get(ident)
            if default is not None and mod == default:
                untouched.append(default)
                continue
            try:
                block = to_connection(mod)
            except Unmapped as reason:
                reasons.append(str(reason))
                continue
            if block is None and default is not None:
                # A cancelled default: say so with a zero amount, or the DLS2 default would stay.
                block = to_connection(Modulator(mod.src, mod.dest, 1, mod.amt_src, mod.trans))
                assert block is not None
                block = ConnectionBlock(
                    block.source, block.control, block.destination, block.transform, 0
                )
            if block is not None:
                out.append(block)
        # An untouched default that shares its DLS key with an emitted connection must be
        # stated too, since a region's connection replaces the DLS2 default with that key.
        emitted = {block.key for block in out}
        for default in untouched:
            block = to_connection(default)
            if block is not None and block.key in emitted:
                out.append(_DLS_DEFAULT_BY_KEY[block.key])
        return tuple(out), reasons


def _hoist(regions: list[Region]) -> tuple[ConnectionBlock, ...]:
    """Move connection groups that every region states identically to the instrument level."""
    if not regions:
        return ()
    grouped = []
    for region in regions:
        groups: dict[tuple[int, int, int], list[ConnectionBlock]] = {}
        for block in region.articulation:
            groups.setdefault(block.key, []).append(block)
        grouped.append(groups)
    shared = [
        key
        for key, blocks in grouped[0].items()
        if all(groups.get(key) == blocks for groups in grouped[1:])
    ]
    if not shared:
        return ()
    moved = set(shared)
    for region in regions:
        region.articulation = tuple(b for b in region.articulation if b.key not in moved)
    return tuple(block for key in shared for block in grouped[0][key])


def map_soundfont(sf: SoundFont, file: str = "") -> Bank:
    """A parsed SoundFont as a Bank of DLS-model instruments."""
    return _Mapper(sf, file).map()


def read_soundfont_bank(reader: RiffReader) -> Bank:
    """Parse and map an SF2/SF3 file from an open reader."""
    return map_soundfont(read_soundfont(reader), reader.file)
