"""The one instrument model that DLS Level 1, DLS Level 2, SF2 and SF3 all load into.

This is the contract with the voice engine (dmusd/synth), so it is DLS-centric and kept stable:

- `Instrument`: a DirectMusic patch number, a name, the GM-set flag, regions and a global
  articulation (a tuple of `ConnectionBlock`s).
- `Region`: key and velocity range, layer, options (self-non-exclusive), key group, the `Wave` it
  plays with its `WaveLink` placement, an optional `WaveSample` (wsmp) that overrides the wave's,
  and its own articulation. Two extras carry SF2 features DLS cannot express (see README.md).
- `Wave`: mono float32 samples in -1..1 and a sample rate, plus the wave's own wsmp. Stereo is two
  regions whose wave links form a channel pair (same phase group, LEFT and RIGHT channels).
- `Bank`: instruments by patch, the wave pool, INFO strings, format and level, sample memory.

Units follow the DLS file: 16.16 lScale values, cents, samples. How a region's connections
combine with the DLS2 defaults is in articulation.py (`effective_connections`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dmusd.banks.connection import ConnectionBlock

Articulation = tuple[ConnectionBlock, ...]

F_INSTRUMENT_DRUMS = 0x8000_0000  # MIDILOCALE.ulBank bit 31, and the patch's drum bit
F_RGN_OPTION_SELFNONEXCLUSIVE = 0x0001
# dmusd's private region flags (the 'dmsx' DLS chunk and download extension)
DMSX_SF2_SHAPES = 0x0001  # SF2's envelope and LFO shapes (Region.sf2_shapes)
F_WAVELINK_PHASE_MASTER = 0x0001
F_WAVELINK_MULTICHANNEL = 0x0002
WAVELINK_CHANNEL_LEFT = 0x0001
WAVELINK_CHANNEL_RIGHT = 0x0002
WLOOP_TYPE_FORWARD = 0  # loop for the whole note, release included
WLOOP_TYPE_RELEASE = 1  # DLS2: loop until note-off, then play on to the end (SF2 loop mode 3)
F_WSMP_NO_TRUNCATION = 0x0001
F_WSMP_NO_COMPRESSION = 0x0002


# --- patch numbers (ddi-digest 5.2) -------------------------------------------------------------
def make_patch(program: int, msb: int = 0, lsb: int = 0, drum: bool = False) -> int:
    """DirectMusic patch: drum(bit 31) | bank MSB << 16 | bank LSB << 8 | program."""
    return (
        (F_INSTRUMENT_DRUMS if drum else 0)
        | (msb & 0x7F) << 16
        | (lsb & 0x7F) << 8
        | program & 0x7F
    )


def patch_from_locale(ulBank: int, ulInstrument: int) -> int:
    """A DLS MIDILOCALE (bank MSB at bits 8-14, LSB at 0-6, drum bit 31) -> patch."""
    return (ulBank & F_INSTRUMENT_DRUMS) | (ulBank & 0x7F7F) << 8 | ulInstrument & 0x7F


def locale_from_patch(patch: int) -> tuple[int, int]:
    """Patch -> MIDILOCALE (ulBank, ulInstrument)."""
    return (patch & F_INSTRUMENT_DRUMS) | (patch >> 8) & 0x7F7F, patch & 0x7F


def describe_patch(patch: int) -> str:
    """`drum 0:0 prog 25`-style text for listings."""
    kind = "drum" if patch & F_INSTRUMENT_DRUMS else "bank"
    return f"{kind} {(patch >> 16) & 0x7F}:{(patch >> 8) & 0x7F} prog {patch & 0x7F}"


# --- records -------------------------------------------------------------------------------------
@dataclass(slots=True, frozen=True)
class Loop:
    """WLOOP: a loop of `length` samples from `start` (both in samples of the wave)."""

    type: int  # WLOOP_TYPE_FORWARD or WLOOP_TYPE_RELEASE
    start: int
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(slots=True, frozen=True)
class WaveSample:
    """WSMPL: tuning, attenuation and loops. `attenuation` is a gain in 1/655360 dB (negative =
    quieter), `fine_tune` plain cents, `unity_note` the MIDI key that plays the wave unshifted."""

    unity_note: int = 60
    fine_tune: int = 0
    attenuation: int = 0
    options: int = 0
    loops: tuple[Loop, ...] = ()

    @property
    def loop(self) -> Loop | None:
        """The loop a voice uses (DLS allows a list, practice uses at most one)."""
        return self.loops[0] if self.loops else None


DEFAULT_WSMP = WaveSample()


@dataclass(slots=True, eq=False)
class Wave:
    """One mono wave: float32 samples in -1..1 at `sample_rate` Hz.

    `bits` is the depth the samples came from (8/16/24/32) and are written back at; `pool_index`
    and `channel` say where the wave sits in a DLS wave pool (a stereo pool wave becomes two Waves,
    channel 0 and 1). `voices` is the only run-time field: the engine holds a reference on a wave
    for as long as a voice plays it (`acquire`/`release`), and downloaded sample data is freed
    only when that count is zero (see download_manager).
    """

    samples: np.ndarray
    sample_rate: int
    wsmp: WaveSample | None = None
    name: str = ""
    bits: int = 16
    pool_index: int = -1
    channel: int = 0
    voices: int = field(default=0, repr=False)

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.samples.nbytes)

    def acquire(self) -> None:
        """A voice starts playing this wave."""
        self.voices += 1

    def release(self) -> None:
        """A voice that played this wave has ended."""
        if self.voices > 0:
            self.voices -= 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Wave):
            return NotImplemented
        return (
            self.sample_rate == other.sample_rate
            and self.wsmp == other.wsmp
            and self.name == other.name
            and self.bits == other.bits
            and np.array_equal(self.samples, other.samples)
        )

    __hash__ = object.__hash__  # identity: waves are shared by regions and looked up by object


@dataclass(slots=True, frozen=True)
class WaveLink:
    """WAVELINK minus the table index (the region holds the Wave itself): placement of the wave
    in a channel group. `channel` is a bit mask (LEFT 1, RIGHT 2)."""

    options: int = 0
    phase_group: int = 0
    channel: int = WAVELINK_CHANNEL_LEFT

    @property
    def placement(self) -> int:
        """-1 hard left, +1 hard right, 0 centre. Only a region that is part of a channel group
        (a phase group or the multichannel flag) is placed; a lone mono wave plays centred."""
        if not (self.phase_group or self.options & F_WAVELINK_MULTICHANNEL):
            return 0
        if self.channel == WAVELINK_CHANNEL_LEFT:
            return -1
        if self.channel == WAVELINK_CHANNEL_RIGHT:
            return 1
        return 0


@dataclass(slots=True)
class Region:
    """One DLS region (rgn/rgn2) or one combined SF2 preset x instrument zone.

    `fixed_key`/`fixed_velocity` (-1 = off) carry SF2 generators 46/47, which DLS cannot express:
    when set, the voice uses that key (for pitch and key-number sources) or that velocity.
    `sf2_shapes`: the shapes SoundFont 2 gives a voice where DLS has others: triangle LFOs
    (SF2.04 8.1.2, "triangular"; DLS: sines) and a convex modulation-envelope attack (8.1.3
    gen 26, attackModEnv: "convex", so it is linear in Hz on a cutoff; DLS: a linear EG2).
    """

    key_low: int
    key_high: int
    vel_low: int
    vel_high: int
    wave: Wave
    options: int = 0
    key_group: int = 0
    layer: int = 0
    wave_link: WaveLink = WaveLink()
    wsmp: WaveSample | None = None
    articulation: Articulation = ()
    fixed_key: int = -1
    fixed_velocity: int = -1
    sf2_shapes: bool = False

    @property
    def self_non_exclusive(self) -> bool:
        """True: a new note on the same key does not stop this region's earlier voice."""
        return bool(self.options & F_RGN_OPTION_SELFNONEXCLUSIVE)

    @property
    def sample(self) -> WaveSample:
        """The wsmp a voice uses: the region's, else the wave's, else the DLS default."""
        return self.wsmp or self.wave.wsmp or DEFAULT_WSMP

    def matches(self, key: int, velocity: int) -> bool:
        return self.key_low <= key <= self.key_high and self.vel_low <= velocity <= self.vel_high


@dataclass(slots=True)
class Instrument:
    """One DLS instrument or SF2 preset. `gm` marks instruments of the default GM set, which
    yield to a user instrument with the same patch."""

    patch: int
    name: str
    regions: list[Region]
    articulation: Articulation = ()
    gm: bool = False

    @property
    def is_drum(self) -> bool:
        return bool(self.patch & F_INSTRUMENT_DRUMS)

    @property
    def program(self) -> int:
        return self.patch & 0x7F

    @property
    def bank_msb(self) -> int:
        return (self.patch >> 16) & 0x7F

    @property
    def bank_lsb(self) -> int:
        return (self.patch >> 8) & 0x7F

    def regions_for(self, key: int, velocity: int) -> list[Region]:
        """DLS2 layering: every region whose key and velocity ranges hold the note."""
        return [r for r in self.regions if r.matches(key, velocity)]


@dataclass(slots=True)
class Bank:
    """A loaded instrument collection. `format` is "DLS", "SF2" or "SF3"; `level` is the DLS
    level (1 or 2) or the SoundFont major version; `info` holds the RIFF INFO strings by FOURCC
    (INAM, ICOP, ...); `warnings` lists what was repaired or ignored while loading, with where."""

    format: str
    level: int
    instruments: dict[int, Instrument]
    waves: list[Wave]
    info: dict[str, str] = field(default_factory=dict)
    source: str = ""
    version: tuple[int, int, int, int] | None = None
    dlid: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.info.get("INAM", "")

    @property
    def sample_memory(self) -> int:
        """Bytes of sample data held, counting shared buffers (SF2 views) once."""
        seen: dict[int, int] = {}
        for wave in self.waves:
            base = wave.samples
            while isinstance(base.base, np.ndarray):
                base = base.base
            seen[id(base)] = base.nbytes
        return sum(seen.values())

    @property
    def region_count(self) -> int:
        return sum(len(i.regions) for i in self.instruments.values())

    def find(self, patch: int) -> Instrument | None:
        """The instrument for a patch, with the GM fallbacks a synth uses when nothing matches:
        a drum patch falls back to the standard kit (0x80000000 with its program, then program 0),
        a melodic one to bank 0 with the same program."""
        inst = self.instruments.get(patch)
        if inst is not None:
            return inst
        if patch & F_INSTRUMENT_DRUMS:
            return self.instruments.get(F_INSTRUMENT_DRUMS | patch & 0x7F) or self.instruments.get(
                F_INSTRUMENT_DRUMS
            )
        return self.instruments.get(patch & 0x7F)
