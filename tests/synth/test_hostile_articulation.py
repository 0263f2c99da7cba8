"""Any connection list a bank can hold renders finite audio and ends voices properly."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L

from .audio import looped_voice, make_engine

SOURCES = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    0xA,
    0x81,
    0x87,
    0x8A,
    0x8B,
    0xDB,
    0xDD,
    0x100,
    0x101,
    0x102,
]
DESTS = sorted(C.DEST_INDEX) + [0x0010, 0x0015, 0x0099, 0xFFFF]

block = st.tuples(
    st.sampled_from(SOURCES + [0xFFFF]),
    st.sampled_from(SOURCES),
    st.sampled_from(DESTS),
    st.integers(0, 0xFFFF),
    st.one_of(
        st.integers(-(2**31), 2**31 - 1),
        st.sampled_from([0, C.ZERO_TIME, C.FILTER_OFF, 0x7FFFFFFF, -1]),
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blocks=st.lists(block, max_size=20),
    loop=st.sampled_from([L.LOOP_NONE, L.LOOP_FORWARD, L.LOOP_RELEASE]),
    key=st.integers(0, 127),
    velocity=st.integers(0, 127),
)
def test_random_articulations_render_finite_audio(blocks, loop, key, velocity):
    engine = make_engine(max_voices=4)
    engine.set_reverb(enabled=True)
    engine.set_chorus(enabled=True)
    offset = engine.pool.add_wave(np.sin(np.arange(500) * 0.3))
    conns = np.concatenate([engine_defaults(), C.connections_array(blocks).reshape(-1, 5)])
    v = engine.start(
        looped_voice(
            offset,
            500,
            loop_type=loop,
            loop_start=100,
            loop_length=300,
            key=key,
            velocity=velocity,
            connections=conns,
        )
    )
    engine.controller(0, 1, 90, offset=300)
    engine.pitch_wheel(0, 16000, offset=500)
    engine.release(v, 1500)
    out = engine.render(3000)
    assert np.all(np.isfinite(out))
    assert np.abs(out).max() < 100.0
    engine.quick_stop(v)
    engine.render(2000)
    assert engine.states[v] == L.VOICE_FREE


def engine_defaults():
    return C.connections_array(C.DLS2_DEFAULTS)
