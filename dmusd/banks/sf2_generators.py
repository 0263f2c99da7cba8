"""SoundFont 2.04 generators (section 8.1): ids, defaults, legal ranges, where they may appear."""

from __future__ import annotations

from dataclasses import dataclass

START_ADDRS_OFFSET = 0
END_ADDRS_OFFSET = 1
STARTLOOP_ADDRS_OFFSET = 2
ENDLOOP_ADDRS_OFFSET = 3
START_ADDRS_COARSE_OFFSET = 4
MOD_LFO_TO_PITCH = 5
VIB_LFO_TO_PITCH = 6
MOD_ENV_TO_PITCH = 7
INITIAL_FILTER_FC = 8
INITIAL_FILTER_Q = 9
MOD_LFO_TO_FILTER_FC = 10
MOD_ENV_TO_FILTER_FC = 11
END_ADDRS_COARSE_OFFSET = 12
MOD_LFO_TO_VOLUME = 13
CHORUS_EFFECTS_SEND = 15
REVERB_EFFECTS_SEND = 16
PAN = 17
DELAY_MOD_LFO = 21
FREQ_MOD_LFO = 22
DELAY_VIB_LFO = 23
FREQ_VIB_LFO = 24
DELAY_MOD_ENV = 25
ATTACK_MOD_ENV = 26
HOLD_MOD_ENV = 27
DECAY_MOD_ENV = 28
SUSTAIN_MOD_ENV = 29
RELEASE_MOD_ENV = 30
KEYNUM_TO_MOD_ENV_HOLD = 31
KEYNUM_TO_MOD_ENV_DECAY = 32
DELAY_VOL_ENV = 33
ATTACK_VOL_ENV = 34
HOLD_VOL_ENV = 35
DECAY_VOL_ENV = 36
SUSTAIN_VOL_ENV = 37
RELEASE_VOL_ENV = 38
KEYNUM_TO_VOL_ENV_HOLD = 39
KEYNUM_TO_VOL_ENV_DECAY = 40
INSTRUMENT = 41
KEY_RANGE = 43
VEL_RANGE = 44
STARTLOOP_ADDRS_COARSE_OFFSET = 45
KEYNUM = 46
VELOCITY = 47
INITIAL_ATTENUATION = 48
ENDLOOP_ADDRS_COARSE_OFFSET = 50
COARSE_TUNE = 51
FINE_TUNE = 52
SAMPLE_ID = 53
SAMPLE_MODES = 54
SCALE_TUNING = 56
EXCLUSIVE_CLASS = 57
OVERRIDING_ROOT_KEY = 58
INITIAL_PITCH = 59  # not a generator: the destination of the default pitch-wheel modulator
END_OPER = 60


@dataclass(slots=True, frozen=True)
class GeneratorInfo:
    name: str
    default: int
    low: int
    high: int
    preset_level: bool = True  # False: ignored in preset zones (SF2 8.1.3)
    signed: bool = True


def _g(
    name: str, default: int, low: int, high: int, preset: bool = True, signed: bool = True
) -> GeneratorInfo:
    return GeneratorInfo(name, default, low, high, preset, signed)


_BIG = 1 << 30  # address offsets are limited by the sample, not by a range
GENERATORS: dict[int, GeneratorInfo] = {
    START_ADDRS_OFFSET: _g("startAddrsOffset", 0, -_BIG, _BIG, False),
    END_ADDRS_OFFSET: _g("endAddrsOffset", 0, -_BIG, _BIG, False),
    STARTLOOP_ADDRS_OFFSET: _g("startloopAddrsOffset", 0, -_BIG, _BIG, False),
    ENDLOOP_ADDRS_OFFSET: _g("endloopAddrsOffset", 0, -_BIG, _BIG, False),
    START_ADDRS_COARSE_OFFSET: _g("startAddrsCoarseOffset", 0, -_BIG, _BIG, False),
    MOD_LFO_TO_PITCH: _g("modLfoToPitch", 0, -12000, 12000),
    VIB_LFO_TO_PITCH: _g("vibLfoToPitch", 0, -12000, 12000),
    MOD_ENV_TO_PITCH: _g("modEnvToPitch", 0, -12000, 12000),
    INITIAL_FILTER_FC: _g("initialFilterFc", 13500, 1500, 13500),
    INITIAL_FILTER_Q: _g("initialFilterQ", 0, 0, 960),
    MOD_LFO_TO_FILTER_FC: _g("modLfoToFilterFc", 0, -12000, 12000),
    MOD_ENV_TO_FILTER_FC: _g("modEnvToFilterFc", 0, -12000, 12000),
    END_ADDRS_COARSE_OFFSET: _g("endAddrsCoarseOffset", 0, -_BIG, _BIG, False),
    MOD_LFO_TO_VOLUME: _g("modLfoToVolume", 0, -960, 960),
    CHORUS_EFFECTS_SEND: _g("chorusEffectsSend", 0, 0, 1000),
    REVERB_EFFECTS_SEND: _g("reverbEffectsSend", 0, 0, 1000),
    PAN: _g("pan", 0, -500, 500),
    DELAY_MOD_LFO: _g("delayModLFO", -12000, -12000, 5000),
    FREQ_MOD_LFO: _g("freqModLFO", 0, -16000, 4500),
    DELAY_VIB_LFO: _g("delayVibLFO", -12000, -12000, 5000),
    FREQ_VIB_LFO: _g("freqVibLFO", 0, -16000, 4500),
    DELAY_MOD_ENV: _g("delayModEnv", -12000, -12000, 5000),
    ATTACK_MOD_ENV: _g("attackModEnv", -12000, -12000, 8000),
    HOLD_MOD_ENV: _g("holdModEnv", -12000, -12000, 5000),
    DECAY_MOD_ENV: _g("decayModEnv", -12000, -12000, 8000),
    SUSTAIN_MOD_ENV: _g("sustainModEnv", 0, 0, 1000),
    RELEASE_MOD_ENV: _g("releaseModEnv", -12000, -12000, 8000),
    KEYNUM_TO_MOD_ENV_HOLD: _g("keynumToModEnvHold", 0, -1200, 1200),
    KEYNUM_TO_MOD_ENV_DECAY: _g("keynumToModEnvDecay", 0, -1200, 1200),
    DELAY_VOL_ENV: _g("delayVolEnv", -12000, -12000, 5000),
    ATTACK_VOL_ENV: _g("attackVolEnv", -12000, -12000, 8000),
    HOLD_VOL_ENV: _g("holdVolEnv", -12000, -12000, 5000),
    DECAY_VOL_ENV: _g("decayVolEnv", -12000, -12000, 8000),
    SUSTAIN_VOL_ENV: _g("sustainVolEnv", 0, 0, 1440),
    RELEASE_VOL_ENV: _g("releaseVolEnv", -12000, -12000, 8000),
    KEYNUM_TO_VOL_ENV_HOLD: _g("keynumToVolEnvHold", 0, -1200, 1200),
    KEYNUM_TO_VOL_ENV_DECAY: _g("keynumToVolEnvDecay", 0, -1200, 1200),
    STARTLOOP_ADDRS_COARSE_OFFSET: _g("startloopAddrsCoarseOffset", 0, -_BIG, _BIG, False),
    KEYNUM: _g("keynum", -1, 0, 127, False),
    VELOCITY: _g("velocity", -1, 0, 127, False),
    INITIAL_ATTENUATION: _g("initialAttenuation", 0, 0, 1440),
    ENDLOOP_ADDRS_COARSE_OFFSET: _g("endloopAddrsCoarseOffset", 0, -_BIG, _BIG, False),
    COARSE_TUNE: _g("coarseTune", 0, -120, 120),
    FINE_TUNE: _g("fineTune", 0, -99, 99),
    SAMPLE_MODES: _g("sampleModes", 0, 0, 3, False, False),
    SCALE_TUNING: _g("scaleTuning", 100, 0, 1200),
    EXCLUSIVE_CLASS: _g("exclusiveClass", 0, 0, 127, False),
    OVERRIDING_ROOT_KEY: _g("overridingRootKey", -1, 0, 127, False),
}


def signed_amount(oper: int, raw: int) -> int:
    """A generator's 16-bit amount as the spec reads it (most are SHORT, sampleModes is WORD)."""
    info = GENERATORS.get(oper)
    if info is not None and not info.signed:
        return raw
    return raw - 0x10000 if raw & 0x8000 else raw


def clamp(oper: int, value: int) -> int:
    """Clamp a summed generator value to its legal range (keynum/velocity/root key keep -1)."""
    info = GENERATORS[oper]
    if value == -1 and info.default == -1:
        return -1
    return min(max(value, info.low), info.high)
