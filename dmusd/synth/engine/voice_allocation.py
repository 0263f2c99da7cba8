"""Voice allocation with DirectMusic voice priorities (ddi-digest 4.5), compiled; one budget a pin.

Every voice the note logic starts has a record (`vr[slot]`): where it plays (channel group,
channel, key), its priority, what it plays (instrument, region) and how far it is (key down,
released, stopping). The budget counts the voices that still sound on their own; a voice being
quick-stopped (stolen, cut by its key group or by a retrigger) fades out in a few ms and no
longer counts, so the engine has spare slots for those fades, as the DDK synth keeps "extra"
voices.

When the budget is full, a new voice may take the place of one whose priority is not higher
than its own, chosen in this order: a voice already released, then the lowest priority, then the
oldest. The victim fades out by quick-stop. When every candidate outranks the new voice, or no
slot is free, the new voice is refused. Both count as lost notes (SYNTH_STATS.LostNotes).
"""

from __future__ import annotations

from dmusd.synth.engine import layout as L
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.channel_state import command
from dmusd.synth.engine.jit import realtime


@realtime
def release(v, offset, vi, vr, cmd_i, cmd_f, counts) -> None:
    """Note-off reached the voice: its envelopes go to release."""
    if vr[v, P.VR_RELEASED] == 0 and vr[v, P.VR_STOPPING] == 0:
        vr[v, P.VR_RELEASED] = 1
        command(cmd_i, cmd_f, counts, offset, L.CMD_RELEASE, v, vi[v, L.VI_SERIAL], 0.0)


@realtime
def quick_stop(v, offset, vi, vr, stats, cmd_i, cmd_f, counts) -> None:
    """Fade the voice out in a few ms; it leaves the budget at once."""
    if vr[v, P.VR_STOPPING] == 0:
        vr[v, P.VR_STOPPING] = 1
        stats[P.ST_SOUNDING] -= 1
        command(cmd_i, cmd_f, counts, offset, L.CMD_QUICK_STOP, v, vi[v, L.VI_SERIAL], 0.0)


@realtime
def _victim(priority, vr) -> int:
    best = -1
    best_held = 0
    best_priority = 0
    best_serial = 0
    for v in range(vr.shape[0]):
        if vr[v, P.VR_LIVE] == 0 or vr[v, P.VR_STOPPING] != 0 or vr[v, P.VR_PRIORITY] > priority:
            continue
        held = 1 - vr[v, P.VR_RELEASED]
        p = vr[v, P.VR_PRIORITY]
        serial = vr[v, P.VR_SERIAL]
        # a released voice first, then the lowest priority, then the oldest
        better = p < best_priority or (p == best_priority and serial < best_serial)
        if best < 0 or held < best_held or (held == best_held and better):
            best, best_held, best_priority, best_serial = v, held, p, serial
    return best


@realtime
def allocate(priority, offset, vi, vr, stats, cmd_i, cmd_f, counts) -> int:
    """A slot for a new voice of `priority` starting at `offset`, stealing if the budget is
    full; -1 if refused."""
    slot = -1
    for v in range(vi.shape[0]):
        if vi[v, L.VI_STATE] == L.VOICE_FREE:
            slot = v
            break
    if slot < 0:  # every spare slot is still fading out
        stats[P.ST_REFUSED] += 1
        return -1
    if stats[P.ST_SOUNDING] >= stats[P.ST_BUDGET]:
        victim = _victim(priority, vr)
        if victim < 0:
            stats[P.ST_REFUSED] += 1
            return -1
        quick_stop(victim, offset, vi, vr, stats, cmd_i, cmd_f, counts)
        stats[P.ST_STOLEN] += 1
    return slot


@realtime
def record(v, group, channel, key, priority, instrument, region, key_group, generation, vr, stats):
    """Keep the record of a voice just set up in slot v."""
    stats[P.ST_SERIAL] += 1
    vr[v, P.VR_LIVE] = 1
    vr[v, P.VR_GROUP] = group
    vr[v, P.VR_CHANNEL] = channel
    vr[v, P.VR_KEY] = key
    vr[v, P.VR_PRIORITY] = priority
    vr[v, P.VR_SERIAL] = stats[P.ST_SERIAL]
    vr[v, P.VR_KEY_DOWN] = 1
    vr[v, P.VR_SOSTENUTO] = 0
    vr[v, P.VR_RELEASED] = 0
    vr[v, P.VR_STOPPING] = 0
    vr[v, P.VR_INSTRUMENT] = instrument
    vr[v, P.VR_REGION] = region
    vr[v, P.VR_KEY_GROUP] = key_group
    vr[v, P.VR_GENERATION] = generation
    stats[P.ST_SOUNDING] += 1
    stats[P.ST_STARTED] += 1


@realtime
def retire(finished, n_finished, vr, stats) -> None:
    """Forget the voices the engine reported silent after a render."""
    for i in range(n_finished):
        v = finished[i]
        if vr[v, P.VR_LIVE] != 0:
            vr[v, P.VR_LIVE] = 0
            if vr[v, P.VR_STOPPING] == 0:
                stats[P.ST_SOUNDING] -= 1
