"""The control logic of a pin's channel groups, compiled (the DDK sample synth's CControlLogic).

Each event record acts at a sample offset into the part of the block not yet rendered, and
everything it causes is queued in the engine at that offset:

- note-on: the channel's patch picks an instrument (bank select read by the group's mode: GM2
  MSB 120 drum kits and 121 variations falling back to their capital tone, XG 127 drum and 126
  SFX kits; any other fallback counts as a missed patch), every region holding the key and
  velocity sounds (DLS2 layering; a melodic note's key as tuned: _region_key); first the same
  key's earlier voices are quick-stopped unless every region is self-non-exclusive, and voices
  of the same key group (exclusive class) on the channel and instrument are cut. Portamento
  (CC65 with CC5, or CC84 for one note) starts the voices a glide away; drum instrument NRPNs
  give the key's voices their own offsets;
- mono mode (CC126, CC127 back to poly): one voice per channel; a key pressed while another is
  down moves the voice there without a new attack (legato, gliding under portamento), and
  releasing it moves the voice back to the latest key still down;
- note-off: released, unless the sustain pedal (CC64) or the sostenuto pedal (CC66, for the notes
  that were down when it was pressed) holds the note until the pedal comes up;
- controllers, pitch wheel and pressure: source values (channel_state.py, NRPNs nrpn.py); CC120
  cuts every voice, CC123-127 act as note-offs for every key down;
- the SysEx the Python side decoded: GM/GM2/GS/XG resets, GS use-for-rhythm, master volume,
  master tuning, which retunes every channel's sounding notes at its sample, and MTS scale
  tuning, whose real-time form retunes the sounding notes of its pitch classes too.

Engine channel `e` = 16 x group + MIDI channel.
"""

from __future__ import annotations

import math

from dmusd.banks.model import F_INSTRUMENT_DRUMS
from dmusd.synth.engine import channel_state as C
from dmusd.synth.engine import controllers as K
from dmusd.synth.engine import layout as L
from dmusd.synth.engine import nrpn
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.jit import realtime, realtime_inline
from dmusd.synth.engine.portamento import glide_rate
from dmusd.synth.engine.voice_allocation import allocate, quick_stop, record, release
from dmusd.synth.engine.voice_setup import setup_voice

XG_DRUM_MSB = 127  # XG: bank MSB 127 selects a drum kit on any channel
XG_SFX_KIT_MSB = 126  # XG: bank MSB 126 selects an SFX kit (a drum kit of effects)
GM2_DRUM_MSB = 120  # GM2: bank MSB 120 selects a drum kit, 121 a melodic sound (LSB: variation)
GM2_MELODIC_MSB = 121
_INSTRUMENT_UID = 1 << 24  # instrument uid = generation x this + index


# -- programs --------------------------------------------------------------------------------------
@realtime
def _lookup(patch, inst) -> int:
    """The instrument row of exactly `patch` (rows sorted by patch), or -1."""
    lo = 0
    hi = inst.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if inst[mid, P.IN_PATCH] < patch:
            lo = mid + 1
        else:
            hi = mid
    if lo < inst.shape[0] and inst[lo, P.IN_PATCH] == patch:
        return lo
    return -1


@realtime
def find_instrument(patch, inst) -> int:
    """The instrument for a patch with the GM fallbacks a synth uses when nothing matches: a drum
    patch falls back to the standard kit (its program, then program 0), a melodic one to bank 0
    with the same program."""
    found = _lookup(patch, inst)
    if found >= 0:
        return found
    if patch & F_INSTRUMENT_DRUMS:
        found = _lookup(F_INSTRUMENT_DRUMS | (patch & 0x7F), inst)
        if found >= 0:
            return found
        return _lookup(F_INSTRUMENT_DRUMS, inst)
    return _lookup(patch & 0x7F, inst)


@realtime
def channel_patch(e, chs, modes) -> int:
    """The DirectMusic patch engine channel `e` plays now (drum bit from the group's mode):
    XG MSB 127 is a drum kit and 126 an SFX kit on any channel; after GM2 System On, MSB 120
    is a drum kit and 121 a melodic sound on any channel (channel 10 included); else the
    channel's drum flag (channel 10, GS use-for-rhythm) says."""
    program = chs[e, P.CH_PROGRAM] & 0x7F
    msb = chs[e, P.CH_BANK_MSB] & 0x7F
    mode = modes[e // 16]
    if mode == P.MODE_XG and msb == XG_DRUM_MSB:
        return F_INSTRUMENT_DRUMS | program
    if mode == P.MODE_GM2 and msb == GM2_DRUM_MSB:
        return F_INSTRUMENT_DRUMS | program
    patch = msb << 16 | (chs[e, P.CH_BANK_LSB] & 0x7F) << 8 | program
    if mode == P.MODE_GM2 and msb == GM2_MELODIC_MSB:
        return patch
    if chs[e, P.CH_DRUM] != 0 or (mode == P.MODE_XG and msb == XG_SFX_KIT_MSB):
        patch |= F_INSTRUMENT_DRUMS
    return patch


@realtime
def _gm2_capital_tone(patch, inst) -> int:
    """A GM2 variation (MSB 121, LSB n) nobody has falls back to its capital tone: LSB 0 at
    MSB 121, else the GM sound (bank 0). -1 when neither is there."""
    found = _lookup(GM2_MELODIC_MSB << 16 | (patch & 0x7F), inst)
    if found >= 0:
        return found
    return _lookup(patch & 0x7F, inst)


@realtime
def channel_instrument(e, chs, modes, inst, generation, stats) -> int:
    """The instrument row for the channel's patch, cached per patch and table. A new patch that
    only a GM fallback answers (or nothing) counts once as a missed patch; a GM2 variation
    answered by its capital tone is what GM2 asks for, not a miss."""
    patch = channel_patch(e, chs, modes)
    if chs[e, P.CH_CACHED_GEN] == generation and chs[e, P.CH_CACHED_PATCH] == patch:
        return chs[e, P.CH_CACHED_INST]
    found = _lookup(patch, inst)
    if found < 0 and patch >> 16 == GM2_MELODIC_MSB and modes[e // 16] == P.MODE_GM2:
        found = _gm2_capital_tone(patch, inst)
        if found < 0:
            stats[P.ST_MISSED] += 1
    elif found < 0:
        found = find_instrument(patch, inst)
        stats[P.ST_MISSED] += 1
    chs[e, P.CH_CACHED_PATCH] = patch
    chs[e, P.CH_CACHED_GEN] = generation
    chs[e, P.CH_CACHED_INST] = found
    return found


# -- notes -----------------------------------------------------------------------------------------
@realtime
def _matches(r, key, velocity, rg) -> bool:
    return (
        rg[r, P.RG_KEY_LOW] <= key <= rg[r, P.RG_KEY_HIGH]
        and rg[r, P.RG_VEL_LOW] <= velocity <= rg[r, P.RG_VEL_HIGH]
        and rg[r, P.RG_WAVE_LENGTH] > 0
    )


@realtime
def _of_channel(v, group, ch, vr) -> bool:
    """Slot v holds a live, not stopping voice of this group's channel."""
    return (
        vr[v, P.VR_LIVE] != 0
        and vr[v, P.VR_STOPPING] == 0
        and vr[v, P.VR_GROUP] == group
        and vr[v, P.VR_CHANNEL] == ch
    )


@realtime_inline
def _region_key(e, key, kit, chs, pf) -> int:
    """The key a note's regions are chosen by. A drum kit's: the key played (the kit's map). A
    melodic one's: the key nearest the pitch it sounds at (the key plus RPN coarse and fine,
    MTS scale and master tuning), as FluidSynth 2.6 chooses its zones (fluid_defpreset_noteon),
    so a transposed note plays the sample recorded nearest its pitch. The voice keeps the key
    played, for its pitch and its key-number sources."""
    if kit:
        return key
    semis = (chs[e, P.CH_COARSE_TUNE] - 64) + (chs[e, P.CH_FINE_TUNE] - 8192) / 8192.0
    semis += chs[e, P.CH_SCALE_TUNING + key % 12] / 10000.0
    semis += pf[P.PF_MASTER_COARSE] + pf[P.PF_MASTER_FINE] / 100.0
    return min(max(int(math.floor(key + semis + 0.5)), 0), 127)


@realtime
def voices_wanted(e, key, velocity, S, T) -> int:
    """How many voices a note-on of engine channel e would start: its playable regions."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    inst, rg, rgf, rows, scale, generation = T
    found = channel_instrument(e, chs, modes, inst, generation[0], stats)
    if found < 0:
        return 0
    first = inst[found, P.IN_FIRST_REGION]
    sel = _region_key(e, key, inst[found, P.IN_PATCH] & F_INSTRUMENT_DRUMS != 0, chs, pf)
    wanted = 0
    for r in range(first, first + inst[found, P.IN_REGIONS]):
        if _matches(r, sel, velocity, rg) and rg[r, P.RG_PLAYABLE] != 0:
            wanted += 1
    return wanted


@realtime
def note_on(e, key, velocity, offset, S, T, E) -> None:
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    inst, rg, rgf, rows, scale, generation = T
    vi, vf, conn, cscale, cmd_i, cmd_f, counts = E
    chs[e, P.CH_PRESSES] += 1
    chs[e, P.CH_KEY_PRESS + key] = chs[e, P.CH_PRESSES]
    found = channel_instrument(e, chs, modes, inst, generation[0], stats)
    if found < 0:
        return
    first = inst[found, P.IN_FIRST_REGION]
    end = first + inst[found, P.IN_REGIONS]
    drum_kit = inst[found, P.IN_PATCH] & F_INSTRUMENT_DRUMS != 0
    sel = _region_key(e, key, drum_kit, chs, pf)
    any_region = False
    all_non_exclusive = True
    for r in range(first, end):
        if _matches(r, sel, velocity, rg):
            any_region = True
            if rg[r, P.RG_SELF_NON_EXCLUSIVE] == 0:
                all_non_exclusive = False
    if not any_region:
        return
    group = e // 16
    ch = e % 16
    uid = generation[0] * _INSTRUMENT_UID + found
    mono = chs[e, P.CH_MONO] != 0
    if mono and _legato(
        e, key, sel, velocity, offset, uid, first, end, chs, cc, sent, vr, rg, rgf, E
    ):
        return
    for v in range(vr.shape[0]):
        if not _of_channel(v, group, ch, vr):
            continue
        cut = mono or (not all_non_exclusive and vr[v, P.VR_KEY] == key)
        kg = vr[v, P.VR_KEY_GROUP]
        if not cut and kg != 0 and vr[v, P.VR_INSTRUMENT] == uid:
            for r in range(first, end):
                if _matches(r, sel, velocity, rg) and rg[r, P.RG_KEY_GROUP] == kg:
                    cut = True
                    break
        if cut:
            quick_stop(v, offset, vi, vr, stats, cmd_i, cmd_f, counts)
    priority = prio[e]
    started = False
    from_key = _glide_from(e, chs, cc)
    chs[e, P.CH_LAST_KEY] = key
    rate = glide_rate(cc[e, K.CC_PORTAMENTO_TIME]) if from_key >= 0 else 0.0
    drums = drum_kit and _drum_key_set(e, key, chs)
    for r in range(first, end):
        if not _matches(r, sel, velocity, rg):
            continue
        if rg[r, P.RG_PLAYABLE] == 0:
            stats[P.ST_UNPLAYABLE] += 1  # a region the engine cannot play: the others sound
            continue
        v = allocate(priority, offset, vi, vr, stats, cmd_i, cmd_f, counts)
        if v < 0:
            continue
        serial = stats[P.ST_SERIAL] + 1  # record() counts it: newer voices, bigger serials
        fixed_key = rg[r, P.RG_FIXED_KEY]
        fixed_velocity = rg[r, P.RG_FIXED_VELOCITY]
        unity = rg[r, P.RG_UNITY_NOTE]
        fine = rgf[r, P.RF_FINE_TUNE]
        setup_voice(
            v,
            vi,
            vf,
            conn,
            cscale,
            rows,
            scale,
            rg[r, P.RG_FIRST_CONN],
            rg[r, P.RG_CONNS],
            e,
            fixed_key if fixed_key >= 0 else key,
            fixed_velocity if fixed_velocity >= 0 else velocity,
            rg[r, P.RG_WAVE_OFFSET],
            rg[r, P.RG_WAVE_LENGTH],
            rg[r, P.RG_LOOP_TYPE],
            rg[r, P.RG_LOOP_START],
            rg[r, P.RG_LOOP_END],
            stats[P.ST_INTERPOLATION],
            serial,
            rgf[r, P.RF_RATE_RATIO],
            fine - unity * rgf[r, P.RF_KEY_CENTS],
            rgf[r, P.RF_ATTENUATION],
        )
        vi[v, L.VI_SF2_SHAPES] = rg[r, P.RG_SF2_SHAPES]
        vf[v, L.VF_PEAK] = rgf[r, P.RF_PEAK]
        vf[v, L.VF_LOOP_PEAK] = rgf[r, P.RF_LOOP_PEAK]
        vf[v, L.VF_LEGATO_BASE] = sent[e, L.V_LEGATO]
        if rate > 0.0 and from_key != key:
            vf[v, L.VF_PORTA] = (from_key - key) * rgf[r, P.RF_KEY_CENTS]
            vf[v, L.VF_PORTA_RATE] = rate
        if drums:
            for d in range(L.N_DEST):
                vf[v, L.VF_NOTE_OFFSET + d] = nrpn.drum_offset(e, key, d, chs)
        # MTS scale tuning of the key's pitch class, with this note's own offsets
        vf[v, L.VF_NOTE_OFFSET + L.D_PITCH] += chs[e, P.CH_SCALE_TUNING + key % 12] / 100.0
        C.command(cmd_i, cmd_f, counts, offset, L.CMD_START, v, serial, 0.0)
        record(v, group, ch, key, priority, uid, r, rg[r, P.RG_KEY_GROUP], generation[0], vr, stats)
        started = True
    if started:
        stats[P.ST_NOTES] += 1


@realtime_inline
def _glide_from(e, chs, cc) -> int:
    """The key a new note glides from: CC84's for this one note, else the last key played
    while portamento (CC65) is on; -1: no glide."""
    key = chs[e, P.CH_PORTA_KEY]
    if key >= 0:
        chs[e, P.CH_PORTA_KEY] = -1
        return key
    if cc[e, K.CC_PORTAMENTO] >= 64:
        return chs[e, P.CH_LAST_KEY]
    return -1


@realtime_inline
def _drum_key_set(e, key, chs) -> bool:
    """Some drum instrument NRPN is set for this key."""
    base = P.CH_DRUM_KEY + key * P.N_DRUM_PARAMS
    found = False
    for p in range(P.N_DRUM_PARAMS):
        found = found or chs[e, base + p] >= 0
    return found


@realtime
def _legato(e, key, sel, velocity, offset, uid, first, end, chs, cc, sent, vr, rg, rgf, E) -> bool:
    """Mono mode, a key still down: the channel's voice moves to the new key without a new
    attack (gliding when portamento is on), if the regions that sound it hold the new key too
    (`sel`, its tuned key). False: no such voice, the note starts afresh."""
    vi, vf, conn, cscale, cmd_i, cmd_f, counts = E
    group = e // 16
    ch = e % 16
    held = -1
    for v in range(vr.shape[0]):
        if _of_channel(v, group, ch, vr) and vr[v, P.VR_KEY_DOWN] != 0:
            r = vr[v, P.VR_REGION]
            if vr[v, P.VR_INSTRUMENT] != uid or not (first <= r < end):
                return False
            if not _matches(r, sel, velocity, rg):
                return False
            held = v
    if held < 0:
        return False
    r = vr[held, P.VR_REGION]
    move = (key - vr[held, P.VR_KEY]) * rgf[r, P.RF_KEY_CENTS]
    from_key = _glide_from(e, chs, cc)
    rate = glide_rate(cc[e, K.CC_PORTAMENTO_TIME]) if from_key >= 0 else 0.0
    chs[e, P.CH_LAST_KEY] = key
    C.send(e, L.V_GLIDE_RATE, rate, offset, sent, cmd_i, cmd_f, counts)
    C.send(e, L.V_LEGATO, sent[e, L.V_LEGATO] + move, offset, sent, cmd_i, cmd_f, counts)
    for v in range(vr.shape[0]):
        if _of_channel(v, group, ch, vr) and vr[v, P.VR_KEY_DOWN] != 0:
            vr[v, P.VR_KEY] = key
    return True


@realtime
def _release_unless_held(v, e, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts) -> None:
    sustain = cc[e, K.CC_SUSTAIN] >= 64
    sostenuto = cc[e, K.CC_SOSTENUTO] >= 64
    if not (sustain or (sostenuto and vr[v, P.VR_SOSTENUTO] != 0)):
        release(v, offset, vi, vr, cmd_i, cmd_f, counts)


@realtime
def note_off(e, key, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts) -> None:
    group = e // 16
    ch = e % 16
    for v in range(vr.shape[0]):
        if _of_channel(v, group, ch, vr) and vr[v, P.VR_KEY] == key and vr[v, P.VR_KEY_DOWN]:
            vr[v, P.VR_KEY_DOWN] = 0
            _release_unless_held(v, e, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts)


@realtime
def key_up(e, key, offset, S, T, E) -> None:
    """A note-off. In mono mode, releasing the key the voice plays while others are still down
    moves the voice back to the latest of them (legato), as a monophonic synth does."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    inst, rg, rgf, rows, scale, generation = T
    vi, vf, conn, cscale, cmd_i, cmd_f, counts = E
    chs[e, P.CH_KEY_PRESS + key] = 0
    voice = -1
    latest = -1
    if chs[e, P.CH_MONO] != 0:
        for v in range(vr.shape[0]):
            if (
                _of_channel(v, e // 16, e % 16, vr)
                and vr[v, P.VR_KEY] == key
                and vr[v, P.VR_KEY_DOWN]
            ):
                voice = v
        for k in range(128):
            press = chs[e, P.CH_KEY_PRESS + k]
            if press > 0 and (latest < 0 or press > chs[e, P.CH_KEY_PRESS + latest]):
                latest = k
    if voice >= 0 and latest >= 0:
        uid = vr[voice, P.VR_INSTRUMENT]
        found = uid - generation[0] * _INSTRUMENT_UID
        if 0 <= found < inst.shape[0]:  # else the bank changed under the note
            first = inst[found, P.IN_FIRST_REGION]
            end = first + inst[found, P.IN_REGIONS]
            velocity = vi[voice, L.VI_VELOCITY]
            kit = inst[found, P.IN_PATCH] & F_INSTRUMENT_DRUMS != 0
            sel = _region_key(e, latest, kit, chs, pf)
            if _legato(
                e, latest, sel, velocity, offset, uid, first, end, chs, cc, sent, vr, rg, rgf, E
            ):
                return
    note_off(e, key, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts)


@realtime
def _release_held(e, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts) -> None:
    """A pedal came up: release the notes whose keys are up and no pedal still holds."""
    group = e // 16
    ch = e % 16
    sustain = cc[e, K.CC_SUSTAIN] >= 64
    sostenuto = cc[e, K.CC_SOSTENUTO] >= 64
    for v in range(vr.shape[0]):
        if not _of_channel(v, group, ch, vr):
            continue
        if not sostenuto:
            vr[v, P.VR_SOSTENUTO] = 0
        if vr[v, P.VR_KEY_DOWN] == 0 and not sustain and vr[v, P.VR_SOSTENUTO] == 0:
            release(v, offset, vi, vr, cmd_i, cmd_f, counts)


@realtime
def all_notes_off(e, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts) -> None:
    """CC123-127: a note-off for every key down (the pedals still hold what they hold)."""
    group = e // 16
    ch = e % 16
    for v in range(vr.shape[0]):
        if _of_channel(v, group, ch, vr) and vr[v, P.VR_KEY_DOWN] != 0:
            vr[v, P.VR_KEY_DOWN] = 0
            _release_unless_held(v, e, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts)


@realtime
def all_sound_off(group, ch, offset, vi, vr, stats, cmd_i, cmd_f, counts) -> None:
    """CC120 (one channel) or a reset (ch -1: the whole group): cut every voice now."""
    for v in range(vr.shape[0]):
        mine = vr[v, P.VR_LIVE] != 0 and vr[v, P.VR_GROUP] == group
        if mine and (ch < 0 or vr[v, P.VR_CHANNEL] == ch):
            quick_stop(v, offset, vi, vr, stats, cmd_i, cmd_f, counts)


@realtime
def control_change(e, c, value, offset, S, E) -> None:
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    vi, vf, conn, cscale, cmd_i, cmd_f, counts = E
    group = e // 16
    ch = e % 16
    was_down = cc[e, c] >= 64
    if c == K.CC_SOSTENUTO and value >= 64 and not was_down:
        for v in range(vr.shape[0]):
            if _of_channel(v, group, ch, vr):
                latched = vr[v, P.VR_KEY_DOWN] != 0 and vr[v, P.VR_RELEASED] == 0
                vr[v, P.VR_SOSTENUTO] = 1 if latched else 0
    C.control_change(e, c, value, offset, chs, cc, sent, cmd_i, cmd_f, counts)
    if c == K.CC_MONO_ON or c == K.CC_POLY_ON:  # channel mode: also an all-notes-off
        chs[e, P.CH_MONO] = 1 if c == K.CC_MONO_ON else 0
    if (
        c == K.CC_RESET_ALL
        or (c == K.CC_SUSTAIN or c == K.CC_SOSTENUTO)
        and was_down
        and value < 64
    ):
        _release_held(e, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts)
    elif c == K.CC_ALL_SOUND_OFF:
        all_sound_off(group, ch, offset, vi, vr, stats, cmd_i, cmd_f, counts)
    elif K.CC_ALL_NOTES_OFF <= c <= 127:
        C.keys_up(e, chs)
        all_notes_off(e, offset, vi, vr, cc, stats, cmd_i, cmd_f, counts)


# -- a whole message -------------------------------------------------------------------------------
@realtime
def reset_group(group, mode, offset, S, E) -> None:
    """GM System On, GS reset or XG System On: cut the group's voices, every channel to its
    power-on state (channel 10 drums), in the given mode."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    vi, vf, conn, cscale, cmd_i, cmd_f, counts = E
    modes[group] = mode
    all_sound_off(group, -1, offset, vi, vr, stats, cmd_i, cmd_f, counts)
    for ch in range(16):
        e = 16 * group + ch
        C.reset_channel(e, chs, cc)
        C.send_all_sources(e, offset, chs, cc, sent, cmd_i, cmd_f, counts)


@realtime
def master_gain(pf, params) -> None:
    """The engine's master gain from the pin's volume, boost and headroom and the SysEx master
    volume (all in 1/100 dB but the last, a 0..1 fraction)."""
    v = pf[P.PF_MASTER_VOLUME]
    sysex = float(P.VOLUME_FLOOR)
    if v > 0.0:
        sysex = max(float(P.VOLUME_FLOOR), float(round(2000.0 * math.log10(v))))
    gain = max(float(P.VOLUME_FLOOR), pf[P.PF_GAIN_CB] + sysex)
    params[L.P_MASTER_GAIN] = 10.0 ** (gain / 2000.0)


@realtime
def group_message(group, kind, a, b, c, value, offset, S, T, E) -> None:
    """One record for one channel group (0-based) at `offset`."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    vi, vf, conn, cscale, cmd_i, cmd_f, counts = E
    if kind == P.EK_MIDI:
        status = a
        if status < 0x80 or status >= 0xF0:
            return  # system common and real-time messages do nothing to a synth's channels
        e = 16 * group + (status & 0x0F)
        op = status & 0xF0
        if op == 0x90:
            if c != 0:
                note_on(e, b, c, offset, S, T, E)
            else:
                key_up(e, b, offset, S, T, E)
        elif op == 0x80:
            key_up(e, b, offset, S, T, E)
        elif op == 0xB0:
            control_change(e, b, c, offset, S, E)
        elif op == 0xC0:
            chs[e, P.CH_PROGRAM] = b
        elif op == 0xE0:
            C.pitch_wheel(e, b, c, offset, chs, sent, cmd_i, cmd_f, counts)
        elif op == 0xD0:
            C.channel_pressure(e, b, offset, chs, sent, cmd_i, cmd_f, counts)
        elif op == 0xA0:
            C.command(cmd_i, cmd_f, counts, offset, L.CMD_POLY_PRESSURE, e, b, c / 128.0)
    elif kind == P.EK_GM_ON:
        reset_group(group, P.MODE_GM, offset, S, E)
    elif kind == P.EK_GM2_ON:
        reset_group(group, P.MODE_GM2, offset, S, E)
    elif kind == P.EK_MASTER_FINE or kind == P.EK_MASTER_COARSE:
        master_tuning(kind, value, offset, S, E)
    elif kind == P.EK_GS_RESET:
        reset_group(group, P.MODE_GS, offset, S, E)
    elif kind == P.EK_XG_ON:
        reset_group(group, P.MODE_XG, offset, S, E)
    elif kind == P.EK_SCALE_TUNING and 0 <= a < 16 and 0 <= b < 12:
        e = 16 * group + a
        was = chs[e, P.CH_SCALE_TUNING + b]
        chs[e, P.CH_SCALE_TUNING + b] = round(100.0 * value)
        change = (chs[e, P.CH_SCALE_TUNING + b] - was) / 100.0
        if c != 0 and change != 0.0:
            C.command(cmd_i, cmd_f, counts, offset, L.CMD_RETUNE, e, b, change)
    elif kind == P.EK_GS_RHYTHM and 0 <= a < 16:
        chs[16 * group + a, P.CH_DRUM] = 1 if value != 0.0 else 0


@realtime
def master_tuning(kind, value, offset, S, E) -> None:
    """SysEx master fine or coarse tuning: every channel of the synth, the notes sounding
    included, retuned at this sample (a channel offset, see layout V_TUNING)."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    vi, vf, conn, cscale, cmd_i, cmd_f, counts = E
    if kind == P.EK_MASTER_FINE:
        pf[P.PF_MASTER_FINE] = value
    else:
        pf[P.PF_MASTER_COARSE] = value
    cents = pf[P.PF_MASTER_FINE] + 100.0 * pf[P.PF_MASTER_COARSE]
    for e in range(chs.shape[0]):
        C.send(e, L.V_TUNING, cents, offset, sent, cmd_i, cmd_f, counts)


@realtime
def pin_message(kind, value, pf, params) -> bool:
    """A synth-wide record that needs no channel (master volume); False for any other kind."""
    if kind == P.EK_MASTER_VOLUME:
        pf[P.PF_MASTER_VOLUME] = value
        master_gain(pf, params)
        return True
    return False
