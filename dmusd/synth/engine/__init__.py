"""The numba voice engine: what the audio thread runs, one compiled call per block (README.md)."""

from dmusd.synth.engine.engine import Engine
from dmusd.synth.engine.voice_spec import VoiceSpec, default_connections

__all__ = ["Engine", "VoiceSpec", "default_connections"]
