"""The IMXF protocol: KSSTATE steps, outputs, the allocator as the default sink."""

from __future__ import annotations

import pytest

from dmusd.errors import StateError
from dmusd.kernel.mxf import KSSTATE, MXF, step_state
from tests.support import Collector


def test_state_changes_one_step_at_a_time(allocator):
    node = MXF(allocator())
    assert node.state == KSSTATE.STOP
    with pytest.raises(StateError, match="STOP -> RUN"):
        node.SetState(KSSTATE.RUN)
    node.SetState(KSSTATE.ACQUIRE)
    node.SetState(KSSTATE.PAUSE)
    node.SetState(KSSTATE.RUN)
    node.SetState(KSSTATE.RUN)  # staying put is allowed
    with pytest.raises(StateError):
        node.SetState(KSSTATE.ACQUIRE)
    step_state(node, KSSTATE.STOP)
    assert node.state == KSSTATE.STOP


def test_output_defaults_to_the_allocator_and_connects_once(allocator):
    pool = allocator()
    node, sink = MXF(pool), Collector(pool)
    ev = pool.GetMessage()
    node.PutMessage(ev)  # no output: straight home
    assert pool.all_home()
    node.ConnectOutput(sink)
    with pytest.raises(StateError, match="already connected"):
        node.ConnectOutput(sink)
    ev = pool.GetMessage()
    ev.cbEvent, ev.abData[0] = 1, 0xF8
    node.PutMessage(ev)
    assert sink.messages() == [b"\xf8"]
    with pytest.raises(StateError):
        node.DisconnectOutput(Collector(pool))
    node.DisconnectOutput(sink)
    assert node.sink is pool
    node.PutMessage(None)  # an empty chain is fine
