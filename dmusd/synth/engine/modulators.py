"""Connection blocks at work: once at note-on and then at every control point.

At note-on every connection is sorted by what it reads and where it goes:
- source and control fixed for the note (none, velocity, key) into a destination the voice reads
  continuously: summed once into the voice's base (VF_BASE + d);
- reading an LFO or an EG: a "modulator" row, moved to the front (rows 0 .. n_mod - 1) and
  evaluated at every control point;
- reading a channel source (CC, wheel, pressure, RPN): a "channel" row (rows n_mod .. n_dyn - 1),
  summed with the base into VF_CHAN only at note-on and when a command changes a channel source
  (VI_RECALC), since between those it cannot change;
- destinations read only at note-on (EG times and sustain, LFO delays): evaluated right away with
  the channel's values at that sample.
A control point computes the values the voice will have one interval ahead (EGs and LFOs are
advanced to that sample first) and sets linear ramps towards them, so pitch and gain never step;
anything whose inputs did not change is not recomputed.
"""

from __future__ import annotations

import math

from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.envelope import DB_RANGE, eg1_amplitude, eg2_value, eg_advance, eg_start
from dmusd.synth.engine.filter import MAX_CUTOFF_RATIO, filter_clear, filter_set
from dmusd.synth.engine.jit import realtime, realtime_inline, realtime_llvm_inline
from dmusd.synth.engine.lfo import lfo_advance

_PAN_HALF_PI = 0.5 * math.pi
_LN10_20 = math.log(10.0) / 20.0  # dB -> natural log of the amplitude
_LN2_1200 = math.log(2.0) / 1200.0  # cents -> natural log of the ratio
_MAX_GAIN_DB = 24.0
# A voice whose envelope can only fall (decay, sustain, release) ends once its wave's loudest
# sample would come out below this (after the master gain) even at the top of its LFOs' and
# EGs' swing on the gain: 20 dB under a 16-bit file's last bit. FluidSynth ends voices at -90 dB
# by a like rule.
_SILENCE_FLOOR = 10.0 ** (-110.0 / 20.0)
_MAX_INC = 1024.0  # samples per output sample: far above any musical use, far below overflow
_PITCH_BITS = (1 << L.D_PITCH) | (1 << L.D_KEYNUMBER)
_PAN_BITS = (1 << L.D_PAN) | (1 << L.D_REVERB) | (1 << L.D_CHORUS)
_FILTER_BITS = (1 << L.D_CUTOFF) | (1 << L.D_Q)

_STATIC, _CHANNEL, _MODULATOR = 0, 1, 2
_CC_MODULATION = C.CONN_SRC_CC1
_OPEN_CUTOFF = 13500.0  # absolute cents (19.9 kHz): SF2's initialFilterFc default, "open"
_UNSET_TIME = -12000.0  # time cents an offset starts from when no row gives the time (~1 ms)


@realtime_llvm_inline
def _kind(src: int) -> int:
    if src == C.CONN_SRC_NONE or src == C.CONN_SRC_KEYONVELOCITY or src == C.CONN_SRC_KEYNUMBER:
        return _STATIC
    if (
        src == C.CONN_SRC_LFO
        or src == C.CONN_SRC_VIBRATO
        or src == C.CONN_SRC_EG1
        or src == C.CONN_SRC_EG2
    ):
        return _MODULATOR
    return _CHANNEL


@realtime_inline
def _uses(src: int) -> int:
    if src == C.CONN_SRC_LFO:
        return L.USES_LFO
    if src == C.CONN_SRC_VIBRATO:
        return L.USES_VIB
    if src == C.CONN_SRC_EG2:
        return L.USES_EG2
    if src == C.CONN_SRC_EG1:
        return L.USES_EG1
    return 0


@realtime_inline
def source_value(src, v, vi, vf, chan, poly) -> float:
    """A source's normalized value u (0..1) for voice v now; LFOs give (x + 1) / 2."""
    if src == C.CONN_SRC_KEYONVELOCITY:
        return vi[v, L.VI_VELOCITY] / 128.0
    if src == C.CONN_SRC_KEYNUMBER:
        return vi[v, L.VI_KEY] / 128.0
    if src == C.CONN_SRC_LFO:
        return 0.5 * (vf[v, L.VF_LFO_VALUE] + 1.0)
    if src == C.CONN_SRC_VIBRATO:
        return 0.5 * (vf[v, L.VF_VIB_VALUE] + 1.0)
    if src == C.CONN_SRC_EG1:
        return eg1_amplitude(vf, vi, v)
    if src == C.CONN_SRC_EG2:
        return eg2_value(vf, vi, v)
    ch = vi[v, L.VI_CHANNEL]
    if src == C.CONN_SRC_POLYPRESSURE:
        return poly[ch, vi[v, L.VI_KEY]]
    if src == C.CONN_SRC_MONOPRESSURE:
        src = C.CONN_SRC_CHANNELPRESSURE
    if src <= L.LAST_DLS_BASIC or L.FIRST_DLS_CC <= src < L.N_SOURCES:
        return chan[ch, src]
    return 0.0  # no DLS source (the channel offsets live there: rows must not read them)


@realtime_llvm_inline
def _side(src, bits, v, vi, vf, chan, poly) -> float:
    if src == C.CONN_SRC_NONE:
        return 1.0
    # the per-note modulators inline: they are read at every control point
    if src == C.CONN_SRC_LFO or src == C.CONN_SRC_VIBRATO:
        value = vf[v, L.VF_LFO_VALUE if src == C.CONN_SRC_LFO else L.VF_VIB_VALUE]
        if bits == 0:
            return value  # the common case: plain bipolar LFO
        # an LFO is bipolar by nature (DLS1 art1 never says so)
        return C.apply_transform(bits | C.T_BIPOLAR, 0.5 * (value + 1.0))
    if src == C.CONN_SRC_EG2 and bits == 0:
        return eg2_value(vf, vi, v)
    return C.apply_transform(bits, source_value(src, v, vi, vf, chan, poly))


@realtime
def connection_value(v, k, vi, vf, conn, cscale, chan, poly) -> float:
    """scale x f_src(source) x f_ctl(control) for connection row k of voice v."""
    s = _side(conn[v, k, L.C_SOURCE], conn[v, k, L.C_SRC_TRANSFORM], v, vi, vf, chan, poly)
    if s == 0.0:
        return 0.0
    c = _side(conn[v, k, L.C_CONTROL], conn[v, k, L.C_CTL_TRANSFORM], v, vi, vf, chan, poly)
    return cscale[v, k, 0] * s * c


@realtime_inline
def _modulator_row(v, k, vi, vf, conn, cscale, chan, poly) -> float:
    """A modulator row at a control point, the common shapes without the general machinery."""
    src = conn[v, k, L.C_SOURCE]
    bits = conn[v, k, L.C_SRC_TRANSFORM]
    if src == C.CONN_SRC_LFO or src == C.CONN_SRC_VIBRATO:
        x = vf[v, L.VF_LFO_VALUE if src == C.CONN_SRC_LFO else L.VF_VIB_VALUE]
        if bits != 0:
            x = C.apply_transform(bits | C.T_BIPOLAR, 0.5 * (x + 1.0))
    elif src == C.CONN_SRC_EG2:
        x = eg2_value(vf, vi, v)
        if bits != 0:
            x = C.apply_transform(bits, x)
    else:  # EG1, or a fixed or channel source under a modulator control
        x = _side(src, bits, v, vi, vf, chan, poly)
    ctl = conn[v, k, L.C_CONTROL]
    if _kind(ctl) == _MODULATOR:
        return (
            cscale[v, k, 0] * x * _side(ctl, conn[v, k, L.C_CTL_TRANSFORM], v, vi, vf, chan, poly)
        )
    return cscale[v, k, 1] * x


@realtime
def _resum_channel_rows(v, vi, vf, conn, cscale, chan, poly, acc) -> None:
    """Sum the base and the channel rows into VF_CHAN (and acc); refresh modulator factors."""
    n_mod = vi[v, L.VI_N_MOD]
    ch = vi[v, L.VI_CHANNEL]
    for d in range(L.N_DYNAMIC):  # the channel's offsets (NRPN) join the base
        acc[d] = vf[v, L.VF_BASE + d] + chan[ch, L.V_OFFSET + d]
    acc[L.D_PITCH] += chan[ch, L.V_TUNING]
    for k in range(n_mod, vi[v, L.VI_N_DYN]):
        d = conn[v, k, L.C_DEST]
        if d < L.N_DYNAMIC:
            acc[d] += connection_value(v, k, vi, vf, conn, cscale, chan, poly)
    for d in range(L.N_DYNAMIC):
        vf[v, L.VF_CHAN + d] = acc[d]
    # a modulator row's control side (none, velocity, a CC ...) is fixed until the next
    # re-sum: fold it into the row's factor now
    depth = 1.0 + chan[ch, L.V_MOD_DEPTH]
    for k in range(n_mod):
        ctl = conn[v, k, L.C_CONTROL]
        if _kind(ctl) != _MODULATOR:
            side = _side(ctl, conn[v, k, L.C_CTL_TRANSFORM], v, vi, vf, chan, poly)
            if ctl == _CC_MODULATION and conn[v, k, L.C_DEST] == L.D_PITCH:
                side *= depth  # RPN 5 scales the mod wheel's vibrato, as FluidSynth does
            cscale[v, k, 1] = cscale[v, k, 0] * side
    _channel_lfo_depths(v, ch, vi, vf, chan)
    _legato_move(v, ch, vf, chan)
    vi[v, L.VI_RECALC] = 0


@realtime_inline
def _legato_move(v, ch, vf, chan) -> None:
    """Mono mode moved the channel's voice to another key: take the new pitch, gliding to it
    when portamento is on."""
    move = chan[ch, L.V_LEGATO] - vf[v, L.VF_LEGATO_BASE]
    delta = move - vf[v, L.VF_LEGATO]
    if delta != 0.0:
        vf[v, L.VF_LEGATO] = move
        if chan[ch, L.V_GLIDE_RATE] > 0.0:
            vf[v, L.VF_PORTA] -= delta
            vf[v, L.VF_PORTA_RATE] = chan[ch, L.V_GLIDE_RATE]


@realtime_inline
def _channel_lfo_depths(v, ch, vi, vf, chan) -> None:
    """LFO -> pitch depths the channel adds (NRPN): the voice now runs those LFOs."""
    vf[v, L.VF_LFO_PITCH] = chan[ch, L.V_LFO_PITCH]
    vf[v, L.VF_VIB_PITCH] = chan[ch, L.V_VIB_PITCH]
    if vf[v, L.VF_LFO_PITCH] != 0.0:
        vi[v, L.VI_USES] |= L.USES_LFO
        vi[v, L.VI_MOD_MASK] |= 1 << L.D_PITCH
    if vf[v, L.VF_VIB_PITCH] != 0.0:
        vi[v, L.VI_USES] |= L.USES_VIB
        vi[v, L.VI_MOD_MASK] |= 1 << L.D_PITCH


@realtime_inline
def steady(v, vi, vf) -> bool:
    """True when this point would set the same targets as the last one and the last ramp has
    arrived: a sustained note with nothing modulating it. Then there is nothing to compute."""
    return (
        vi[v, L.VI_CTL_LEFT] == 0
        and vi[v, L.VI_EG1_STAGE] == L.EG_SUSTAIN
        and vi[v, L.VI_STATE] == L.VOICE_PLAYING
        and vi[v, L.VI_N_MOD] == 0
        and vi[v, L.VI_USES] == 0
        and vi[v, L.VI_RECALC] == 0
        and vf[v, L.VF_PORTA] == 0.0
        and vi[v, L.VI_DINC] == 0
        and vf[v, L.VF_DGL] == 0.0
        and vf[v, L.VF_DGR] == 0.0
        and vf[v, L.VF_DGREV] == 0.0
        and vf[v, L.VF_DGCHO] == 0.0
    )


@realtime
def _swap_rows(conn, cscale, v, a, b) -> None:
    if a == b:
        return
    for c in range(L.C_N):
        tmp = conn[v, a, c]
        conn[v, a, c] = conn[v, b, c]
        conn[v, b, c] = tmp
    for c in range(2):
        tmp_s = cscale[v, a, c]
        cscale[v, a, c] = cscale[v, b, c]
        cscale[v, b, c] = tmp_s


@realtime
def _row_kind(conn, cscale, v, k) -> int:
    """-1 for a row with no effect, else _STATIC / _CHANNEL / _MODULATOR; note-on rows: _STATIC."""
    d = conn[v, k, L.C_DEST]
    if d < 0:
        return -1
    if d >= L.N_DYNAMIC:
        return _STATIC  # even a 0 scale counts here: 0 time cents is 1 s
    if cscale[v, k, 0] == 0.0:
        return -1
    return max(_kind(conn[v, k, L.C_SOURCE]), _kind(conn[v, k, L.C_CONTROL]))


@realtime
def _note_on_offsets(v, vi, vf, chan, acc, has) -> None:
    """The note's own offsets (drum instrument NRPNs) on every destination, and the channel's
    (NRPN) on those read only now. An offset on a time no row gives starts from ~0 s, on a
    sustain from 100 %."""
    ch = vi[v, L.VI_CHANNEL]
    for d in range(L.N_DYNAMIC):
        vf[v, L.VF_BASE + d] += vf[v, L.VF_NOTE_OFFSET + d]
    for d in range(L.N_DYNAMIC, L.N_DEST):
        off = chan[ch, L.V_OFFSET + d] + vf[v, L.VF_NOTE_OFFSET + d]
        if off == 0.0 or d == L.D_EG1_SHUTDOWN:
            continue
        if has[d] == 0.0:
            sustain = d == L.D_EG1_SUSTAIN or d == L.D_EG2_SUSTAIN
            acc[d] = 1000.0 if sustain else _UNSET_TIME
            has[d] = 1.0
        acc[d] += off


@realtime
def note_on(v, vi, vf, conn, cscale, chan, poly, params, acc, has) -> None:
    """Start voice v at this sample: sort its connections, set EGs, LFOs, filter, first ramp."""
    rate = params[L.P_OUT_RATE]
    n = vi[v, L.VI_N_CONN]
    for d in range(L.N_DEST):
        acc[d] = 0.0
        has[d] = 0.0
    vf[v, L.VF_LFO_VALUE] = 0.0
    vf[v, L.VF_VIB_VALUE] = 0.0
    vi[v, L.VI_EG1_STAGE] = L.EG_DELAY
    vi[v, L.VI_EG2_STAGE] = L.EG_DELAY
    vf[v, L.VF_EG1_LEVEL] = 0.0
    vf[v, L.VF_EG2_LEVEL] = 0.0

    # modulator rows to the front, channel rows after them, the rest summed now
    n_mod = 0
    for k in range(n):
        if _row_kind(conn, cscale, v, k) == _MODULATOR:
            _swap_rows(conn, cscale, v, k, n_mod)
            n_mod += 1
    n_dyn = n_mod
    for k in range(n_mod, n):
        if _row_kind(conn, cscale, v, k) == _CHANNEL:
            _swap_rows(conn, cscale, v, k, n_dyn)
            n_dyn += 1
    uses = 0
    mask = 0
    cutoff_dynamic = False
    for k in range(n_dyn):
        d = conn[v, k, L.C_DEST]
        if k < n_mod:
            uses |= _uses(conn[v, k, L.C_SOURCE]) | _uses(conn[v, k, L.C_CONTROL])
            mask |= 1 << d
        if d == L.D_CUTOFF:
            cutoff_dynamic = True
    for k in range(n_dyn, n):
        if _row_kind(conn, cscale, v, k) == _STATIC:
            d = conn[v, k, L.C_DEST]
            acc[d] += connection_value(v, k, vi, vf, conn, cscale, chan, poly)
            if conn[v, k, L.C_SOURCE] == C.CONN_SRC_NONE and conn[v, k, L.C_CONTROL] == 0:
                has[d] = 1.0
    vi[v, L.VI_N_MOD] = n_mod
    vi[v, L.VI_N_DYN] = n_dyn
    vi[v, L.VI_MOD_MASK] = mask
    # a modulator row adds at most |scale| (its sources are within -1..1), and at most |scale|
    # less than that now: twice the sum bounds how much louder they can make the voice
    swing = 0.0
    for k in range(n_mod):
        if conn[v, k, L.C_DEST] == L.D_GAIN:
            swing += abs(cscale[v, k, 0])
    vf[v, L.VF_GAIN_SWING] = math.exp(min(2.0 * swing / 10.0, DB_RANGE) * _LN10_20)
    vi[v, L.VI_USES] = uses
    for d in range(L.N_DYNAMIC):
        vf[v, L.VF_BASE + d] = acc[d]
    # note-on destinations may read channel sources too (e.g. CC -> EG1 attack)
    for k in range(n_mod, n_dyn):
        d = conn[v, k, L.C_DEST]
        if d >= L.N_DYNAMIC:
            acc[d] += connection_value(v, k, vi, vf, conn, cscale, chan, poly)
    _note_on_offsets(v, vi, vf, chan, acc, has)

    # A time nobody set is 0 s; a sustain nobody set is 100 %.
    for col, d in (
        (L.VF_EG1_DELAY, L.D_EG1_DELAY),
        (L.VF_EG1_ATTACK, L.D_EG1_ATTACK),
        (L.VF_EG1_HOLD, L.D_EG1_HOLD),
        (L.VF_EG1_DECAY, L.D_EG1_DECAY),
        (L.VF_EG1_RELEASE, L.D_EG1_RELEASE),
        (L.VF_EG2_DELAY, L.D_EG2_DELAY),
        (L.VF_EG2_ATTACK, L.D_EG2_ATTACK),
        (L.VF_EG2_HOLD, L.D_EG2_HOLD),
        (L.VF_EG2_DECAY, L.D_EG2_DECAY),
        (L.VF_EG2_RELEASE, L.D_EG2_RELEASE),
        (L.VF_LFO_DELAY, L.D_LFO_DELAY),
        (L.VF_VIB_DELAY, L.D_VIB_DELAY),
    ):
        vf[v, col] = C.timecents_to_samples(acc[d], rate) if has[d] != 0.0 else 0.0
    shutdown = C.timecents_to_samples(acc[L.D_EG1_SHUTDOWN], rate)
    vf[v, L.VF_SHUTDOWN] = max(shutdown, 1.0) if has[L.D_EG1_SHUTDOWN] != 0.0 else 0.0
    for col, d in ((L.VF_EG1_SUSTAIN, L.D_EG1_SUSTAIN), (L.VF_EG2_SUSTAIN, L.D_EG2_SUSTAIN)):
        vf[v, col] = min(max(acc[d] / 1000.0, 0.0), 1.0) if has[d] != 0.0 else 1.0
    eg_start(vf, vi, v, L.VF_EG1_DELAY, L.VI_EG1_STAGE)
    eg_start(vf, vi, v, L.VF_EG2_DELAY, L.VI_EG2_STAGE)
    vf[v, L.VF_LFO_PHASE] = 0.0
    vf[v, L.VF_VIB_PHASE] = 0.0

    # The filter runs when the fixed cutoff is below the top of the band, or when something
    # modulates a cutoff that is not the "off" sentinel.
    base_hz = C.abs_cents_to_hz(acc[L.D_CUTOFF])
    limit = MAX_CUTOFF_RATIO * rate
    vi[v, L.VI_FILTER] = 1 if base_hz < limit or (cutoff_dynamic and base_hz < 1.0e5) else 0
    lowered = (
        chan[vi[v, L.VI_CHANNEL], L.V_OFFSET + L.D_CUTOFF] + vf[v, L.VF_NOTE_OFFSET + L.D_CUTOFF]
    )
    if base_hz >= 1.0e5 and lowered < 0.0:
        # an NRPN lowers the cutoff of a voice with the filter off: a filter is open at 13500
        # cents (SF2's, and a GS/XG TVF's), so the offset counts from there
        vf[v, L.VF_BASE + L.D_CUTOFF] = _OPEN_CUTOFF + vf[v, L.VF_NOTE_OFFSET + L.D_CUTOFF]
        vi[v, L.VI_FILTER] = 1
    filter_clear(vf, v)

    vi[v, L.VI_POS] = 0
    vi[v, L.VI_PLAYED] = 0
    vf[v, L.VF_QS_LEVEL] = 1.0
    vf[v, L.VF_QS_STEP] = 0.0
    for c in range(L.VF_GL0, L.VF_DGCHO + 1):
        vf[v, c] = 0.0
    vi[v, L.VI_WRAPPED] = 0
    vi[v, L.VI_RELEASED] = 0
    vi[v, L.VI_ENDING] = 0
    vi[v, L.VI_CTL_LEFT] = 0
    vi[v, L.VI_CTL_DONE] = 0
    vi[v, L.VI_RECALC] = 1
    vi[v, L.VI_STATE] = L.VOICE_PLAYING
    control_point(v, vi, vf, conn, cscale, chan, poly, params, acc, True)


@realtime_llvm_inline  # a call passed some 70 stack words, as costly as a point's own work
def control_point(v, vi, vf, conn, cscale, chan, poly, params, acc, first) -> bool:
    """Advance voice v's modulators one interval ahead and set its ramps. False: voice is over."""
    n_ctl = params[L.P_CONTROL_INTERVAL]
    rate = params[L.P_OUT_RATE]
    if vi[v, L.VI_ENDING] != 0:
        vi[v, L.VI_STATE] = L.VOICE_FINISHED
        vf[v, L.VF_LEVEL] = 0.0
        return False
    if not first and steady(v, vi, vf):
        vi[v, L.VI_CTL_LEFT] = int(n_ctl)
        vi[v, L.VI_CTL_DONE] = 0
        return True
    # Bring the modulators to the end of the coming interval. Normally that is n_ctl samples on;
    # when a command forced this point early, only the samples actually played are added.
    advance = n_ctl - vi[v, L.VI_CTL_LEFT]
    uses = vi[v, L.VI_USES]
    eg_advance(vf, vi, v, L.VF_EG1_DELAY, L.VI_EG1_STAGE, advance)
    if uses & L.USES_EG2:
        eg_advance(vf, vi, v, L.VF_EG2_DELAY, L.VI_EG2_STAGE, advance)
    triangle = vi[v, L.VI_SF2_SHAPES] != 0
    if uses & L.USES_LFO:
        vf[v, L.VF_LFO_VALUE] = lfo_advance(
            vf, v, L.VF_LFO_PHASE, L.VF_LFO_DELAY, L.VF_LFO_INC, advance, triangle
        )
    if uses & L.USES_VIB:
        vf[v, L.VF_VIB_VALUE] = lfo_advance(
            vf, v, L.VF_VIB_PHASE, L.VF_VIB_DELAY, L.VF_VIB_INC, advance, triangle
        )

    recalc = first or vi[v, L.VI_RECALC] != 0
    n_mod = vi[v, L.VI_N_MOD]
    if recalc:
        _resum_channel_rows(v, vi, vf, conn, cscale, chan, poly, acc)
    else:
        for d in range(L.N_DYNAMIC):
            acc[d] = vf[v, L.VF_CHAN + d]
    for k in range(n_mod):
        acc[conn[v, k, L.C_DEST]] += _modulator_row(v, k, vi, vf, conn, cscale, chan, poly)
    if uses & (L.USES_LFO | L.USES_VIB):
        acc[L.D_PITCH] += (
            vf[v, L.VF_LFO_PITCH] * vf[v, L.VF_LFO_VALUE]
            + vf[v, L.VF_VIB_PITCH] * vf[v, L.VF_VIB_VALUE]
        )
    mask = vi[v, L.VI_MOD_MASK]
    gliding = vf[v, L.VF_PORTA] != 0.0
    if gliding:  # portamento: the glide closes at its rate, to the end of the coming interval
        porta = vf[v, L.VF_PORTA]
        step = vf[v, L.VF_PORTA_RATE] * advance / rate
        if vf[v, L.VF_PORTA_RATE] <= 0.0:
            vf[v, L.VF_PORTA] = 0.0  # no speed given: no glide
        else:
            vf[v, L.VF_PORTA] = min(porta + step, 0.0) if porta < 0.0 else max(porta - step, 0.0)

    if uses & L.USES_LFO and (recalc or mask & (1 << L.D_LFO_FREQ)):
        vf[v, L.VF_LFO_INC] = C.abs_cents_to_hz(acc[L.D_LFO_FREQ]) / rate
    if uses & L.USES_VIB and (recalc or mask & (1 << L.D_VIB_FREQ)):
        vf[v, L.VF_VIB_INC] = C.abs_cents_to_hz(acc[L.D_VIB_FREQ]) / rate

    # pitch: connection sum (key, wheel x range, tuning, LFO, EG2) + fine tune - unity note
    if recalc or gliding or mask & _PITCH_BITS:
        cents = acc[L.D_PITCH] + acc[L.D_KEYNUMBER] + vf[v, L.VF_PITCH_OFFSET]
        cents += vf[v, L.VF_LEGATO] + vf[v, L.VF_PORTA]
        inc = vf[v, L.VF_RATE_RATIO] * math.exp(cents * _LN2_1200)
        vf[v, L.VF_TARGET_INC] = min(inc, _MAX_INC)

    if recalc or mask & _PAN_BITS:
        pan = min(max(acc[L.D_PAN] / 1000.0, -0.5), 0.5)
        theta = (pan + 0.5) * _PAN_HALF_PI  # equal power: L = cos, R = sin
        vf[v, L.VF_PAN_L] = math.cos(theta)
        vf[v, L.VF_PAN_R] = math.sin(theta)
        vf[v, L.VF_SEND_REV] = min(max(acc[L.D_REVERB] / 1000.0, 0.0), 1.0)
        vf[v, L.VF_SEND_CHO] = min(max(acc[L.D_CHORUS] / 1000.0, 0.0), 1.0)

    if vi[v, L.VI_FILTER] != 0 and (recalc or mask & _FILTER_BITS):
        filter_set(vf, v, acc[L.D_CUTOFF], acc[L.D_Q] / 10.0, rate)

    # gain: connections in tenths of a dB, wsmp attenuation in dB, EG1, quick-stop fade
    gain_db = acc[L.D_GAIN] / 10.0 + vf[v, L.VF_ATTENUATION]
    gain_db = min(gain_db, _MAX_GAIN_DB)  # a hostile articulation must not blow up the mix
    stage = vi[v, L.VI_EG1_STAGE]
    level = vf[v, L.VF_EG1_LEVEL]
    if stage == L.EG_ATTACK:
        amp = level * math.exp(gain_db * _LN10_20)
    elif stage == L.EG_DELAY or stage == L.EG_DONE or level <= 0.0:
        amp = 0.0
    else:
        amp = math.exp(((level - 1.0) * DB_RANGE + gain_db) * _LN10_20)
    if vi[v, L.VI_STATE] == L.VOICE_STOPPING:
        qs = max(vf[v, L.VF_QS_LEVEL] - advance * vf[v, L.VF_QS_STEP], 0.0)
        vf[v, L.VF_QS_LEVEL] = qs
        amp *= qs
        if qs <= 0.0:
            vi[v, L.VI_ENDING] = 1
    if stage == L.EG_DONE:
        vi[v, L.VI_ENDING] = 1  # ramp to silence over this interval, then finish
    elif (
        stage >= L.EG_DECAY
        and amp
        * vf[v, L.VF_LOOP_PEAK if vi[v, L.VI_WRAPPED] != 0 else L.VF_PEAK]
        * vf[v, L.VF_GAIN_SWING]
        * params[L.P_MASTER_GAIN]
        < _SILENCE_FLOOR
    ):
        vi[v, L.VI_ENDING] = 1  # under the silence floor for good: ramp out the same way
    vf[v, L.VF_LEVEL] = amp

    # Ramps. The gain now is where the last ramp has got to; the first point starts from 0.
    done = vi[v, L.VI_CTL_DONE]
    inv = params[L.P_INV_CONTROL_INTERVAL]
    for b in range(4):  # left, right, reverb send, chorus send
        target = amp * vf[v, L.VF_PAN_L + b]
        now = vf[v, L.VF_GL0 + b] + done * vf[v, L.VF_DGL + b]
        vf[v, L.VF_GL0 + b] = now
        vf[v, L.VF_DGL + b] = (target - now) * inv
    target_inc = int(vf[v, L.VF_TARGET_INC] * L.FRAC_ONE + 0.5)
    if first:
        vi[v, L.VI_INC] = target_inc
        vi[v, L.VI_DINC] = 0
    else:
        # a float multiply, not an int64 division: the step may undershoot by a unit in 2^32
        vi[v, L.VI_DINC] = int((target_inc - vi[v, L.VI_INC]) * inv)
    vi[v, L.VI_CTL_LEFT] = int(n_ctl)
    vi[v, L.VI_CTL_DONE] = 0
    return True
