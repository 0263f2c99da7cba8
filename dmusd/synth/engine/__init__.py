"""The numba voice engine: what the audio thread runs, one compiled call per block (README.md)."""

# numba's stale machine code goes before anything loads it; the C entries (cfuncs) compile or
# load at import, so this runs before the modules that define them
from dmusd.synth.engine.cache import drop_stale_cache  # noqa: I001 (order matters)
from dmusd.synth.engine.connections import apply_transform
from dmusd.synth.effects.limiter import limit

drop_stale_cache([apply_transform, limit])

from dmusd.synth.engine.engine import Engine  # noqa: E402
from dmusd.synth.engine.voice_spec import VoiceSpec, default_connections  # noqa: E402

__all__ = ["Engine", "VoiceSpec", "default_connections"]
