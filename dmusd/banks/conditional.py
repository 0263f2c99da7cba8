"""DLS2 conditional chunks (`cdl`): a small stack machine evaluated against our capabilities.

A `cdl` whose result is 0 removes the list that holds it (a region, an articulation list, an
instrument; at the top of the file, the whole collection). The program is a sequence of USHORT
opcodes; CONST carries a DWORD and QUERY/QUERYSUPPORTED a 16-byte DLSID (ddi-digest 5.8).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

DLS_CDL_AND = 0x0001
DLS_CDL_OR = 0x0002
DLS_CDL_XOR = 0x0003
DLS_CDL_ADD = 0x0004
DLS_CDL_SUBTRACT = 0x0005
DLS_CDL_MULTIPLY = 0x0006
DLS_CDL_DIVIDE = 0x0007
DLS_CDL_LOGICAL_AND = 0x0008
DLS_CDL_LOGICAL_OR = 0x0009
DLS_CDL_LT = 0x000A
DLS_CDL_LE = 0x000B
DLS_CDL_GT = 0x000C
DLS_CDL_GE = 0x000D
DLS_CDL_EQ = 0x000E
DLS_CDL_NOT = 0x000F
DLS_CDL_CONST = 0x0010
DLS_CDL_QUERY = 0x0011
DLS_CDL_QUERYSUPPORTED = 0x0012

DLSID_GMInHardware = uuid.UUID("178f2f24-c364-11d1-a760-0000f875ac12")
DLSID_GSInHardware = uuid.UUID("178f2f25-c364-11d1-a760-0000f875ac12")
DLSID_XGInHardware = uuid.UUID("178f2f26-c364-11d1-a760-0000f875ac12")
DLSID_SupportsDLS1 = uuid.UUID("178f2f27-c364-11d1-a760-0000f875ac12")
DLSID_SampleMemorySize = uuid.UUID("178f2f28-c364-11d1-a760-0000f875ac12")
DLSID_SupportsDLS2 = uuid.UUID("f14599e5-4689-11d2-afa6-00aa0024d8b6")
DLSID_ManufacturersID = uuid.UUID("b03e1181-8095-11d2-a1ef-00600833dbd8")
DLSID_ProductID = uuid.UUID("b03e1182-8095-11d2-a1ef-00600833dbd8")
DLSID_SamplePlaybackRate = uuid.UUID("2a91f713-a4bf-11d2-bbdf-00600833dbd8")

_U32 = 0xFFFF_FFFF


@dataclass(slots=True, frozen=True)
class Capabilities:
    """What the synth answers to QUERY. GM/GS/XG "in hardware" are false for a software synth,
    as ddksynth and Wine answer; sample memory is the system's (SYNTH_PC_SYSTEMMEMORY)."""

    dls1: bool = True
    dls2: bool = True
    gm_in_hardware: bool = False
    gs_in_hardware: bool = False
    xg_in_hardware: bool = False
    sample_memory: int = 0x7FFF_FFFF
    manufacturer_id: int = 0
    product_id: int = 0
    sample_rate: int = 48000

    def query(self, dlsid: uuid.UUID) -> int | None:
        """The value of a DLSID, or None when the synth does not know it."""
        table = {
            DLSID_GMInHardware: int(self.gm_in_hardware),
            DLSID_GSInHardware: int(self.gs_in_hardware),
            DLSID_XGInHardware: int(self.xg_in_hardware),
            DLSID_SupportsDLS1: int(self.dls1),
            DLSID_SupportsDLS2: int(self.dls2),
            DLSID_SampleMemorySize: self.sample_memory,
            DLSID_ManufacturersID: self.manufacturer_id,
            DLSID_ProductID: self.product_id,
            DLSID_SamplePlaybackRate: self.sample_rate,
        }
        return table.get(dlsid)


DEFAULT_CAPABILITIES = Capabilities()


class ConditionError(ValueError):
    """A malformed program: the reader turns it into a BankError with the chunk's location."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def _binary(op: int, a: int, b: int, position: int) -> int:
    if op == DLS_CDL_AND:
        return a & b
    if op == DLS_CDL_OR:
        return a | b
    if op == DLS_CDL_XOR:
        return a ^ b
    if op == DLS_CDL_ADD:
        return (a + b) & _U32
    if op == DLS_CDL_SUBTRACT:
        return (a - b) & _U32
    if op == DLS_CDL_MULTIPLY:
        return (a * b) & _U32
    if op == DLS_CDL_DIVIDE:
        if b == 0:
            raise ConditionError("division by zero", position)
        return a // b
    if op == DLS_CDL_LOGICAL_AND:
        return int(bool(a) and bool(b))
    if op == DLS_CDL_LOGICAL_OR:
        return int(bool(a) or bool(b))
    if op == DLS_CDL_LT:
        return int(a < b)
    if op == DLS_CDL_LE:
        return int(a <= b)
    if op == DLS_CDL_GT:
        return int(a > b)
    if op == DLS_CDL_GE:
        return int(a >= b)
    return int(a == b)  # DLS_CDL_EQ


def evaluate(program: bytes, caps: Capabilities = DEFAULT_CAPABILITIES) -> bool:
    """Run a cdl program; True when the enclosing list applies to this synth.

    Operands are popped in push order (`a op b` where b was pushed last). An unknown DLSID queries
    as 0 and is reported unsupported by QUERYSUPPORTED. An empty program is true.
    """
    stack: list[int] = []
    pos = 0
    n = len(program)
    while pos < n:
        if pos + 2 > n:
            raise ConditionError("truncated opcode", pos)
        op = int.from_bytes(program[pos : pos + 2], "little")
        at = pos
        pos += 2
        if op == DLS_CDL_CONST:
            if pos + 4 > n:
                raise ConditionError("CONST without its value", at)
            stack.append(int.from_bytes(program[pos : pos + 4], "little"))
            pos += 4
        elif op in (DLS_CDL_QUERY, DLS_CDL_QUERYSUPPORTED):
            if pos + 16 > n:
                raise ConditionError("QUERY without its DLSID", at)
            dlsid = uuid.UUID(bytes_le=bytes(program[pos : pos + 16]))
            pos += 16
            value = caps.query(dlsid)
            if op == DLS_CDL_QUERY:
                stack.append(0 if value is None else value & _U32)
            else:
                stack.append(int(value is not None))
        elif op == DLS_CDL_NOT:
            if not stack:
                raise ConditionError("NOT on an empty stack", at)
            stack.append(int(not stack.pop()))
        elif DLS_CDL_AND <= op <= DLS_CDL_EQ:
            if len(stack) < 2:
                raise ConditionError(f"opcode {op:#x} needs two operands", at)
            b = stack.pop()
            a = stack.pop()
            stack.append(_binary(op, a, b, at))
        else:
            raise ConditionError(f"unknown opcode {op:#06x}", at)
    return bool(stack[-1]) if stack else True


def dlsid_bytes(dlsid: uuid.UUID) -> bytes:
    """A DLSID as stored in a file: Data1..3 little endian, then the 8 bytes of Data4."""
    return dlsid.bytes_le


def assemble(*ops: tuple[int, ...] | int) -> bytes:
    """Assemble a cdl program, for writers and tests: ints are opcodes, (CONST, value) and
    (QUERY, uuid) tuples carry their operand."""
    out = bytearray()
    for op in ops:
        if isinstance(op, tuple):
            code, operand = op
            out += code.to_bytes(2, "little")
            out += (
                operand.to_bytes(4, "little") if isinstance(operand, int) else dlsid_bytes(operand)
            )
        else:
            out += op.to_bytes(2, "little")
    return bytes(out)
