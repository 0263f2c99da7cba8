"""The cdl stack machine."""

from __future__ import annotations

import uuid

import pytest

from dmusd.banks import conditional as c


def run(*ops, caps=c.DEFAULT_CAPABILITIES):
    return c.evaluate(c.assemble(*ops), caps)


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        (c.DLS_CDL_AND, 6, 3, 2),
        (c.DLS_CDL_OR, 6, 3, 7),
        (c.DLS_CDL_XOR, 6, 3, 5),
        (c.DLS_CDL_ADD, 6, 3, 9),
        (c.DLS_CDL_SUBTRACT, 6, 3, 3),
        (c.DLS_CDL_MULTIPLY, 6, 3, 18),
        (c.DLS_CDL_DIVIDE, 6, 3, 2),
        (c.DLS_CDL_LT, 6, 3, 0),
        (c.DLS_CDL_GT, 6, 3, 1),
        (c.DLS_CDL_LE, 3, 3, 1),
        (c.DLS_CDL_GE, 2, 3, 0),
        (c.DLS_CDL_EQ, 3, 3, 1),
        (c.DLS_CDL_LOGICAL_AND, 2, 0, 0),
        (c.DLS_CDL_LOGICAL_OR, 2, 0, 1),
    ],
)
def test_binary_operators_pop_in_push_order(op, a, b, expected):
    program = (
        (c.DLS_CDL_CONST, a),
        (c.DLS_CDL_CONST, b),
        op,
        (c.DLS_CDL_CONST, expected),
        c.DLS_CDL_EQ,
    )
    assert run(*program)


def test_queries_answer_our_capabilities():
    assert run((c.DLS_CDL_QUERY, c.DLSID_SupportsDLS2))
    assert not run((c.DLS_CDL_QUERY, c.DLSID_GMInHardware))
    assert run((c.DLS_CDL_QUERY, c.DLSID_GMInHardware), c.DLS_CDL_NOT)
    caps = c.Capabilities(sample_memory=1000)
    big = ((c.DLS_CDL_QUERY, c.DLSID_SampleMemorySize), (c.DLS_CDL_CONST, 4096), c.DLS_CDL_GE)
    assert run(*big) and not run(*big, caps=caps)
    unknown = uuid.UUID("12345678-1234-1234-1234-123456789abc")
    assert not run((c.DLS_CDL_QUERYSUPPORTED, unknown))
    assert run((c.DLS_CDL_QUERYSUPPORTED, c.DLSID_SamplePlaybackRate))
    assert run() is True  # an empty program applies


@pytest.mark.parametrize(
    ("program", "message"),
    [
        (b"\x01", "truncated"),
        (c.assemble(c.DLS_CDL_NOT), "empty stack"),
        (c.assemble((c.DLS_CDL_CONST, 1), c.DLS_CDL_ADD), "two operands"),
        (c.assemble((c.DLS_CDL_CONST, 1), (c.DLS_CDL_CONST, 0), c.DLS_CDL_DIVIDE), "division"),
        (c.assemble(0x99), "unknown opcode"),
        (c.assemble(c.DLS_CDL_CONST)[:2] + b"\x01", "without its value"),
        (c.assemble(c.DLS_CDL_QUERY) + bytes(8), "without its DLSID"),
    ],
)
def test_malformed_programs_raise_with_their_position(program, message):
    with pytest.raises(c.ConditionError, match=message) as err:
        c.evaluate(program)
    assert 0 <= err.value.position < len(program)
