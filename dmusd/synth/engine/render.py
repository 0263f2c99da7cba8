"""The one compiled call per block: timed commands, every voice, the effects, the master stage.

The block is cut at each command's sample offset: all voices render up to that sample, the
commands due there are applied (a started voice's first sample is exactly that one), and
rendering goes on. Commands whose offset lies beyond the block stay queued with the offset
reduced by the block length, so a caller may queue a whole phrase ahead and render it in blocks
of any size with identical output.
"""

from __future__ import annotations

from dmusd.synth.effects.chorus import chorus_process
from dmusd.synth.effects.limiter import limit
from dmusd.synth.effects.reverb import reverb_process
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.envelope import eg_release
from dmusd.synth.engine.jit import realtime, realtime_inline
from dmusd.synth.engine.modulators import control_point, note_on
from dmusd.synth.engine.voice import render_voice


@realtime
def _sort_commands(cmd_i, cmd_f, n) -> None:
    # insertion sort by offset, stable: commands for one sample keep the order they were given
    for a in range(1, n):
        b = a
        while b > 0 and cmd_i[b - 1, L.CMD_OFFSET] > cmd_i[b, L.CMD_OFFSET]:
            for c in range(L.CMD_NI):
                tmp = cmd_i[b - 1, c]
                cmd_i[b - 1, c] = cmd_i[b, c]
                cmd_i[b, c] = tmp
            tf = cmd_f[b - 1]
            cmd_f[b - 1] = cmd_f[b]
            cmd_f[b] = tf
            b -= 1


@realtime
def _force_control(v, vi, vf, conn, cscale, chan, poly, params, acc) -> None:
    # make the command's effect start now rather than at the voice's next control point
    if vi[v, L.VI_ENDING] == 0:
        control_point(v, vi, vf, conn, cscale, chan, poly, params, acc, False)


@realtime
def _quick_stop(v, vi, vf, conn, cscale, chan, poly, params, acc) -> None:
    state = vi[v, L.VI_STATE]
    if state != L.VOICE_PLAYING and state != L.VOICE_RELEASING:
        return
    n_ctl = params[L.P_CONTROL_INTERVAL]
    # an articulation may ask for a faster cut (EG1 shutdown time, e.g. a choked hi-hat), never
    # a slower one: stealing must free the voice within the engine's quick-stop time
    fade = params[L.P_QS_SAMPLES]
    shutdown = vf[v, L.VF_SHUTDOWN]
    if 0.0 < shutdown < fade:
        fade = shutdown
    step = 1.0 / max(fade, 1.0)
    # the fade starts at this sample; the control point below looks one interval ahead
    played = n_ctl - vi[v, L.VI_CTL_LEFT]
    vf[v, L.VF_QS_STEP] = step
    vf[v, L.VF_QS_LEVEL] = 1.0 - (n_ctl - played) * step
    vi[v, L.VI_STATE] = L.VOICE_STOPPING
    _force_control(v, vi, vf, conn, cscale, chan, poly, params, acc)


@realtime
def _release(v, vi, vf, conn, cscale, chan, poly, params, acc) -> None:
    if vi[v, L.VI_STATE] != L.VOICE_PLAYING:
        return
    vi[v, L.VI_RELEASED] = 1
    vi[v, L.VI_STATE] = L.VOICE_RELEASING
    eg_release(vf, vi, v, L.VF_EG1_DELAY, L.VI_EG1_STAGE, True)
    eg_release(vf, vi, v, L.VF_EG2_DELAY, L.VI_EG2_STAGE, False)
    _force_control(v, vi, vf, conn, cscale, chan, poly, params, acc)


@realtime
def _apply(k, vi, vf, conn, cscale, chan, poly, params, acc, has, cmd_i, cmd_f) -> None:
    kind = cmd_i[k, L.CMD_KIND]
    a = cmd_i[k, L.CMD_A]
    b = cmd_i[k, L.CMD_B]
    n_voices = vi.shape[0]
    if kind == L.CMD_START or kind == L.CMD_RELEASE or kind == L.CMD_QUICK_STOP:
        if a < 0 or a >= n_voices or vi[a, L.VI_SERIAL] != b:
            return  # the slot has since been given to another note
        if kind == L.CMD_START:
            if vi[a, L.VI_STATE] == L.VOICE_PENDING:
                note_on(a, vi, vf, conn, cscale, chan, poly, params, acc, has)
        elif kind == L.CMD_RELEASE:
            _release(a, vi, vf, conn, cscale, chan, poly, params, acc)
        else:
            _quick_stop(a, vi, vf, conn, cscale, chan, poly, params, acc)
        return
    if kind == L.CMD_SOURCE or kind == L.CMD_POLY_PRESSURE:
        if a < 0 or a >= chan.shape[0]:
            return
        if kind == L.CMD_SOURCE:
            if b < 0 or b >= L.N_SOURCES:
                return
            chan[a, b] = cmd_f[k]
        else:
            if b < 0 or b > 127:
                return
            poly[a, b] = cmd_f[k]
        for v in range(n_voices):
            state = vi[v, L.VI_STATE]
            sounding = L.VOICE_PLAYING <= state <= L.VOICE_STOPPING
            if (
                sounding
                and vi[v, L.VI_CHANNEL] == a
                and (kind == L.CMD_SOURCE or vi[v, L.VI_KEY] == b)
            ):
                vi[v, L.VI_RECALC] = 1
                _force_control(v, vi, vf, conn, cscale, chan, poly, params, acc)
        return
    if kind == L.CMD_RETUNE:
        for v in range(n_voices):
            if vi[v, L.VI_CHANNEL] != a or vi[v, L.VI_KEY] % 12 != b:
                continue
            # only the voices sounding: one still pending was set up after the retune (the
            # control logic runs a block's events before its commands), so it has it already
            if L.VOICE_PLAYING <= vi[v, L.VI_STATE] <= L.VOICE_STOPPING:
                vf[v, L.VF_BASE + L.D_PITCH] += cmd_f[k]
                vi[v, L.VI_RECALC] = 1
                _force_control(v, vi, vf, conn, cscale, chan, poly, params, acc)
        return
    if kind == L.CMD_SOUND_OFF or kind == L.CMD_NOTES_OFF:
        for v in range(n_voices):
            if a >= 0 and vi[v, L.VI_CHANNEL] != a:
                continue
            if kind == L.CMD_SOUND_OFF:
                _quick_stop(v, vi, vf, conn, cscale, chan, poly, params, acc)
            else:
                _release(v, vi, vf, conn, cscale, chan, poly, params, acc)


@realtime
def _add_pairs(bus, frames, first, pairs) -> None:
    """Add `pairs` stereo pairs of bus rows from row `first` on into the mix (rows 0 and 1)."""
    for p in range(pairs):
        for s in range(frames):
            bus[0, s] += bus[first + 2 * p, s]
            bus[1, s] += bus[first + 2 * p + 1, s]


@realtime_inline  # inlined into the pin call: one compiled tree, one optimisation of it
def render_block(
    frames,
    out,
    vi,
    vf,
    conn,
    cscale,
    chan,
    poly,
    pool,
    table,
    cmd_i,
    cmd_f,
    counts,
    finished,
    params,
    acc,
    has,
    bus,
    vbuf,
    rv_buf,
    rv_int,
    rv_flt,
    ch_buf,
    ch_int,
    ch_flt,
):
    """Render `frames` samples into out[0:frames]: the mix in columns 0-1, then the stems the
    engine was built with (layout: STEM_ROW_OFFSET), each after the master gain.

    counts[0] = queued commands (in), commands still queued (out); counts[1] = finished voices
    written to `finished` (out). params carries master gain, effect switches and the peak.
    """
    n_cmd = counts[0]
    _sort_commands(cmd_i, cmd_f, n_cmd)
    for b in range(bus.shape[0]):
        for s in range(frames):
            bus[b, s] = 0.0
    n_voices = vi.shape[0]
    n_fin = 0
    k = 0
    s = 0
    while s < frames:
        seg_end = frames
        if k < n_cmd and cmd_i[k, L.CMD_OFFSET] < frames:
            seg_end = max(cmd_i[k, L.CMD_OFFSET], s)
        if seg_end > s:
            for v in range(n_voices):
                state = vi[v, L.VI_STATE]
                if L.VOICE_PLAYING <= state <= L.VOICE_STOPPING:
                    render_voice(
                        v,
                        s,
                        seg_end,
                        vi,
                        vf,
                        conn,
                        cscale,
                        chan,
                        poly,
                        params,
                        acc,
                        pool,
                        table,
                        bus,
                        vbuf,
                    )
            s = seg_end
        while k < n_cmd and cmd_i[k, L.CMD_OFFSET] <= s and s < frames:
            _apply(k, vi, vf, conn, cscale, chan, poly, params, acc, has, cmd_i, cmd_f)
            k += 1
    # report the voices that went silent in this block and free their slots
    for v in range(n_voices):
        if vi[v, L.VI_STATE] == L.VOICE_FINISHED:
            vi[v, L.VI_STATE] = L.VOICE_FREE
            finished[n_fin] = v
            n_fin += 1
    # keep the commands that belong to later blocks, their offsets now relative to the next one
    kept = 0
    for j in range(k, n_cmd):
        for c in range(L.CMD_NI):
            cmd_i[kept, c] = cmd_i[j, c]
        cmd_i[kept, L.CMD_OFFSET] -= frames
        cmd_f[kept] = cmd_f[j]
        kept += 1
    counts[0] = kept
    counts[1] = n_fin

    channel_row = int(params[L.P_CHANNEL_ROW])
    if channel_row != 0:  # the voices went to their channels' own pairs: the mix is their sum
        _add_pairs(bus, frames, channel_row, 16)
    effect_row = int(params[L.P_EFFECT_ROW])
    if params[L.P_REVERB_ON] != 0.0:
        reverb_process(
            bus, frames, params[L.P_REVERB_IN_GAIN], params[L.P_REVERB_MIX], rv_buf, rv_int, rv_flt,
            effect_row,
        )  # fmt: skip
    if params[L.P_CHORUS_ON] != 0.0:
        chorus_process(
            bus, frames, params[L.P_CHORUS_IN_GAIN], params[L.P_CHORUS_MIX], ch_buf, ch_int, ch_flt,
            effect_row + 2 if effect_row != 0 else 0,
        )  # fmt: skip
    if effect_row != 0:
        _add_pairs(bus, frames, effect_row, 2)

    gain = params[L.P_MASTER_GAIN]
    peak = params[L.P_PEAK]
    for s in range(frames):
        left = bus[0, s] * gain
        right = bus[1, s] * gain
        out[s, 0] = left
        out[s, 1] = right
        peak = max(peak, abs(left), abs(right))
    for c in range(2, out.shape[1]):  # the stems: no limiter, which belongs to the mix
        row = c + L.STEM_ROW_OFFSET
        for s in range(frames):
            out[s, c] = bus[row, s] * gain
    params[L.P_PEAK] = peak  # before the limiter: how hot the mix is
    if params[L.P_LIMITER_ON] != 0.0:
        limit(out, frames, params)
