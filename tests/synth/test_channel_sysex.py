"""Channel state (engine/channel_state.py: controllers, RPN/NRPN, data entry) and SysEx
decoding."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks.connection import (
    CONN_SRC_CC,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_RPN0,
    CONN_SRC_RPN1,
    CONN_SRC_RPN2,
)
from dmusd.midifile import read_midi_file
from dmusd.synth import sysex as S
from dmusd.synth.engine import channel_state as C
from dmusd.synth.engine import layout as L
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.note_logic import channel_patch
from tests.support import SHARED_DATA


class Channel:
    """One engine channel's compiled state, driven the way the note logic drives it; `sent`
    collects the source values each call sends to the engine."""

    def __init__(self, number: int) -> None:
        self.e = number
        self.chs = np.zeros((16, P.CH_N), dtype=np.int64)
        self.cc = np.zeros((16, 128), dtype=np.int64)
        self.mirror = np.full((16, L.N_SOURCES), -1.0)
        self.cmd_i = np.zeros((8192, L.CMD_NI), dtype=np.int64)
        self.cmd_f = np.zeros(8192)
        self.counts = np.zeros(2, dtype=np.int64)
        C.reset_channel(self.e, self.chs, self.cc)

    def field(self, column: int) -> int:
        return int(self.chs[self.e, column])

    def _sent(self) -> dict[int, float]:
        n = int(self.counts[0])
        self.counts[0] = 0
        return {int(self.cmd_i[k, L.CMD_B]): float(self.cmd_f[k]) for k in range(n)}

    def control_change(self, cc: int, value: int) -> dict[int, float]:
        args = (self.chs, self.cc, self.mirror, self.cmd_i, self.cmd_f, self.counts)
        C.control_change(self.e, cc, value, 0, *args)
        return self._sent()

    def set_pitch_wheel(self, lsb: int, msb: int) -> dict[int, float]:
        args = (self.chs, self.mirror, self.cmd_i, self.cmd_f, self.counts)
        C.pitch_wheel(self.e, lsb, msb, 0, *args)
        return self._sent()

    def sources(self) -> dict[int, float]:
        args = (self.chs, self.cc, self.mirror, self.cmd_i, self.cmd_f, self.counts)
        C.send_all_sources(self.e, 0, *args)
        return self._sent()

    @property
    def patch(self) -> int:
        return channel_patch(self.e, self.chs, np.zeros(1, dtype=np.int64))


def rpn(ch: Channel, number: int, *data: tuple[int, int]) -> dict[int, float]:
    ch.control_change(101, number >> 7)
    ch.control_change(100, number & 0x7F)
    out = {}  # every source value the data entry sent (an unchanged one is not sent again)
    for cc, value in data:
        out.update(ch.control_change(cc, value))
    return out


def test_defaults_and_drum_channel():
    ch = Channel(0)
    assert tuple(ch.cc[0, [7, 10, 11]]) + (ch.field(P.CH_WHEEL),) == (100, 64, 127, 8192)
    assert not ch.field(P.CH_DRUM) and Channel(9).field(P.CH_DRUM)
    assert Channel(9).patch == 0x8000_0000
    src = ch.sources()
    assert src[CONN_SRC_CC(10)] == 0.5 and src[CONN_SRC_PITCHWHEEL] == 0.5
    assert src[CONN_SRC_RPN0] == 2 / 128 and src[CONN_SRC_RPN1] == 0.5 and src[CONN_SRC_RPN2] == 0.5


def test_bank_select_and_program_make_the_patch():
    ch = Channel(3)
    ch.control_change(0, 8)
    ch.control_change(32, 1)
    ch.chs[3, P.CH_PROGRAM] = 25
    assert ch.patch == (8 << 16) | (1 << 8) | 25


def test_pitch_bend_range_rpn0_with_data_entry_and_increment():
    ch = Channel(0)
    out = rpn(ch, 0, (6, 12))
    assert ch.field(P.CH_BEND_RANGE) == 12 * 128 and out[CONN_SRC_RPN0] == 12 / 128
    rpn(ch, 0, (38, 50))
    assert ch.field(P.CH_BEND_RANGE) == 12 * 128 + 50
    for _ in range(60):  # +60 cents carries into the semitone
        ch.control_change(96, 0)
    assert ch.field(P.CH_BEND_RANGE) == 13 * 128 + 10
    ch.control_change(97, 0)
    assert ch.field(P.CH_BEND_RANGE) == 13 * 128 + 9


def test_fine_and_coarse_tuning_rpns():
    ch = Channel(0)
    out = rpn(ch, 1, (6, 0x50), (38, 0))
    assert ch.field(P.CH_FINE_TUNE) == 0x50 << 7 and out[CONN_SRC_RPN1] == (0x50 << 7) / 16384
    out = rpn(ch, 2, (6, 66))
    assert ch.field(P.CH_COARSE_TUNE) == 66 and out[CONN_SRC_RPN2] == 66 / 128


def test_null_rpn_and_unknown_nrpn_swallow_data_entry():
    ch = Channel(0)
    assert rpn(ch, 0x3FFF, (6, 24)) == {} and ch.field(P.CH_BEND_RANGE) == 2 * 128
    ch.control_change(99, 1)
    ch.control_change(98, 0x50)  # no GS part parameter
    assert ch.control_change(6, 24) == {} and ch.field(P.CH_BEND_RANGE) == 2 * 128
    assert ch.field(P.CH_PARAM_IS_RPN) == 0


def test_nrpn_data_entry_sends_the_channel_offset_of_its_destination():
    ch = Channel(0)
    ch.sources()
    ch.control_change(99, 1)
    ch.control_change(98, 8)  # GS vibrato rate, relative
    assert ch.control_change(6, 64 + 16) == {L.V_OFFSET + L.D_VIB_FREQ: 16 * 18.75}
    ch.control_change(99, 120)  # SF2.01: generator 8 (cutoff), 2 cents a step
    ch.control_change(98, 8)
    ch.control_change(38, (8192 - 600) & 0x7F)  # the LSB first, as SF2.01 NRPNs are sent
    assert ch.control_change(6, (8192 - 600) >> 7) == {L.V_OFFSET + L.D_CUTOFF: -1200.0}
    ch.control_change(99, 120)  # LSB 100 + LSB 1: generator 101 (none): nothing
    ch.control_change(98, 100)
    ch.control_change(98, 1)
    assert ch.control_change(6, 80) == {}


def test_reset_all_controllers_keeps_volume_and_pan():
    ch = Channel(0)
    for cc, v in ((7, 30), (10, 0), (64, 127), (11, 40), (1, 90)):
        ch.control_change(cc, v)
    ch.set_pitch_wheel(0, 0)
    ch.control_change(121, 0)
    assert (ch.cc[0, 7], ch.cc[0, 10]) == (30, 0)
    assert (ch.cc[0, 64], ch.cc[0, 11], ch.cc[0, 1], ch.field(P.CH_WHEEL)) == (0, 127, 0, 8192)


@pytest.mark.parametrize(
    ("hexmsg", "kind", "value", "channel"),
    [
        ("f0 7e 7f 09 01 f7", S.GM_ON, 0, -1),
        ("f0 7e 10 09 02 f7", S.GM_OFF, 0, -1),
        ("f0 7f 7f 04 01 00 40 f7", S.MASTER_VOLUME, 8192 / 16383, -1),
        ("f0 7f 7f 04 03 00 60 f7", S.MASTER_FINE_TUNING, 50.0, -1),
        ("f0 7f 7f 04 04 00 3e f7", S.MASTER_COARSE_TUNING, -2.0, -1),
        ("f0 41 10 42 12 40 00 7f 00 41 f7", S.GS_RESET, 0, -1),
        ("f0 41 10 42 12 40 1a 15 02 0f f7", S.GS_RHYTHM, 2, 10),
        ("f0 43 10 4c 00 00 7e 00 f7", S.XG_ON, 0, -1),
    ],
)
def test_sysex_decoding(hexmsg, kind, value, channel):
    action = S.decode_sysex(bytes.fromhex(hexmsg))
    assert action is not None and action.kind == kind
    assert action.value == pytest.approx(value) and action.channel == channel


@pytest.mark.parametrize(
    "hexmsg",
    [
        "f0 41 10 42 12 40 00 7f 00 40 f7",  # bad Roland checksum
        "f0 7e 7f 06 01 f7",  # identity request: nothing to do
        "f0 7e 7f 09 01",  # no F7
        "f0 43 10 4c 00 00 7e 01 f7",  # XG, another parameter
        # found by bench/fuzz/unpacker.py: status bytes inside made a master volume of 1.9
        "f0 7f 7f 04 01 00 f4 f4 03 00 40 f4 60 f7",
        "f0 7f 7f 04 01 ff 7f f7",  # an 8-bit LSB: past full volume
    ],
)
def test_sysex_we_do_not_act_on(hexmsg):
    assert S.decode_sysex(bytes.fromhex(hexmsg)) is None


def test_scale_tuning_decodes_both_forms_and_the_channel_mask():
    one = S.decode_sysex(bytes.fromhex("f0 7e 7f 08 08 03 00 05" + " 40" * 11 + " 7f f7"))
    assert one is not None and one.kind == S.SCALE_TUNING
    assert one.channels == (0, 2, 14, 15)
    assert one.cents == (0.0,) * 11 + (63.0,)
    two_byte = "f0 7f 7f 08 09 00 00 01 00 00" + " 40 00" * 10 + " 7f 7f f7"
    two = S.decode_sysex(bytes.fromhex(two_byte))
    assert two is not None and two.channels == (0,)
    assert two.cents[0] == pytest.approx(-100.0) and two.cents[1:11] == (0.0,) * 10
    assert two.cents[11] == pytest.approx((16383 - 8192) * 100 / 8192)  # 7F 7F: just under +100
    # a wrong length is not a tuning
    assert S.decode_sysex(bytes.fromhex("f0 7e 7f 08 08 00 00 01 40 f7")) is None


def test_gs_drum_part_file_decodes_to_rhythm_changes():
    song = read_midi_file(
        SHARED_DATA / "test-midi-files/midi/test-sysex-gs-40-1x-15-drum-part-change.mid"
    )
    actions = [S.decode_sysex(d) for _, _, d in song.events if d[0] == 0xF0]
    assert [a.kind for a in actions] == [S.GS_RESET, S.GS_RHYTHM, S.GS_RHYTHM]
    assert [(a.channel, a.value) for a in actions[1:]] == [(0, 2.0), (9, 0.0)]
