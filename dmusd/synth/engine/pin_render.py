"""The one compiled call per pin per block: events in, the mixed block out, no Python.

`pin_render` takes the records the pin's event ring holds (written by SynthStream.PutMessage
on any thread), keeps them in a pending list sorted by sample, and plays every record due
before the end of the block at its own sample: the note logic turns it into engine commands at
its offset, and the engine renders the voices, effects, volume and limiter. A master-volume
change renders up to its sample first, and so do a note-on that may find the voice budget full
(so the voices that ended before it have left the budget, whatever the block size) and a
command queue that is filling up (an overload of one sample's events moves the rest one sample
on). Records due later stay pending; outside RUN nothing is played and records wait.

Argument tuples (built once by the Python side, see stream.py):
- S, the pin state: ring, ring values, ring positions, pending, pending values, channel state,
  controllers, sources sent, voice records, priorities, group modes, counters, pin floats;
- T, the instrument tables: instruments, regions (int, float), connection rows and scales,
  generation;
- R, the engine: the render_block arrays in its order, then a scratch block (max_block x the
  output columns: the mix, then the stems).
"""

from __future__ import annotations

from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.jit import realtime, realtime_inline, realtime_llvm_inline
from dmusd.synth.engine.note_logic import group_message, pin_message, voices_wanted
from dmusd.synth.engine.render import render_block
from dmusd.synth.engine.voice_allocation import release, retire

_COMMAND_HEADROOM = 4096  # room kept in the engine's command queue before each record


@realtime
def _drain(position, S) -> None:
    """Move the ring's new records into the pending list, in sample order (stable)."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    capacity = ring.shape[0]
    room = pend.shape[0]
    while ring_pos[P.RING_READ] < ring_pos[P.RING_WRITE] and stats[P.ST_PENDING] < room:
        i = ring_pos[P.RING_READ] % capacity
        head = stats[P.ST_PEND_HEAD]
        count = stats[P.ST_PENDING]
        if head + count >= room:  # slide the list back to the front
            for j in range(count):
                for c in range(P.EV_N):
                    pend[j, c] = pend[head + j, c]
                pend_value[j] = pend_value[head + j]
            head = 0
            stats[P.ST_PEND_HEAD] = 0
        sample = ring[i, P.EV_SAMPLE]
        if sample == P.ASAP:
            sample = position
        j = head + count
        while j > head and pend[j - 1, P.EV_SAMPLE] > sample:
            for c in range(P.EV_N):
                pend[j, c] = pend[j - 1, c]
            pend_value[j] = pend_value[j - 1]
            j -= 1
        for c in range(P.EV_N):
            pend[j, c] = ring[i, c]
        pend[j, P.EV_SAMPLE] = sample
        pend_value[j] = ring_value[i]
        stats[P.ST_PENDING] = count + 1
        ring_pos[P.RING_READ] += 1  # after the copy: the producer may now reuse the slot


@realtime_inline
def _may_steal(group, kind, a, b, c, S, T) -> bool:
    """A note-on that may find the voice budget full. The voices are rendered up to it first:
    a voice leaves the budget when a render finds it ended, so without this a voice that ended
    before the note would still count in a longer block, and which voice is stolen (or whether
    one is) would depend on the block size."""
    if kind != P.EK_MIDI or a & 0xF0 != 0x90 or c == 0:
        return False
    stats = S[11]
    wanted = voices_wanted(16 * group + (a & 0x0F), b, c, S, T)
    return stats[P.ST_SOUNDING] + wanted > stats[P.ST_BUDGET]


@realtime_llvm_inline
def _flush(out, cursor, until, frames, S, R) -> int:
    """Render the voices from `cursor` up to `until` (frames of this block) into out."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    (vi, vf, conn, cscale, chan, poly, pool, table, cmd_i, cmd_f, counts, finished, params, acc,
     has, bus, vbuf, rv_buf, rv_int, rv_flt, ch_buf, ch_int, ch_flt, scratch) = R  # fmt: skip
    until = min(until, frames)
    while cursor < until:
        n = min(until - cursor, scratch.shape[0])
        render_block(
            n, scratch, vi, vf, conn, cscale, chan, poly, pool, table, cmd_i, cmd_f, counts,
            finished, params, acc, has, bus, vbuf, rv_buf, rv_int, rv_flt, ch_buf, ch_int, ch_flt,
        )  # fmt: skip
        retire(finished, counts[1], vr, stats)
        for s in range(n):
            for c in range(scratch.shape[1]):  # the mix, then the stems
                out[cursor + s, c] += scratch[s, c]
        cursor += n
    return cursor


@realtime_inline  # into the C entry (native_pin.render_pin): one compiled tree, optimised once
def pin_render(frames, out, position, running, S, T, R) -> None:
    """Mix `frames` frames of the pin from stream sample `position` into out[:frames]."""
    ring, ring_value, ring_pos, pend, pend_value, chs, cc, sent, vr, prio, modes, stats, pf = S
    (vi, vf, conn, cscale, chan, poly, pool, table, cmd_i, cmd_f, counts, finished, params, acc,
     has, bus, vbuf, rv_buf, rv_int, rv_flt, ch_buf, ch_int, ch_flt, scratch) = R  # fmt: skip
    E = (vi, vf, conn, cscale, cmd_i, cmd_f, counts)
    _drain(position, S)
    if stats[P.ST_NOTES_OFF] != 0:  # the pin left RUN: every note is released
        stats[P.ST_NOTES_OFF] = 0
        for v in range(vr.shape[0]):
            if vr[v, P.VR_LIVE] != 0:
                vr[v, P.VR_KEY_DOWN] = 0
                release(v, 0, vi, vr, cmd_i, cmd_f, counts)
    groups = modes.shape[0]
    room = cmd_i.shape[0] - _COMMAND_HEADROOM
    cursor = 0  # frames of this block already rendered
    end = position + frames
    while running and stats[P.ST_PENDING] > 0:
        k = stats[P.ST_PEND_HEAD]
        if pend[k, P.EV_SAMPLE] >= end:
            break
        at = pend[k, P.EV_SAMPLE] - position
        if at < cursor:
            if at < 0:
                stats[P.ST_LATE] += 1
            at = cursor
        group = pend[k, P.EV_GROUP]
        kind = pend[k, P.EV_KIND]
        a = pend[k, P.EV_A]
        b = pend[k, P.EV_B]
        c = pend[k, P.EV_C]
        value = pend_value[k]
        stats[P.ST_PEND_HEAD] = k + 1
        stats[P.ST_PENDING] -= 1
        if kind == P.EK_MASTER_VOLUME:  # it changes the master stage: render up to it first
            cursor = _flush(out, cursor, at, frames, S, R)
        if pin_message(kind, value, pf, params):
            continue
        first = group
        last = group + 1
        if group < 0:
            first = 0
            last = groups
        elif group >= groups:
            stats[P.ST_STRAY] += 1
            continue
        for g in range(first, last):
            if counts[0] > room:
                # the engine's command queue is filling: render what is due first
                cursor = _flush(out, cursor, max(at, cursor + 1), frames, S, R)
                at = max(at, cursor)
            if at > cursor and _may_steal(g, kind, a, b, c, S, T):
                cursor = _flush(out, cursor, at, frames, S, R)
            group_message(g, kind, a, b, c, value, at - cursor, S, T, E)
    if stats[P.ST_PENDING] == 0:
        stats[P.ST_PEND_HEAD] = 0
    _flush(out, cursor, frames, frames, S, R)
