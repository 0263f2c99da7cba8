"""The engine's tables: column numbers, state codes and command kinds shared by Python and numba.

Every table is a preallocated numpy array indexed by voice slot (or channel); the compiled block
call reads and writes them in place, so the steady state allocates nothing. Plain module-level
ints are compile-time constants to numba.
"""

from __future__ import annotations

# --- sizes -----------------------------------------------------------------------------------
GUARD = 8  # zero samples before and after each wave in the pool: room for every interpolation tap
MAX_CONNECTIONS = 64  # connection blocks per voice (DLS2 defaults are ~15; instruments add a few)
CONTROL_INTERVAL = 64  # samples between two control points (modulators, envelopes, LFOs): 1.3 ms
MAX_CONTROL_INTERVAL = 1024
# at 48 kHz, as FluidSynth updates its modulators; events still act on their exact sample
N_SOURCES = 0x104  # channel source table width: indexed directly by the DLS source id

# --- voice states (vi[v, VI_STATE]) ------------------------------------------------------------
VOICE_FREE = 0
VOICE_PENDING = 1  # slot filled by start(), waiting for its START command's sample
VOICE_PLAYING = 2  # delay .. sustain
VOICE_RELEASING = 3  # note-off seen, EG1 in release
VOICE_STOPPING = 4  # quick-stop fade running
VOICE_FINISHED = 5  # silent; reported once, then the slot is free again

# --- interpolation modes ---------------------------------------------------------------------
INTERP_LINEAR = 0
INTERP_CUBIC = 1  # 4-point cubic Hermite (Catmull-Rom): the default
INTERP_SINC = 2  # 8-tap Kaiser-windowed sinc

# --- loop types (the DLS WLOOP values, plus none) ----------------------------------------------
LOOP_NONE = -1
LOOP_FORWARD = 0  # WLOOP_TYPE_FORWARD: loops for the whole note, release included
LOOP_RELEASE = 1  # WLOOP_TYPE_RELEASE: loops until note-off, then plays on to the end

# --- command kinds (cmd_i[k, CMD_KIND]) --------------------------------------------------------
CMD_START = 1  # a = voice, b = its serial (a command for a slot since reused is dropped)
CMD_RELEASE = 2  # a = voice, b = serial
CMD_QUICK_STOP = 3  # a = voice, b = serial
CMD_SOURCE = 4  # a = channel, b = DLS source id, cmd_f = normalized value 0..1
CMD_POLY_PRESSURE = 5  # a = channel, b = key, cmd_f = normalized value 0..1
CMD_SOUND_OFF = 6  # a = channel (-1 = all): quick-stop every voice
CMD_NOTES_OFF = 7  # a = channel (-1 = all): release every voice
CMD_RETUNE = 8  # a = channel, b = pitch class, cmd_f = cents added to its notes' pitch

CMD_OFFSET = 0  # sample offset from the start of the next rendered block
CMD_KIND = 1
CMD_A = 2
CMD_B = 3
CMD_NI = 4

# --- compact destination indices (the DLS CONN_DST_* ids map onto these) -------------------------
D_GAIN = 0
D_PITCH = 1
D_PAN = 2
D_KEYNUMBER = 3
D_CHORUS = 4
D_REVERB = 5
D_LFO_FREQ = 6
D_VIB_FREQ = 7
D_CUTOFF = 8
D_Q = 9
N_DYNAMIC = 10  # destinations below this are re-evaluated at every control point
D_LFO_DELAY = 10
D_VIB_DELAY = 11
D_EG1_DELAY = 12
D_EG1_ATTACK = 13
D_EG1_HOLD = 14
D_EG1_DECAY = 15
D_EG1_SUSTAIN = 16
D_EG1_RELEASE = 17
D_EG1_SHUTDOWN = 18
D_EG2_DELAY = 19
D_EG2_ATTACK = 20
D_EG2_HOLD = 21
D_EG2_DECAY = 22
D_EG2_SUSTAIN = 23
D_EG2_RELEASE = 24
N_DEST = 25

# --- channel offsets: columns of the channel source table past the DLS sources (0x0B..0x7F are
# no DLS source), written by the pin's control logic with CMD_SOURCE like any source, so a change
# reaches the notes already sounding at its sample. Connection rows never read them.
V_OFFSET = 0x10  # + D_*: added to that destination, in its units (NRPN offsets, master tuning)
V_MOD_DEPTH = V_OFFSET + N_DEST  # RPN 5: modulation depth range / 50 cents - 1 (scales CC1 vibrato)
V_LFO_PITCH = V_MOD_DEPTH + 1  # cents of modulation-LFO -> pitch added (NRPN)
V_VIB_PITCH = V_MOD_DEPTH + 2  # cents of vibrato-LFO -> pitch added (NRPN, GS vibrato depth)
V_LEGATO = V_MOD_DEPTH + 3  # mono mode: cents the channel's legato notes have moved its voice
V_GLIDE_RATE = V_MOD_DEPTH + 4  # cents per second a legato move glides at (0: it jumps)
V_TUNING = V_MOD_DEPTH + 5  # cents of master tuning (SysEx fine + coarse), on every channel
V_END = V_MOD_DEPTH + 6
FIRST_DLS_CC = 0x80  # CONN_SRC_CC(0)
assert V_END <= FIRST_DLS_CC, "the channel offsets would run into the CC sources"
LAST_DLS_BASIC = 0x0A  # CONN_SRC_MONOPRESSURE: the last of the DLS2 non-CC sources

# --- connection table columns (conn[v, k, C_*], int32) -----------------------------------------
C_SOURCE = 0
C_CONTROL = 1
C_DEST = 2  # compact D_* index
C_SRC_TRANSFORM = 3  # bits 0-3 curve, bit 4 bipolar, bit 5 invert
C_CTL_TRANSFORM = 4
C_N = 5

# --- envelope stages ---------------------------------------------------------------------------
EG_DELAY = 0
EG_ATTACK = 1
EG_HOLD = 2
EG_DECAY = 3
EG_SUSTAIN = 4
EG_RELEASE = 5
EG_DONE = 6

# --- voice int table columns (vi[v, VI_*], int64) ------------------------------------------------
VI_STATE = 0
VI_CHANNEL = 1
VI_KEY = 2
VI_VELOCITY = 3
VI_WAVE_OFFSET = 4  # first sample of the wave in the pool
VI_WAVE_LENGTH = 5
VI_LOOP_TYPE = 6
VI_LOOP_START = 7
VI_LOOP_END = 8
VI_INTERP = 9
VI_N_CONN = 10  # connection blocks given
VI_N_DYN = 11  # of them, evaluated at each control point (moved to the front at start)
VI_CTL_LEFT = 12  # samples until the next control point
VI_CTL_DONE = 13  # samples rendered since the last control point
VI_EG1_STAGE = 14
VI_EG2_STAGE = 15
VI_WRAPPED = 16  # the play position has gone round the loop at least once
VI_FILTER = 17  # 1 when the low-pass runs for this voice
VI_ENDING = 18  # 1 when the gain ramp now running is the voice's last
VI_SERIAL = 19  # start order: tells the oldest voice, and a reused slot from its old note
VI_RELEASED = 20  # note-off seen (a release loop stops looping)
VI_RECALC = 21  # 1: a channel source changed, re-sum the channel-driven connections
VI_N_MOD = 22  # connection rows 0 .. n_mod-1 read an LFO or an EG: evaluated at every point
VI_MOD_MASK = 23  # bit d set: some of those rows feed dynamic destination d
VI_USES = 24  # which per-note modulators any connection reads (USES_* bits)
VI_POS = 25  # play position in samples from the wave start, 32.32 fixed point
VI_INC = 26  # position increment per output sample, 32.32
VI_DINC = 27  # increment change per sample (the pitch ramp between control points), 32.32
VI_PLAYED = 28  # samples rendered since the note started
VI_SF2_SHAPES = 29  # 1: SF2's shapes (triangle LFOs, convex EG2 attack), 0: DLS's
VI_N = 30

FRAC_BITS = 32  # fixed-point positions: integer adds keep the sample loop free of float chains
FRAC_ONE = 1 << FRAC_BITS
FRAC_MASK = FRAC_ONE - 1

USES_LFO = 1
USES_VIB = 2
USES_EG2 = 4
USES_EG1 = 8

# --- voice float table columns (vf[v, VF_*], float64) --------------------------------------------
VF_FLT_B0 = 0  # low-pass biquad: b0 (b1 = 2 b0, b2 = b0), a1, a2
VF_FLT_A1 = 1
VF_FLT_A2 = 2
VF_RATE_RATIO = 3  # wave rate / output rate
VF_PITCH_OFFSET = 4  # cents: fine tune - 100 x unity note
VF_ATTENUATION = 5  # dB from wsmp (negative = quieter)
# gain ramps: value at the last control point and its per-sample step, for the four buses
VF_GL0 = 6
VF_GR0 = 7
VF_GREV0 = 8
VF_GCHO0 = 9
VF_DGL = 10
VF_DGR = 11
VF_DGREV = 12
VF_DGCHO = 13
VF_LEVEL = 14  # last amplitude (EG1 x gain), for the glue's stealing
# EG1 (volume): times in samples, sustain as 0..1 of the 96 dB range
VF_EG1_DELAY = 15
VF_EG1_ATTACK = 16
VF_EG1_HOLD = 17
VF_EG1_DECAY = 18
VF_EG1_SUSTAIN = 19
VF_EG1_RELEASE = 20
VF_EG1_T = 21  # samples spent in the current stage
VF_EG1_LEVEL = 22  # dB-linear level 0..1 (decay, sustain, release) or amplitude (attack)
VF_EG1_FROM = 23  # level the release started from
VF_EG2_DELAY = 24
VF_EG2_ATTACK = 25
VF_EG2_HOLD = 26
VF_EG2_DECAY = 27
VF_EG2_SUSTAIN = 28
VF_EG2_RELEASE = 29
VF_EG2_T = 30
VF_EG2_LEVEL = 31
VF_EG2_FROM = 32
VF_LFO_PHASE = 33  # 0..1 cycles
VF_LFO_DELAY = 34  # samples left before the LFO starts
VF_LFO_VALUE = 35
VF_VIB_PHASE = 36
VF_VIB_DELAY = 37
VF_VIB_VALUE = 38
VF_FLT_X1 = 39  # low-pass biquad state: last two inputs and outputs
VF_FLT_X2 = 40
VF_FLT_Y1 = 41
VF_FLT_Y2 = 42
VF_FLT_CENTS = 43  # cutoff (absolute cents) and resonance (dB) the coefficients were made for
VF_QS_LEVEL = 44  # quick-stop multiplier 1 -> 0
VF_QS_STEP = 45  # its decrease per sample
VF_LFO_INC = 46  # LFO phase step per sample (cycles), from the last control point
VF_VIB_INC = 47
VF_PAN_L = 48  # equal-power pan gains and send fractions, from the last channel re-sum
VF_PAN_R = 49
VF_SEND_REV = 50
VF_SEND_CHO = 51
VF_TARGET_INC = 52  # the increment the pitch ramp is heading for
VF_FLT_QDB = 53
VF_FLT_INVQ = 54  # 1 / Q for that resonance
VF_SHUTDOWN = 55  # EG1 shutdown time in samples from the articulation (0: none given)
VF_FLT_GAIN = 56  # the filter's pass-band gain for that resonance (filter.dc_gain)
VF_PORTA = 57  # cents the pitch is still away from the note's (portamento, legato glides)
VF_PORTA_RATE = 58  # cents per second the glide closes at
VF_LFO_PITCH = 59  # cents of modulation LFO -> pitch added by the channel (V_LFO_PITCH)
VF_VIB_PITCH = 60  # the same for the vibrato LFO
VF_LEGATO_BASE = 61  # V_LEGATO when the voice started: it moves by what came after
VF_LEGATO = 62  # the legato move applied to the voice now (cents)
# the largest |sample| of the voice's wave, and of what it plays once it has looped (1 when not
# known): for the silence floor
VF_PEAK = 63
VF_LOOP_PEAK = 64
VF_GAIN_SWING = 65  # how much louder than now the LFOs and EGs feeding the gain can make it
VF_NOTE_OFFSET = 66  # + D_*: this note's own offsets (drum instrument NRPNs), read at note-on
# N_DYNAMIC sums of the connections that never change during the note
VF_BASE = VF_NOTE_OFFSET + N_DEST
VF_CHAN = VF_BASE + N_DYNAMIC  # the base plus the channel-driven connections (CC, wheel, RPN)
VF_N = VF_CHAN + N_DYNAMIC

# --- master / effects parameter vector (params[P_*], float64) -----------------------------------
P_MASTER_GAIN = 0  # linear
P_REVERB_ON = 1
P_CHORUS_ON = 2
P_REVERB_MIX = 3
P_CHORUS_MIX = 4
P_QS_SAMPLES = 5  # quick-stop fade length in samples
P_OUT_RATE = 6
P_PEAK = 7  # written by the block call: largest |sample| since last cleared
P_CONTROL_INTERVAL = 8
P_REVERB_IN_GAIN = 9  # linear gain on the reverb send
P_CHORUS_IN_GAIN = 10
P_INV_CONTROL_INTERVAL = 11
P_LIMITER_ON = 12
P_LIMITER_CEILING = 13  # linear
P_LIMITER_RELEASE = 14  # per-sample factor on the gain's distance from 1
P_LIMITER_GAIN = 15  # the limiter's state: its gain now
P_LIMITED = 16  # written by the block call: samples the limiter turned down, ever
P_EFFECT_ROW = 17  # the bus row of the reverb and chorus returns' own pairs (0: into the mix)
P_CHANNEL_ROW = 18  # the bus row of MIDI channel 1's own pair (0: every voice into the mix)
P_N = 19

# --- the bus and the block's output columns -------------------------------------------------------
# bus rows: 0-1 the mix, 2 the reverb send, 3 the chorus send, then the stems (own pairs) in the
# order of the output columns: the pin's mix is columns 0-1, and stem column c is bus row c + 2
STEM_ROW_OFFSET = 2
EFFECT_STEMS = 4  # reverb L, R, chorus L, R
CHANNEL_STEMS = 32  # MIDI channels 1-16 (of every channel group), L and R
