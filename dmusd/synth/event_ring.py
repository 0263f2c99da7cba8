"""EventRing: the preallocated single-producer/single-consumer ring of a pin's event records.

The producer is SynthStream.PutMessage (the MIDI thread, a control request, the offline feeder:
a lock keeps them one producer); the consumer is the compiled pin call on the audio thread
(engine/pin_render.py), which never waits for the producer. A record is a fixed-size row
(engine/pin_layout.py EV_*) plus one float. The producer writes the row and only then moves
the write count on; the consumer copies the row and only then moves the read count on. A full
ring refuses the record and counts it as lost: putting never blocks and never allocates.
"""

from __future__ import annotations

import threading

import numpy as np

from dmusd.synth.engine import pin_layout as P

DEFAULT_CAPACITY = 16384  # records: 8 s of a dense 16-channel song, 2000 a second


class EventRing:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.records = np.zeros((capacity, P.EV_N), dtype=np.int64)
        self.values = np.zeros(capacity, dtype=np.float64)
        self.positions = np.zeros(2, dtype=np.int64)  # RING_WRITE, RING_READ
        self.lost = 0
        self._lock = threading.Lock()
        # put() writes through flat memoryviews of the same memory: an element store there
        # costs a tenth of a numpy row assignment (the producer runs once per MIDI event)
        self._record_cells = memoryview(self.records).cast("B").cast("q")
        self._value_cells = memoryview(self.values)
        self._position_cells = memoryview(self.positions)
        self._capacity = capacity

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        """Records written and not yet taken by the consumer."""
        return int(self.positions[P.RING_WRITE] - self.positions[P.RING_READ])

    def put(
        self, sample: int, group: int, kind: int, a: int = 0, b: int = 0, c: int = 0, value=0.0
    ) -> bool:
        """One record; False (and counted as lost) when the ring is full."""
        with self._lock:
            positions = self._position_cells
            written = positions[P.RING_WRITE]
            if written - positions[P.RING_READ] >= self._capacity:
                self.lost += 1
                return False
            i = written % self._capacity
            cells, first = self._record_cells, i * P.EV_N
            cells[first + P.EV_SAMPLE] = sample
            cells[first + P.EV_GROUP] = group
            cells[first + P.EV_KIND] = kind
            cells[first + P.EV_A] = a
            cells[first + P.EV_B] = b
            cells[first + P.EV_C] = c
            self._value_cells[i] = value
            positions[P.RING_WRITE] = written + 1  # after the record: the consumer may take it
            return True

    def clear(self) -> None:
        """Drop every record (the consumer must not run meanwhile: the stream holds its lock)."""
        with self._lock:
            self.positions[P.RING_READ] = self.positions[P.RING_WRITE]
