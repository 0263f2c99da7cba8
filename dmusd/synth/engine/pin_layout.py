"""The pin's control tables: column numbers shared by the Python side and the compiled pin call.

A pin's whole state lives in preallocated numpy arrays (`PinState`), so the compiled call can
run a block with no Python: the event ring it reads, each channel's MIDI state, one record per
voice slot, the instrument and region tables a download publishes, and counters. Plain
module-level ints are compile-time constants to numba.
"""

from __future__ import annotations

# --- event records (ring[i, EV_*], int64) ---------------------------------------------------------
# A record is one complete message for one channel group, at one sample of the pin's stream.
EV_SAMPLE = 0  # stream sample it takes effect at; ASAP: at the start of the next block
EV_GROUP = 1  # 0-based channel group; -1: every group
EV_KIND = 2
EV_A = 3  # MIDI: status byte; parameter records: their channel or 0
EV_B = 4  # MIDI: first data byte
EV_C = 5  # MIDI: second data byte
EV_N = 6  # a record's float parameter goes in the ring's float column beside it
ASAP = -1

# event kinds
EK_MIDI = 0  # a channel message (status, data1, data2)
EK_GM_ON = 1  # GM System On: reset the group in GM mode
EK_GS_RESET = 2
EK_XG_ON = 3
EK_GS_RHYTHM = 4  # a = channel, value = 0 (normal) or the drum map
EK_MASTER_VOLUME = 5  # value: 0..1 of full
EK_MASTER_FINE = 6  # value: cents
EK_MASTER_COARSE = 7  # value: semitones
EK_NOTES_OFF = 8  # the pin left RUN: release every voice
EK_GM2_ON = 9  # GM2 System On: reset the group in GM2 mode (bank MSB 120 drums, 121 melodic)
EK_SCALE_TUNING = 10  # MTS scale/octave tuning: a = channel, b = pitch class, value = cents,
# c = 1: the real-time form (the notes sounding are retuned too)

# ring indices (ring_pos[*]): written by one producer, read by one consumer
RING_WRITE = 0  # records written, ever (the producer's count)
RING_READ = 1  # records taken into the pending list, ever (the consumer's count)

# --- group modes ----------------------------------------------------------------------------------
MODE_GM = 0
MODE_GS = 1
MODE_XG = 2
MODE_GM2 = 3

# --- channel state (chs[channel, CH_*], int64; channel = 16 x group + MIDI channel) ---------------
CH_PROGRAM = 0
CH_BANK_MSB = 1
CH_BANK_LSB = 2
CH_DRUM = 3
CH_WHEEL = 4  # 14-bit, 8192 = centre
CH_PRESSURE = 5
CH_BEND_RANGE = 6  # semitones x 128 + cents
CH_FINE_TUNE = 7  # RPN 1, 14-bit
CH_COARSE_TUNE = 8  # RPN 2, semitones around 64
CH_MOD_RANGE = 9  # RPN 5: MSB x 128 + LSB
CH_PARAM = 10  # selected RPN/NRPN number (0x3FFF: none)
CH_PARAM_IS_RPN = 11
CH_CACHED_PATCH = 12  # the patch last resolved, with the table generation it was found in
CH_CACHED_GEN = 13
CH_CACHED_INST = 14  # its instrument index in that table (-1: nothing answers)
CH_NRPN_SELECT = 15  # SF2.01 9.6: the generator NRPN LSBs 100/101/102 and < 100 add up to
CH_MONO = 16  # CC126 mono mode: one voice per channel, legato
CH_LAST_KEY = 17  # the key last played (portamento glides from it; -1: none yet)
CH_PORTA_KEY = 18  # CC84 portamento control: the key the next note glides from (-1: none)
CH_PRESSES = 19  # note-ons counted: the order of the keys held (mono mode goes back to them)
# SF2.01 NRPN generator offsets, in the generator's units (index = generator number)
CH_GEN = 20
N_NRPN_GENERATORS = 61  # generators 0..60 (the SF2.01 list)
# GS/XG part NRPNs (MSB 1), as data entry MSB - 64 (relative)
CH_PART = CH_GEN + N_NRPN_GENERATORS
PART_VIB_RATE = 0  # LSB 0x08
PART_VIB_DEPTH = 1  # 0x09
PART_VIB_DELAY = 2  # 0x0A
PART_CUTOFF = 3  # 0x20
PART_RESONANCE = 4  # 0x21
PART_ATTACK = 5  # 0x63
PART_DECAY = 6  # 0x64
PART_RELEASE = 7  # 0x66
N_PART = 8
# GS/XG drum instrument NRPNs (MSB 0x14..0x1E, LSB = key): the data entry MSB, -1 = not set
CH_DRUM_KEY = CH_PART + N_PART  # + key x N_DRUM_PARAMS + DK_*
DK_CUTOFF = 0  # XG 0x14 (relative)
DK_RESONANCE = 1  # XG 0x15 (relative)
DK_ATTACK = 2  # XG 0x16 (relative)
DK_DECAY = 3  # XG 0x17 (relative)
DK_COARSE = 4  # GS/XG 0x18 (relative semitones)
DK_FINE = 5  # XG 0x19 (relative cents)
DK_LEVEL = 6  # GS/XG 0x1A (absolute, 127 = as the kit is)
DK_PAN = 7  # GS/XG 0x1C (absolute, 64 = as the kit is; 0 = random on the SC-88: centre here)
DK_REVERB = 8  # GS/XG 0x1D (absolute send, 127 = as the kit is)
DK_CHORUS = 9  # GS/XG 0x1E
N_DRUM_PARAMS = 10
CH_KEY_PRESS = CH_DRUM_KEY + 128 * N_DRUM_PARAMS  # + key: its CH_PRESSES count while down, 0 up
CH_SCALE_TUNING = CH_KEY_PRESS + 128  # + pitch class: MTS scale tuning, 1/100 cents
CH_N = CH_SCALE_TUNING + 12
NULL_PARAMETER = 0x3FFF

# --- voice records (vr[slot, VR_*], int64): what the control logic knows of each engine voice -----
VR_LIVE = 0  # 1 while the slot holds a voice the control logic started
VR_GROUP = 1
VR_CHANNEL = 2  # 0..15 within the group
VR_KEY = 3  # the key as played (note-offs match on it)
VR_PRIORITY = 4
VR_SERIAL = 5  # start order, bigger = newer
VR_KEY_DOWN = 6
VR_SOSTENUTO = 7
VR_RELEASED = 8
VR_STOPPING = 9  # quick-stopped: fading out, outside the budget
VR_INSTRUMENT = 10  # instrument uid (generation << 24 | index): key groups cut its own voices
VR_REGION = 11  # region index in the table of VR_GENERATION
VR_KEY_GROUP = 12
VR_GENERATION = 13
VR_N = 14

# --- pin counters (stats[ST_*], int64) ------------------------------------------------------------
ST_SOUNDING = 0  # voices inside the budget
ST_SERIAL = 1
ST_STOLEN = 2
ST_REFUSED = 3
ST_STARTED = 4
ST_NOTES = 5  # note-ons that started at least one voice
ST_UNPLAYABLE = 6  # regions skipped because the engine cannot play them
ST_MISSED = 7  # program selections answered by a fallback or by nothing
ST_LATE = 8  # events whose sample had already been rendered
ST_STRAY = 9  # events for a channel group the synth does not have
ST_BUDGET = 10  # the voice budget
ST_PENDING = 11  # records taken from the ring and not yet played
ST_NOTES_OFF = 12  # set by the Python side: release every voice in the next block
ST_INTERPOLATION = 13  # the pin's interpolation mode (engine INTERP_*)
ST_PEND_HEAD = 14  # the pending list is pend[head : head + ST_PENDING], sorted by sample
ST_N = 16

# --- pin floats (pf[PF_*], float64) ---------------------------------------------------------------
PF_GAIN_CB = 0  # volume + boost - headroom, 1/100 dB, set by the Python side
PF_MASTER_VOLUME = 1  # SysEx master volume, 0..1
PF_MASTER_FINE = 2  # cents
PF_MASTER_COARSE = 3  # semitones
PF_N = 4
VOLUME_FLOOR = -9600  # 1/100 dB: silence

# --- instrument table (inst[i, IN_*], int64; rows sorted by patch) --------------------------------
IN_PATCH = 0
IN_FIRST_REGION = 1
IN_REGIONS = 2
IN_N = 3

# --- region table (rg[r, RG_*], int64 and rgf[r, RF_*], float64) ----------------------------------
RG_KEY_LOW = 0
RG_KEY_HIGH = 1
RG_VEL_LOW = 2
RG_VEL_HIGH = 3
RG_KEY_GROUP = 4
RG_SELF_NON_EXCLUSIVE = 5
RG_FIXED_KEY = 6  # -1: the key played
RG_FIXED_VELOCITY = 7
RG_WAVE_OFFSET = 8  # in the engine's sample pool
RG_WAVE_LENGTH = 9  # 0: the region cannot sound (no samples)
RG_LOOP_TYPE = 10  # engine LOOP_* (a loop that does not fit is already LOOP_NONE)
RG_LOOP_START = 11
RG_LOOP_END = 12
RG_UNITY_NOTE = 13
RG_FIRST_CONN = 14  # rows in the table's connection arrays
RG_CONNS = 15
RG_PLAYABLE = 16  # 0: the engine cannot play it (counted as unplayable at each note)
RG_SF2_SHAPES = 17  # 1: SF2's shapes (triangle LFOs, convex EG2 attack), 0: DLS's
RG_N = 18
RF_RATE_RATIO = 0  # wave rate / output rate
RF_FINE_TUNE = 1  # cents
RF_ATTENUATION = 2  # dB (negative = quieter)
RF_KEY_CENTS = 3  # cents a key adds (the plain KEYNUMBER -> PITCH rows)
# the largest |sample| of the region's wave, and of what plays after its loop start (voices
# below the silence floor end)
RF_PEAK = 4
RF_LOOP_PEAK = 5
RF_N = 6
