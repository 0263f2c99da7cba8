"""One synth pin, assembled once: SynthPin (synth_pin.py), its banks (banks.py) and its block
render with idle detection (idle.py). The daemon's service and `dmusd render` both use it."""

from dmusd.pin.banks import BUILTIN, LoadedBank, ParsedBank, bank_signature, parse_bank
from dmusd.pin.idle import IDLE_AFTER, QUIET_LEVEL
from dmusd.pin.synth_pin import SynthPin, synth_config

__all__ = [
    "BUILTIN",
    "IDLE_AFTER",
    "QUIET_LEVEL",
    "LoadedBank",
    "ParsedBank",
    "SynthPin",
    "bank_signature",
    "parse_bank",
    "synth_config",
]
