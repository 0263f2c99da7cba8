"""PinState: the arrays a pin's compiled call keeps its MIDI and voice state in, made once.

What the DDK synth keeps in CControlLogic, CChannel and CVoice objects lives here as numpy
arrays (columns in engine/pin_layout.py), so the audio thread can run a block without Python:
channel state and controllers per engine channel (16 per channel group), what the engine was
told per channel source, one record per engine voice slot, DirectMusic voice priorities per
channel, the mode (GM/GS/XG) per group, counters, and the pending list of event records.
The Python side reads them for status and tests; only the compiled call writes them while the
synth runs (besides the voice priorities and the gain, which the property handlers set).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmusd.banks.connection import (
    CONN_SRC_CHANNELPRESSURE,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_RPN0,
    CONN_SRC_RPN1,
    CONN_SRC_RPN2,
)
from dmusd.banks.model import Region
from dmusd.errors import PropertyError
from dmusd.kernel.synth_props import default_voice_priority
from dmusd.synth.engine import Engine
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.channel_state import reset_channel
from dmusd.synth.engine.jit import interpreted
from dmusd.synth.event_ring import EventRing

MODE_NAMES = {P.MODE_GM: "GM", P.MODE_GS: "GS", P.MODE_XG: "XG", P.MODE_GM2: "GM2"}


@dataclass(slots=True, frozen=True)
class VoiceInfo:
    """One voice of the note logic, as status and tests see it."""

    slot: int
    group: int
    channel: int
    key: int
    key_down: bool
    sostenuto: bool
    released: bool
    stopping: bool
    region: Region | None  # None once the table it started from is gone


class PinState:
    """The control state of one pin for one engine (re-made when the synth is re-opened)."""

    def __init__(self, engine: Engine, groups: int, budget: int, interpolation: int,
                 ring: EventRing) -> None:  # fmt: skip
        if not 1 <= budget <= engine.max_voices:
            raise ValueError(f"voice budget {budget} is outside 1..{engine.max_voices}")
        channels = 16 * groups
        if channels > engine.channels:
            raise ValueError(f"{groups} channel groups need {channels} engine channels")
        self.groups = groups
        self.ring = ring
        capacity = ring.capacity
        self.pending = np.zeros((capacity, P.EV_N), dtype=np.int64)
        self.pending_values = np.zeros(capacity, dtype=np.float64)
        self.chs = np.zeros((channels, P.CH_N), dtype=np.int64)
        self.cc = np.zeros((channels, 128), dtype=np.int64)
        self.vr = np.zeros((engine.max_voices, P.VR_N), dtype=np.int64)
        self.priorities = np.array(
            [default_voice_priority(ch % 16) for ch in range(channels)], dtype=np.int64
        )
        self.modes = np.full(groups, P.MODE_GM, dtype=np.int64)
        self.stats = np.zeros(P.ST_N, dtype=np.int64)
        self.stats[P.ST_BUDGET] = budget
        self.stats[P.ST_INTERPOLATION] = interpolation
        self.pf = np.zeros(P.PF_N, dtype=np.float64)
        self.pf[P.PF_MASTER_VOLUME] = 1.0
        # power-on depends on the channel within its group only: 16 channels as plain Python,
        # copied to every group (numba stays unloaded until something needs it)
        for e in range(min(16, channels)):
            interpreted(reset_channel, e, self.chs, self.cc)
        self.chs[16:] = np.tile(self.chs[:16], (groups - 1, 1))
        self.cc[16:] = np.tile(self.cc[:16], (groups - 1, 1))
        # a fresh engine is silent: the power-on values go straight into its channel table
        # (a thousand groups would not fit its command queue)
        chan = engine.chan
        chan[:channels, 0x80:0x100] = self.cc / 128.0
        chan[:channels, CONN_SRC_PITCHWHEEL] = self.chs[:, P.CH_WHEEL] / 16384.0
        chan[:channels, CONN_SRC_CHANNELPRESSURE] = self.chs[:, P.CH_PRESSURE] / 128.0
        bend = self.chs[:, P.CH_BEND_RANGE]
        chan[:channels, CONN_SRC_RPN0] = (bend // 128 + (bend % 128) / 100.0) / 128.0
        chan[:channels, CONN_SRC_RPN1] = self.chs[:, P.CH_FINE_TUNE] / 16384.0
        chan[:channels, CONN_SRC_RPN2] = self.chs[:, P.CH_COARSE_TUNE] / 128.0
        self.sent = np.array(chan[:channels], dtype=np.float64)
        self.arrays = (
            ring.records,
            ring.values,
            ring.positions,
            self.pending,
            self.pending_values,
            self.chs,
            self.cc,
            self.sent,
            self.vr,
            self.priorities,
            self.modes,
            self.stats,
            self.pf,
        )

    def counter(self, index: int) -> int:
        return int(self.stats[index])

    def clear_pending(self) -> None:
        """Drop the records taken from the ring and not played (the caller holds the render
        lock)."""
        self.stats[P.ST_PENDING] = 0
        self.stats[P.ST_PEND_HEAD] = 0

    # -- voice priorities (KSPROPERTY_SYNTH_VOICEPRIORITY) ------------------------------------
    def priority(self, group: int, channel: int) -> int:
        """The voice priority of a 0-based group's channel."""
        return int(self.priorities[self._channel(group, channel)])

    def set_priority(self, group: int, channel: int, priority: int) -> None:
        self.priorities[self._channel(group, channel)] = priority & 0xFFFFFFFF

    def _channel(self, group: int, channel: int) -> int:
        if not 0 <= channel < 16:
            raise PropertyError("STATUS_INVALID_PARAMETER", f"channel {channel} is not 0..15")
        if not 0 <= group < self.groups:
            raise PropertyError("STATUS_INVALID_PARAMETER", f"channel group {group + 1} is absent")
        return 16 * group + channel

    # -- inspection ------------------------------------------------------------------------------
    def mode(self, group: int) -> str:
        return MODE_NAMES[int(self.modes[group])]

    def voices(self, regions: tuple[Region, ...], generation: int) -> list[VoiceInfo]:
        """The live voices, oldest first; `regions` name the rows of table `generation`."""
        vr = self.vr
        live = np.flatnonzero(vr[:, P.VR_LIVE])
        live = live[np.argsort(vr[live, P.VR_SERIAL])]
        out = []
        for v in live:
            row = vr[v]
            same = row[P.VR_GENERATION] == generation and row[P.VR_REGION] < len(regions)
            out.append(
                VoiceInfo(
                    int(v),
                    int(row[P.VR_GROUP]),
                    int(row[P.VR_CHANNEL]),
                    int(row[P.VR_KEY]),
                    bool(row[P.VR_KEY_DOWN]),
                    bool(row[P.VR_SOSTENUTO]),
                    bool(row[P.VR_RELEASED]),
                    bool(row[P.VR_STOPPING]),
                    regions[row[P.VR_REGION]] if same else None,
                )
            )
        return out
