"""What the glue hands the engine to start one voice: one region playing one wave, DLS-shaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.connections import DLS2_DEFAULTS, connections_array

_DEFAULTS = connections_array(DLS2_DEFAULTS)


@dataclass(slots=True)
class VoiceSpec:
    """A voice to start.

    wave_offset / wave_length: where the wave sits in the engine's sample pool (pool.add_wave);
    sample_rate: the wave's rate in Hz. loop_type: LOOP_NONE, LOOP_FORWARD or LOOP_RELEASE with
    loop_start / loop_length in samples (a loop that does not fit the wave plays as a one-shot,
    as ddksynth does). unity_note and fine_tune (cents) and attenuation (wsmp lAttenuation,
    16.16 in 1/655360 dB, negative = quieter) as in a wsmp chunk. connections: the effective
    connection blocks (usSource, usControl, usDestination, usTransform, lScale) with the DLS2
    defaults already in, as an (n, 5) int array or any sequence connections_array() accepts.
    """

    wave_offset: int
    wave_length: int
    sample_rate: float
    key: int
    velocity: int
    channel: int = 0
    unity_note: int = 60
    fine_tune: float = 0.0
    attenuation: int = 0
    loop_type: int = L.LOOP_NONE
    loop_start: int = 0
    loop_length: int = 0
    connections: np.ndarray | Sequence = field(default_factory=lambda: _DEFAULTS)
    interpolation: int = L.INTERP_CUBIC


def default_connections() -> np.ndarray:
    """The DLS2 default articulation (ddi-digest 5.6) as a connections array (a fresh copy)."""
    return _DEFAULTS.copy()
