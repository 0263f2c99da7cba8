"""How much sample memory one pin's downloads may hold when the config does not say.

Without a limit, wave downloads grow the daemon until the machine swaps or the OOM killer
comes. A quarter of the physical memory leaves room for the rest of the desktop; the cap keeps
several pins on a big machine from claiming it all; the floor keeps a large GM bank (300 MB of
16-bit samples: about 600 MB once the pool holds them as float32) loadable on a small one.
"""

from __future__ import annotations

import os

MIB = 1 << 20
FLOOR = 768 * MIB
CEILING = 2048 * MIB


def default_budget() -> int:
    """Bytes: a quarter of the physical memory, within FLOOR..CEILING."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not known here: the floor is safe anywhere dmusd runs
        physical = 0
    return min(max(physical // 4, FLOOR), CEILING)


def budget_bytes(megabytes: int) -> int:
    """A configured budget in MiB as bytes; 0 means the default."""
    return megabytes * MIB if megabytes else default_budget()
