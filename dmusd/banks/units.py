"""DLS units as 16.16 lScale values (ddi-digest 5.5), for the writers and the SF2 mapping.

Every helper returns an int that fits a LONG, because that is what an art2 chunk can store.
"""

from __future__ import annotations

import math

ZERO_TIME = -0x80000000  # lScale 0x80000000: "0 seconds" (absolute time)
FILTER_OFF = 0x7FFFFFFF  # filter cutoff scale that leaves the filter open
LONG_MIN, LONG_MAX = -0x80000000, 0x7FFFFFFF


def clamp_long(value: float) -> int:
    """Round to the nearest LONG, saturating instead of wrapping."""
    return int(min(max(round(value), LONG_MIN), LONG_MAX))


def fixed(value: float) -> int:
    """A plain quantity (cents, centibels, time cents, 0.1 %) as 16.16."""
    return clamp_long(value * 65536.0)


def timecents(seconds: float) -> int:
    """Absolute time in seconds -> time cents 16.16 (0 s -> the ZERO_TIME sentinel)."""
    if seconds <= 0.0:
        return ZERO_TIME
    return fixed(1200.0 * math.log2(seconds))


def seconds(scale: int) -> float:
    """Time cents 16.16 -> seconds (ZERO_TIME -> 0)."""
    return 0.0 if scale <= ZERO_TIME else 2.0 ** (scale / 65536.0 / 1200.0)


def abs_pitch(hz: float) -> int:
    """Absolute pitch in Hz (LFO frequency, filter cutoff) -> absolute cents 16.16."""
    return fixed(1200.0 * math.log2(hz / 440.0) + 6900.0)


def hz(scale: int) -> float:
    """Absolute cents 16.16 -> Hz."""
    return 440.0 * 2.0 ** ((scale / 65536.0 - 6900.0) / 1200.0)


def cents(value: float) -> int:
    """Relative pitch in cents -> 16.16."""
    return fixed(value)


def gain_db(db: float) -> int:
    """Gain in dB (negative = quieter) -> 1/655360 dB units."""
    return clamp_long(db * 655360.0)


def percent(value: float) -> int:
    """Percent (sustain level, pan, sends) -> 0.1 % units 16.16."""
    return fixed(value * 10.0)
