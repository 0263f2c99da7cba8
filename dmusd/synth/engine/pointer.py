"""An int64 address as a C pointer inside compiled code: how a C entry reaches arrays and
buffers it is given by address (carray needs a pointer type)."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def pointer(typingctx, address):
    """`pointer(address)`: the int64 `address` as a void pointer."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(types.int64), codegen
