"""The DMus miniport side of dmusd: synth stream, channel logic and the numba voice engine.

`engine/` is the real-time part (what the audio thread runs, one compiled call per block);
`effects/` holds the reverb and chorus that the engine's send buses feed.
"""
