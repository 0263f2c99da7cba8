"""PinOutput: a live pin's own outputs, apart from the main pair (DirectMusic's buses).

On JACK each pin has a stereo pair of its own, and may ask for its reverb and chorus returns
apart (`effect_outputs`) and for one dry pair per MIDI channel (`channel_outputs`); the engine
then renders those stems as extra columns of its block (engine/layout.py, STEM_ROW_OFFSET). The
JACK output (io/jack_output.py) gives the pin an `area` to render into and registers a port per
column; the main pair is the sum of every pin's mix. Without an area (PortAudio's backends, or
a pin added by a reload) the pin renders into the main mix only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmusd.synth.engine import layout as L

OWN_OUTPUT_PINS = 16  # pins that may have outputs of their own (jack_output.py's areas)


@dataclass(slots=True)
class PinOutput:
    name: str  # the pin's
    effects: bool = False
    channels: bool = False
    area: np.ndarray | None = None  # (frames, columns) float32, set by the JACK output

    @property
    def columns(self) -> int:
        return 2 + L.EFFECT_STEMS * self.effects + L.CHANNEL_STEMS * self.channels

    def port_names(self) -> list[str]:
        """The JACK port name of each column, in column order."""
        pairs = [""]
        if self.effects:
            pairs += [" reverb", " chorus"]
        if self.channels:
            pairs += [f" ch{channel}" for channel in range(1, 17)]
        return [f"{self.name}{pair} {side}" for pair in pairs for side in ("L", "R")]
