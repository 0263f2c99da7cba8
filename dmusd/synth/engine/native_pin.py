"""The pin call as a C function: one compiled entry, called from Python and from native code.

`render_pin` (pin_entry.py, loaded from the engine's library: engine_library.py) is a C function of
(descriptor, output, frames, position, running). The descriptor is an int64 array (`PinDescriptor`)
holding the address and shape of every array of the pin's state, its instrument tables and its
engine, so the function needs no Python object: SynthStream.Render calls it through ctypes
(offline, in tests and wherever a Python callback renders), and a native audio callback can call it
by its address with no Python at all. Both reach the same machine code: one route, the same
samples.

Tables and the sample pool change while the synth plays (a download publishes new tables; the
pool grows into a new array): they live in two banks of the descriptor. A writer (a control
thread) fills the bank not in use and then flips the index; the render reads the index once per
block. Before writing a bank again the writer waits until every block that may have read it
has ended (`BLOCK_START`/`BLOCK_END`, counted by the render), unless no render runs on another
thread (offline). The arrays a bank points at are kept alive by the PinDescriptor until that
bank is overwritten.
"""

from __future__ import annotations

import mmap
import threading
import time

import numpy as np

from dmusd.engine_library import engine_entries

# -- descriptor layout -------------------------------------------------------------------------
BANK = 0  # which table bank the render reads (0 or 1)
BLOCK_START = 1  # blocks begun by the render, ever
BLOCK_END = 2  # blocks finished by the render, ever
HEADER = 4
SLOT = 4  # an array: address, then up to three dimensions
# S: the pin state (PinState.arrays), in pin_render's order
STATE = (
    ("ring", "i64", 2),
    ("ring_values", "f64", 1),
    ("ring_positions", "i64", 1),
    ("pending", "i64", 2),
    ("pending_values", "f64", 1),
    ("chs", "i64", 2),
    ("cc", "i64", 2),
    ("sent", "f64", 2),
    ("vr", "i64", 2),
    ("priorities", "i64", 1),
    ("modes", "i64", 1),
    ("stats", "i64", 1),
    ("pf", "f64", 1),
)
# R: the engine (Engine.pin_arrays), in render_block's order, less the pool (banked)
ENGINE = (
    ("vi", "i64", 2),
    ("vf", "f64", 2),
    ("conn", "i64", 3),
    ("cscale", "f64", 3),
    ("chan", "f64", 2),
    ("poly", "f64", 2),
    ("interp_table", "f32", 2),
    ("cmd_i", "i64", 2),
    ("cmd_f", "f64", 1),
    ("counts", "i64", 1),
    ("finished", "i64", 1),
    ("params", "f64", 1),
    ("acc", "f64", 1),
    ("has", "f64", 1),
    ("bus", "f32", 2),
    ("vbuf", "f32", 1),
    ("rv_buf", "f32", 1),
    ("rv_int", "i64", 2),
    ("rv_flt", "f64", 2),
    ("ch_buf", "f32", 1),
    ("ch_int", "i64", 1),
    ("ch_flt", "f64", 1),
    ("scratch", "f32", 2),
)
# a bank: T, the instrument tables (InstrumentTables.arrays), then the sample pool
TABLES = (
    ("inst", "i64", 2),
    ("rg", "i64", 2),
    ("rgf", "f64", 2),
    ("rows", "i64", 2),
    ("scale", "f64", 1),
    ("generation", "i64", 1),
    ("pool", "f32", 1),
)
FIXED = HEADER
BANKS = FIXED + SLOT * (len(STATE) + len(ENGINE))
BANK_SIZE = SLOT * len(TABLES)
SIZE = BANKS + 2 * BANK_SIZE
_DTYPES = {"i64": np.int64, "f64": np.float64, "f32": np.float32}


# slot offsets, compile-time constants of the C entry (pin_entry.py)
STATE_SLOTS = tuple(FIXED + SLOT * i for i in range(len(STATE)))
ENGINE_SLOTS = tuple(FIXED + SLOT * (len(STATE) + i) for i in range(len(ENGINE)))
TABLE_SLOTS = tuple(SLOT * i for i in range(len(TABLES)))


def map_pages(array: np.ndarray) -> None:
    """Have the kernel map every page of a C-contiguous array now, keeping its contents.

    numpy's zeros come from calloc, whose large blocks are fresh pages the kernel maps only
    when first touched. The audio thread would take those faults itself (a new voice slot's
    rows, the first busy block), and a fault waits for the process's memory map, which a
    control thread holds while it maps or unmaps a bank's arrays. Each page is written with
    the byte it holds, so nothing may write the array meanwhile."""
    if not array.flags.c_contiguous:
        raise ValueError(f"map_pages takes a C-contiguous array, not strides {array.strides}")
    if array.nbytes == 0:
        return
    flat = array.reshape(-1).view(np.uint8)
    flat[0] = flat[0]  # the page the array starts in
    first = -array.__array_interface__["data"][0] % mmap.PAGESIZE  # offset of the next page
    flat[first :: mmap.PAGESIZE] = flat[first :: mmap.PAGESIZE].copy()


def _write(desc: np.ndarray, at: int, array: np.ndarray, kind: str, ndim: int) -> None:
    if array.dtype != _DTYPES[kind] or array.ndim != ndim or not array.flags.c_contiguous:
        raise TypeError(f"pin array at slot {at}: {array.dtype} {array.shape}, not {kind}/{ndim}")
    desc[at] = array.__array_interface__["data"][0]
    desc[at + 1 : at + 1 + ndim] = array.shape


class PinDescriptor:
    """The descriptor of one pin: the arrays the C function renders with."""

    def __init__(self, state: tuple, engine: tuple, tables: tuple, pool: np.ndarray) -> None:
        self.array = np.zeros(SIZE, dtype=np.int64)
        self.address = self.array.__array_interface__["data"][0]
        self.concurrent = False  # a render may run on another thread (live): writers wait
        self.columns = engine[-1].shape[1]  # of the output: the engine's scratch block's
        self._kept: list[tuple] = [(), ()]  # what each bank points at, kept alive
        self._fixed = (state, engine)  # the arrays the fixed slots point at, kept alive
        for i, (array, (_, kind, ndim)) in enumerate(zip(state, STATE, strict=True)):
            _write(self.array, STATE_SLOTS[i], array, kind, ndim)
        for i, (array, (_, kind, ndim)) in enumerate(zip(engine, ENGINE, strict=True)):
            _write(self.array, ENGINE_SLOTS[i], array, kind, ndim)
        for array in (*state, *engine):  # no block renders yet: nothing writes them meanwhile
            map_pages(array)
        self._lock = threading.Lock()
        self._write_bank(0, tables, pool)
        self._flipped_at = -1

    def publish(self, tables: tuple, pool: np.ndarray, render_lock, then=None) -> None:
        """Render with these tables and this pool from the next block on (any thread).
        `render_lock` is what a Python-called render holds (it never waits on a native block,
        so waiting for one must not hold it); `then()` runs with it, after the flip."""
        with self._lock:
            self._settle()
            with render_lock:
                spare = 1 - int(self.array[BANK])
                self._write_bank(spare, tables, pool)
                self.array[BANK] = spare
                self._flipped_at = int(self.array[BLOCK_START])
                if then is not None:
                    then()

    def uses_latest(self) -> bool:
        """Whether a block has begun and ended since the last publish: the render uses the
        latest tables now (and no block still reads the ones before)."""
        return int(self.array[BLOCK_END]) >= self._flipped_at + 1

    def _write_bank(self, bank: int, tables: tuple, pool: np.ndarray) -> None:
        base = BANKS + BANK_SIZE * bank
        arrays = (*tables, pool)
        for i, (array, (_, kind, ndim)) in enumerate(zip(arrays, TABLES, strict=True)):
            _write(self.array, base + TABLE_SLOTS[i], array, kind, ndim)
        for table in tables:  # the render only reads them; the pool's waves were written in
            map_pages(table)
        self._kept[bank] = arrays

    def _settle(self, timeout: float = 2.0) -> None:
        """Wait until no block that began before the last flip still runs: it may read the bank
        about to be overwritten (live only; a render that never comes back is given up on)."""
        if not self.concurrent or self._flipped_at < 0:
            return
        deadline = time.monotonic() + timeout
        # + 1: the block running at the flip may have counted itself after the writer looked
        # (x86 lets a store pass a later load), so wait for the one after it to end too
        while int(self.array[BLOCK_END]) < self._flipped_at + 1 and time.monotonic() < deadline:
            time.sleep(0.0005)

    def render(self, out: np.ndarray, frames: int, position: int, running: bool) -> None:
        """Mix `frames` frames into out[:frames] ((n, columns) float32, C-contiguous rows)."""
        shape = (self.columns,)
        if out.dtype != np.float32 or out.shape[1:] != shape or not out.flags.c_contiguous:
            raise TypeError(
                f"output must be (n, {self.columns}) float32 and contiguous, not {out.shape}"
            )
        if frames > out.shape[0]:
            raise ValueError(f"{frames} frames do not fit an output of {out.shape[0]}")
        data = out.__array_interface__["data"][0]
        engine_entries().render_pin(self.address, data, frames, position, int(running))
