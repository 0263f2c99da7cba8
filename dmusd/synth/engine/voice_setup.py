"""Filling a voice slot for a note (the DDK's CVoice::StartVoice), compiled.

The slot's table rows are written once, the slot goes PENDING, and a START command makes it
sound at its exact sample. Both ways of starting a voice come here: the pin's note logic (from
the region tables a download prepared) and `Engine.start` (from a VoiceSpec, for the bare
engine).
"""

from __future__ import annotations

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.jit import realtime

MIN_LOOP = 1  # shorter loops cannot be played; they become one-shots


@realtime
def free_slot(vi) -> int:
    """The lowest free voice slot, or -1."""
    for v in range(vi.shape[0]):
        if vi[v, L.VI_STATE] == L.VOICE_FREE:
            return v
    return -1


@realtime
def setup_voice(
    v,
    vi,
    vf,
    conn,
    cscale,
    rows,
    scale,
    first_row,
    n_rows,
    channel,
    key,
    velocity,
    wave_offset,
    wave_length,
    loop_type,
    loop_start,
    loop_end,
    interpolation,
    serial,
    rate_ratio,
    pitch_offset,
    attenuation_db,
) -> None:
    """Write slot v for one region of a note; rows[first_row : first_row + n_rows] (with their
    scales) are its engine connection rows. A loop that does not fit the wave plays as a
    one-shot, as ddksynth does."""
    if (
        (loop_type != L.LOOP_FORWARD and loop_type != L.LOOP_RELEASE)
        or loop_end - loop_start < MIN_LOOP
        or loop_start < 0
        or loop_end > wave_length
    ):
        loop_type = L.LOOP_NONE
    for c in range(L.VI_N):
        vi[v, c] = 0
    for c in range(L.VF_N):
        vf[v, c] = 0.0
    vf[v, L.VF_PEAK] = 1.0  # as loud as a wave can be, until the caller knows better
    vf[v, L.VF_LOOP_PEAK] = 1.0
    vi[v, L.VI_STATE] = L.VOICE_PENDING
    vi[v, L.VI_CHANNEL] = channel
    vi[v, L.VI_KEY] = min(max(key, 0), 127)
    vi[v, L.VI_VELOCITY] = min(max(velocity, 0), 127)
    vi[v, L.VI_WAVE_OFFSET] = wave_offset
    vi[v, L.VI_WAVE_LENGTH] = wave_length
    vi[v, L.VI_LOOP_TYPE] = loop_type
    vi[v, L.VI_LOOP_START] = loop_start
    vi[v, L.VI_LOOP_END] = loop_end
    if interpolation != L.INTERP_LINEAR and interpolation != L.INTERP_SINC:
        interpolation = L.INTERP_CUBIC
    vi[v, L.VI_INTERP] = interpolation
    vi[v, L.VI_N_CONN] = n_rows
    vi[v, L.VI_SERIAL] = serial
    vf[v, L.VF_RATE_RATIO] = rate_ratio
    vf[v, L.VF_PITCH_OFFSET] = pitch_offset
    vf[v, L.VF_ATTENUATION] = min(attenuation_db, 0.0)
    for k in range(n_rows):
        for c in range(L.C_N):
            conn[v, k, c] = rows[first_row + k, c]
        cscale[v, k, 0] = scale[first_row + k]
        cscale[v, k, 1] = 0.0
