"""Region + Wave + key + velocity -> the VoiceSpec the engine starts (the DDK's CVoice::StartVoice).

Two caches keep note-on cheap and allocation-free after the first use of a region:

- each Wave is copied into the engine's sample pool once, and its offset remembered per Wave
  object (Wave hashes by identity, so two regions sharing a wave share the pool copy);
- each (instrument, region) pair's effective connections (DLS2 defaults, then the instrument's
  global articulation, then the region's, see banks/articulation.py) are merged once into the
  int array the engine reads. A region that is one side of a stereo wave-link pair gets one more
  absolute PAN connection that places it hard left or right, as SF2's pan generator does.
"""

from __future__ import annotations

import numpy as np

from dmusd.banks.articulation import effective_connections
from dmusd.banks.connection import CONN_DST_PAN, connection
from dmusd.banks.model import WLOOP_TYPE_FORWARD, WLOOP_TYPE_RELEASE, Instrument, Region, Wave
from dmusd.banks.units import percent
from dmusd.errors import BankError
from dmusd.synth.engine import Engine, VoiceSpec
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.connections import connections_array

_LOOP_TYPES = {WLOOP_TYPE_FORWARD: L.LOOP_FORWARD, WLOOP_TYPE_RELEASE: L.LOOP_RELEASE}
_HARD_PAN = percent(50.0)  # +-500 in 0.1 % units: the edge of the DLS pan range


class VoiceBuilder:
    """Turns the instrument model into engine voices for one engine."""

    def __init__(self, engine: Engine, interpolation: int = L.INTERP_CUBIC) -> None:
        self.engine = engine
        self.interpolation = interpolation
        self._pool: dict[Wave, int] = {}  # a fixed source's wave -> its offset in the pool
        # id(region) -> (instrument, region, connections); the objects are kept so ids stay unique
        self._connections: dict[tuple[int, int], tuple[Instrument, Region, np.ndarray]] = {}

    def wave_offset(self, wave: Wave) -> int:
        """The wave's place in the engine pool. A downloaded wave is there already (its samples
        are a view of the pool, which add_wave finds without a copy or a lock) and is not
        remembered here, so waves unloaded over a daemon's life leave nothing behind; a fixed
        source's wave is copied there on first use."""
        if wave.samples.base is self.engine.pool:
            return self.engine.add_wave(wave.samples)
        offset = self._pool.get(wave)
        if offset is None:
            offset = self.engine.add_wave(wave.samples)
            self._pool[wave] = offset
        return offset

    def connections(self, instrument: Instrument, region: Region) -> np.ndarray:
        """The region's effective connection blocks as the engine's (n, 5) int array."""
        key = (id(instrument), id(region))
        cached = self._connections.get(key)
        if cached is not None:
            return cached[2]
        blocks = effective_connections(instrument, region)
        placement = region.wave_link.placement
        if placement:
            blocks.append(connection(CONN_DST_PAN, placement * _HARD_PAN))
        if len(blocks) > L.MAX_CONNECTIONS:
            raise BankError(
                f"a region of keys {region.key_low}-{region.key_high} has {len(blocks)} "
                f"connection blocks with the defaults; the engine plays at most "
                f"{L.MAX_CONNECTIONS}",
                chunk=f"instrument {instrument.name!r}",
            )
        array = connections_array(blocks)
        self._connections[key] = (instrument, region, array)
        return array

    def build(
        self,
        instrument: Instrument,
        region: Region,
        key: int,
        velocity: int,
        channel: int,
        tuning: float = 0.0,
    ) -> VoiceSpec:
        """The voice for one region of a note on engine channel `channel`.

        `tuning` (cents) is added to the region's fine tune: the synth's master tuning.
        """
        wave = region.wave
        wsmp = region.sample
        loop = wsmp.loop
        loop_type = L.LOOP_NONE if loop is None else _LOOP_TYPES.get(loop.type, L.LOOP_NONE)
        return VoiceSpec(
            wave_offset=self.wave_offset(wave),
            wave_length=wave.frames,
            sample_rate=float(wave.sample_rate),
            key=region.fixed_key if region.fixed_key >= 0 else key,
            velocity=region.fixed_velocity if region.fixed_velocity >= 0 else velocity,
            channel=channel,
            unity_note=wsmp.unity_note,
            fine_tune=float(wsmp.fine_tune) + tuning,
            attenuation=wsmp.attenuation,
            loop_type=loop_type,
            loop_start=0 if loop is None else loop.start,
            loop_length=0 if loop is None else loop.length,
            connections=self.connections(instrument, region),
            interpolation=self.interpolation,
        )
