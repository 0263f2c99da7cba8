"""One MIDI channel's state as the DLS sources see it, compiled (the audio thread runs it).

Channel messages become source values (the numbers DLS connection blocks read: CC values, pitch
wheel, pressure, RPN 0/1/2) normalised the DLS way (7-bit v/128, 14-bit v/16384), sent to the
engine as timed SOURCE commands; the channel also keeps what the note logic needs: program and
bank, the drum flag, pedals, RPN/NRPN selection and data entry with increment/decrement.

`sent[channel, source]` mirrors what the engine was last told, so a reset or a reset-all-
controllers sends only the values that changed.
"""

from __future__ import annotations

from dmusd.banks import sf2_generators as G
from dmusd.banks.connection import (
    CONN_SRC_CHANNELPRESSURE,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_RPN0,
    CONN_SRC_RPN1,
    CONN_SRC_RPN2,
)
from dmusd.synth.engine import controllers as K
from dmusd.synth.engine import layout as L
from dmusd.synth.engine import nrpn
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.jit import realtime, realtime_inline, realtime_llvm_inline

_CC_SOURCE = 0x80  # CONN_SRC_CC(cc) = 0x80 + cc


@realtime_llvm_inline
def command(cmd_i, cmd_f, counts, offset, kind, a, b, value) -> bool:
    """Append one timed engine command; False when the queue is full (the caller made room)."""
    k = counts[0]
    if k >= cmd_i.shape[0]:
        return False
    cmd_i[k, L.CMD_OFFSET] = offset
    cmd_i[k, L.CMD_KIND] = kind
    cmd_i[k, L.CMD_A] = a
    cmd_i[k, L.CMD_B] = b
    cmd_f[k] = value
    counts[0] = k + 1
    return True


@realtime_llvm_inline
def send(ch, source, value, offset, sent, cmd_i, cmd_f, counts) -> None:
    """Tell the engine a source value of engine channel `ch` at `offset`, if it changed."""
    if sent[ch, source] != value:
        sent[ch, source] = value
        command(cmd_i, cmd_f, counts, offset, L.CMD_SOURCE, ch, source, value)


@realtime
def reset_controllers(ch, chs, cc) -> None:
    """CC121 (RP-015): wheel, pressure, expression, pedals, RPN selection. Not volume/pan."""
    chs[ch, P.CH_WHEEL] = 8192
    chs[ch, P.CH_PRESSURE] = 0
    for c in (K.CC_MODULATION, K.CC_BREATH, K.CC_FOOT, K.CC_PORTAMENTO_TIME, K.CC_PORTAMENTO,
              K.CC_PORTAMENTO_CONTROL, K.CC_SUSTAIN, K.CC_SOSTENUTO, K.CC_SOFT):  # fmt: skip
        cc[ch, c] = 0
    cc[ch, 11] = 127
    chs[ch, P.CH_PARAM] = P.NULL_PARAMETER
    chs[ch, P.CH_PARAM_IS_RPN] = 1
    chs[ch, P.CH_PORTA_KEY] = -1


@realtime
def reset_channel(ch, chs, cc) -> None:
    """Power-on / GM System On: every controller, program and tuning to its default (GM1 /
    RP-015: volume 100, pan centre, expression 127, reverb send 40), channel 10 drums."""
    for c in range(128):
        cc[ch, c] = 0
    cc[ch, 7] = 100
    cc[ch, 10] = 64
    cc[ch, 91] = 40
    chs[ch, P.CH_PROGRAM] = 0
    chs[ch, P.CH_BANK_MSB] = 0
    chs[ch, P.CH_BANK_LSB] = 0
    chs[ch, P.CH_DRUM] = 1 if ch % 16 == 9 else 0
    reset_controllers(ch, chs, cc)
    chs[ch, P.CH_BEND_RANGE] = 2 * 128
    chs[ch, P.CH_FINE_TUNE] = 8192
    chs[ch, P.CH_COARSE_TUNE] = 64
    chs[ch, P.CH_MOD_RANGE] = 64
    chs[ch, P.CH_CACHED_GEN] = -1
    chs[ch, P.CH_MONO] = 0
    chs[ch, P.CH_LAST_KEY] = -1
    keys_up(ch, chs)
    nrpn.reset(ch, chs)
    for pitch_class in range(12):  # equal temperament
        chs[ch, P.CH_SCALE_TUNING + pitch_class] = 0


@realtime
def keys_up(ch, chs) -> None:
    """No key of the channel is down (power-on, all notes off)."""
    chs[ch, P.CH_PRESSES] = 0
    for key in range(128):
        chs[ch, P.CH_KEY_PRESS + key] = 0


@realtime
def send_rpn_sources(ch, offset, chs, sent, cmd_i, cmd_f, counts) -> None:
    bend = chs[ch, P.CH_BEND_RANGE]
    semis = bend // 128
    cents = bend % 128  # RPN 0's LSB is cents (0..99)
    send(ch, CONN_SRC_RPN0, (semis + cents / 100.0) / 128.0, offset, sent, cmd_i, cmd_f, counts)
    send(ch, CONN_SRC_RPN1, chs[ch, P.CH_FINE_TUNE] / 16384.0, offset, sent, cmd_i, cmd_f, counts)
    send(ch, CONN_SRC_RPN2, chs[ch, P.CH_COARSE_TUNE] / 128.0, offset, sent, cmd_i, cmd_f, counts)


@realtime_inline
def _offset(ch, column, chs) -> float:
    """The value of channel offset column V_OFFSET .. V_VIB_PITCH for the channel's state."""
    if column < L.V_MOD_DEPTH:
        return nrpn.destination_offset(ch, column - L.V_OFFSET, chs)
    if column == L.V_MOD_DEPTH:  # RPN 5: MSB semitones, LSB 1/128 semitone (GM2)
        depth = chs[ch, P.CH_MOD_RANGE]
        return (depth // 128 * 100.0 + (depth % 128) * 100.0 / 128.0) / 50.0 - 1.0
    if column == L.V_LFO_PITCH:
        return float(chs[ch, P.CH_GEN + G.MOD_LFO_TO_PITCH])
    vib = chs[ch, P.CH_GEN + G.VIB_LFO_TO_PITCH]
    return vib + nrpn.DEPTH_STEP_CENTS * chs[ch, P.CH_PART + P.PART_VIB_DEPTH]


@realtime
def send_offsets(ch, offset, chs, sent, cmd_i, cmd_f, counts) -> None:
    """The channel offsets (NRPN, RPN 5) that differ from what the engine has."""
    for column in range(L.V_OFFSET, L.V_VIB_PITCH + 1):
        send(ch, column, _offset(ch, column, chs), offset, sent, cmd_i, cmd_f, counts)


@realtime
def send_all_sources(ch, offset, chs, cc, sent, cmd_i, cmd_f, counts) -> None:
    """Every source of the channel that differs from what the engine has."""
    for c in range(128):
        send(ch, _CC_SOURCE + c, cc[ch, c] / 128.0, offset, sent, cmd_i, cmd_f, counts)
    wheel = chs[ch, P.CH_WHEEL] / 16384.0
    send(ch, CONN_SRC_PITCHWHEEL, wheel, offset, sent, cmd_i, cmd_f, counts)
    pressure = chs[ch, P.CH_PRESSURE] / 128.0
    send(ch, CONN_SRC_CHANNELPRESSURE, pressure, offset, sent, cmd_i, cmd_f, counts)
    send_rpn_sources(ch, offset, chs, sent, cmd_i, cmd_f, counts)
    send_offsets(ch, offset, chs, sent, cmd_i, cmd_f, counts)


@realtime
def pitch_wheel(ch, lsb, msb, offset, chs, sent, cmd_i, cmd_f, counts) -> None:
    chs[ch, P.CH_WHEEL] = msb << 7 | lsb
    value = chs[ch, P.CH_WHEEL] / 16384.0
    send(ch, CONN_SRC_PITCHWHEEL, value, offset, sent, cmd_i, cmd_f, counts)


@realtime
def channel_pressure(ch, value, offset, chs, sent, cmd_i, cmd_f, counts) -> None:
    chs[ch, P.CH_PRESSURE] = value
    send(ch, CONN_SRC_CHANNELPRESSURE, value / 128.0, offset, sent, cmd_i, cmd_f, counts)


@realtime_inline
def _select(ch, msb, value, rpn, chs, cc) -> None:
    if chs[ch, P.CH_PARAM_IS_RPN] != rpn:  # switching between RPN and NRPN starts a new number
        chs[ch, P.CH_PARAM] = P.NULL_PARAMETER
        chs[ch, P.CH_PARAM_IS_RPN] = rpn
    param = chs[ch, P.CH_PARAM]
    if msb:
        chs[ch, P.CH_PARAM] = (value << 7) | (param & 0x7F)
    else:
        chs[ch, P.CH_PARAM] = (param & 0x3F80) | value
    if not rpn:
        nrpn.select(ch, msb, value, chs, cc)


@realtime_llvm_inline
def _edit(c, value, total, lsb_span) -> int:
    """A data entry MSB/LSB or an increment/decrement (one LSB step, carrying) applied to
    `total` = MSB x lsb_span + LSB; returns the new total."""
    msb = total // lsb_span
    lsb = total % lsb_span
    if c == K.CC_DATA_MSB:
        return value * lsb_span + (0 if lsb_span > 1 else lsb)
    if c == K.CC_DATA_LSB:
        return msb * lsb_span + (min(value, lsb_span - 1) if lsb_span > 1 else lsb)
    step = 1 if c == K.CC_DATA_INC else -1
    return max(0, min(total + step, 128 * lsb_span - 1))


@realtime
def _data_entry(ch, c, value, offset, chs, cc, sent, cmd_i, cmd_f, counts) -> None:
    if chs[ch, P.CH_PARAM] == P.NULL_PARAMETER:
        return
    if chs[ch, P.CH_PARAM_IS_RPN] == 0:
        if nrpn.data_entry(ch, c, chs, cc):
            send_offsets(ch, offset, chs, sent, cmd_i, cmd_f, counts)
        return
    rpn = chs[ch, P.CH_PARAM]
    if rpn == 0:  # pitch bend range: MSB semitones, LSB cents
        bend = chs[ch, P.CH_BEND_RANGE]
        total = _edit(c, value, (bend // 128) * 100 + bend % 128, 100)
        chs[ch, P.CH_BEND_RANGE] = min(total // 100, 127) * 128 + total % 100
    elif rpn == 1:  # fine tuning: 14-bit, 8192 = centre, +-100 cents
        chs[ch, P.CH_FINE_TUNE] = _edit(c, value, chs[ch, P.CH_FINE_TUNE], 128) & 0x3FFF
    elif rpn == 2:  # coarse tuning: MSB semitones around 64, LSB unused
        chs[ch, P.CH_COARSE_TUNE] = min(_edit(c, value, chs[ch, P.CH_COARSE_TUNE], 1), 127)
    elif rpn == 5:  # modulation depth range (GM2): scales the mod wheel's vibrato
        chs[ch, P.CH_MOD_RANGE] = _edit(c, value, chs[ch, P.CH_MOD_RANGE], 128)
        send_offsets(ch, offset, chs, sent, cmd_i, cmd_f, counts)
        return
    else:
        return
    send_rpn_sources(ch, offset, chs, sent, cmd_i, cmd_f, counts)


@realtime
def control_change(ch, c, value, offset, chs, cc, sent, cmd_i, cmd_f, counts) -> None:
    """Store a controller and send the source values it changes. The note-level effects of
    pedals and channel-mode messages are the note logic's (note_logic.control_change)."""
    cc[ch, c] = value
    if c == K.CC_BANK_MSB:
        chs[ch, P.CH_BANK_MSB] = value
    elif c == K.CC_BANK_LSB:
        chs[ch, P.CH_BANK_LSB] = value
    elif c in (K.CC_RPN_LSB, K.CC_RPN_MSB):
        _select(ch, c == K.CC_RPN_MSB, value, 1, chs, cc)
    elif c in (K.CC_NRPN_LSB, K.CC_NRPN_MSB):
        _select(ch, c == K.CC_NRPN_MSB, value, 0, chs, cc)
    elif c in (K.CC_DATA_MSB, K.CC_DATA_LSB, K.CC_DATA_INC, K.CC_DATA_DEC):
        _data_entry(ch, c, value, offset, chs, cc, sent, cmd_i, cmd_f, counts)
        return
    elif c == K.CC_PORTAMENTO_CONTROL:
        chs[ch, P.CH_PORTA_KEY] = value  # the next note glides from this key
    elif c == K.CC_RESET_ALL:
        reset_controllers(ch, chs, cc)
        send_all_sources(ch, offset, chs, cc, sent, cmd_i, cmd_f, counts)
        return
    # every CC is a source the articulation may read, pedals and bank selects included
    sent[ch, _CC_SOURCE + c] = value / 128.0
    command(cmd_i, cmd_f, counts, offset, L.CMD_SOURCE, ch, _CC_SOURCE + c, value / 128.0)
