"""One MIDI channel's state, as the DLS sources see it.

Turns channel messages into source values (the numbers DLS connection blocks read: CC values,
pitch wheel, pressure, RPN 0/1/2) normalised the DLS way (7-bit v/128, 14-bit v/16384), and keeps
what the note logic needs: program and bank, the drum flag, pedals, RPN/NRPN selection and data
entry with increment/decrement.
"""

from __future__ import annotations

from dmusd.banks.connection import (
    CONN_SRC_CC,
    CONN_SRC_CHANNELPRESSURE,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_RPN0,
    CONN_SRC_RPN1,
    CONN_SRC_RPN2,
)
from dmusd.banks.model import make_patch

CC_BANK_MSB, CC_BANK_LSB = 0, 32
CC_DATA_MSB, CC_DATA_LSB = 6, 38
CC_SUSTAIN, CC_SOSTENUTO, CC_SOFT = 64, 66, 67
CC_DATA_INC, CC_DATA_DEC = 96, 97
CC_NRPN_LSB, CC_NRPN_MSB, CC_RPN_LSB, CC_RPN_MSB = 98, 99, 100, 101
CC_ALL_SOUND_OFF, CC_RESET_ALL, CC_ALL_NOTES_OFF = 120, 121, 123
NULL_PARAMETER = 0x3FFF  # RPN 127/127: data entry goes nowhere

# Controller values after power-on and GM reset (GM1 / RP-015 "reset all controllers" keeps
# volume, pan, bank and program; GM reset sets all of these).
DEFAULT_CC = {7: 100, 10: 64, 11: 127, 91: 40, 93: 0}


def _src_value_7(v: int) -> float:
    return v / 128.0


class Channel:
    """One of the 16 channels of a channel group."""

    __slots__ = (
        "number",
        "cc",
        "program",
        "bank_msb",
        "bank_lsb",
        "drum",
        "pitch_wheel",
        "pressure",
        "bend_range",
        "fine_tune",
        "coarse_tune",
        "mod_depth_range",
        "_param",
        "_param_is_rpn",
    )

    def __init__(self, number: int) -> None:
        self.number = number  # 0..15
        self.cc = bytearray(128)
        self.reset(gm=True)

    def reset(self, gm: bool, drum: bool | None = None) -> None:
        """Power-on / GM System On: every controller, program and tuning to its default."""
        self.cc[:] = bytes(128)
        for cc, value in DEFAULT_CC.items():
            self.cc[cc] = value
        self.program = self.bank_msb = self.bank_lsb = 0
        self.drum = (self.number == 9) if drum is None else drum
        self.reset_controllers()
        self.bend_range = 2 * 128  # semitones x 128 + cents
        self.fine_tune = 8192  # 14-bit, centred
        self.coarse_tune = 64
        self.mod_depth_range = 64  # RPN 5, in cents (GM2 default 50 cents; stored for queries)

    def reset_controllers(self) -> None:
        """CC121 (RP-015): wheel, pressure, expression, pedals, RPN selection. Not volume/pan."""
        self.pitch_wheel = 8192
        self.pressure = 0
        for cc in (1, CC_SUSTAIN, CC_SOSTENUTO, CC_SOFT, 2, 4, 5, 65, 84):
            self.cc[cc] = 0
        self.cc[11] = 127
        self._param = NULL_PARAMETER
        self._param_is_rpn = True

    @property
    def patch(self) -> int:
        return make_patch(self.program, self.bank_msb, self.bank_lsb, self.drum)

    # -- what the connection blocks read ---------------------------------------------------
    def sources(self) -> list[tuple[int, float]]:
        """Every channel source with its current value (to load a fresh engine channel)."""
        out = [(CONN_SRC_CC(cc), _src_value_7(v)) for cc, v in enumerate(self.cc)]
        out += [
            (CONN_SRC_PITCHWHEEL, self.pitch_wheel / 16384.0),
            (CONN_SRC_CHANNELPRESSURE, self.pressure / 128.0),
            *self._rpn_sources(),
        ]
        return out

    def _rpn_sources(self) -> list[tuple[int, float]]:
        semis, cents = divmod(self.bend_range, 128)  # RPN 0's LSB is cents (0..99)
        return [
            (CONN_SRC_RPN0, (semis + cents / 100.0) / 128.0),  # semitones / 128
            (CONN_SRC_RPN1, self.fine_tune / 16384.0),
            (CONN_SRC_RPN2, self.coarse_tune / 128.0),
        ]

    def set_pitch_wheel(self, lsb: int, msb: int) -> list[tuple[int, float]]:
        self.pitch_wheel = msb << 7 | lsb
        return [(CONN_SRC_PITCHWHEEL, self.pitch_wheel / 16384.0)]

    def set_pressure(self, value: int) -> list[tuple[int, float]]:
        self.pressure = value
        return [(CONN_SRC_CHANNELPRESSURE, value / 128.0)]

    def control_change(self, cc: int, value: int) -> list[tuple[int, float]]:
        """Store a controller; returns the source values that changed (maybe none)."""
        self.cc[cc] = value
        if cc == CC_BANK_MSB:
            self.bank_msb = value
        elif cc == CC_BANK_LSB:
            self.bank_lsb = value
        elif cc in (CC_RPN_LSB, CC_RPN_MSB):
            self._select(cc == CC_RPN_MSB, value, rpn=True)
        elif cc in (CC_NRPN_LSB, CC_NRPN_MSB):
            self._select(cc == CC_NRPN_MSB, value, rpn=False)
        elif cc in (CC_DATA_MSB, CC_DATA_LSB, CC_DATA_INC, CC_DATA_DEC):
            return self._data_entry(cc, value)
        elif cc == CC_RESET_ALL:
            self.reset_controllers()
            return self.sources()
        return [(CONN_SRC_CC(cc), _src_value_7(value))]

    # -- RPN / NRPN ------------------------------------------------------------------------
    def _select(self, msb: bool, value: int, rpn: bool) -> None:
        if self._param_is_rpn != rpn:  # switching between RPN and NRPN starts a new number
            self._param = NULL_PARAMETER
            self._param_is_rpn = rpn
        if msb:
            self._param = (value << 7) | (self._param & 0x7F)
        else:
            self._param = (self._param & 0x3F80) | value

    @property
    def selected_rpn(self) -> int | None:
        """The RPN number data entry goes to, or None (NRPN or the null parameter)."""
        if not self._param_is_rpn or self._param == NULL_PARAMETER:
            return None
        return self._param

    def _data_entry(self, cc: int, value: int) -> list[tuple[int, float]]:
        rpn = self.selected_rpn
        if rpn is None:
            return []  # NRPNs are accepted and ignored: no GS/XG NRPN is mapped yet
        if rpn == 0:  # pitch bend range: MSB semitones, LSB cents
            semis, cents = divmod(self.bend_range, 128)
            semis, cents = self._edit(cc, value, semis, cents, 100)
            self.bend_range = min(semis, 127) * 128 + cents
        elif rpn == 1:  # fine tuning: 14-bit, 8192 = centre, +-100 cents
            msb, lsb = divmod(self.fine_tune, 128)
            msb, lsb = self._edit(cc, value, msb, lsb, 128)
            self.fine_tune = (msb << 7 | lsb) & 0x3FFF
        elif rpn == 2:  # coarse tuning: MSB semitones around 64, LSB unused
            msb, _ = self._edit(cc, value, self.coarse_tune, 0, 1)
            self.coarse_tune = min(msb, 127)
        elif rpn == 5:  # modulation depth range
            msb, lsb = divmod(self.mod_depth_range, 128)
            msb, lsb = self._edit(cc, value, msb, lsb, 128)
            self.mod_depth_range = msb * 128 + lsb
            return []
        else:
            return []
        return self._rpn_sources()

    @staticmethod
    def _edit(cc: int, value: int, msb: int, lsb: int, lsb_span: int) -> tuple[int, int]:
        """Apply a data entry MSB/LSB or an increment/decrement (one LSB step, carrying)."""
        if cc == CC_DATA_MSB:
            return value, (0 if lsb_span > 1 else lsb)
        if cc == CC_DATA_LSB:
            return msb, min(value, lsb_span - 1) if lsb_span > 1 else lsb
        total = msb * lsb_span + lsb + (1 if cc == CC_DATA_INC else -1)
        total = max(0, min(total, 127 * lsb_span + lsb_span - 1))
        return divmod(total, lsb_span) if lsb_span > 1 else (min(total, 127), lsb)
