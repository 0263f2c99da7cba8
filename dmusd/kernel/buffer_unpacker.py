"""The DirectMusic-buffer unpacker: DMUS_EVENTHEADER records -> pooled events.

This is the render pin's entry when a client speaks DirectMusic buffers (KSDATAFORMAT_SUBTYPE_
DIRECTMUSIC) rather than raw bytes, and the reverse of the packer, so captured MIDI can be played
back with its timestamps. Each record's bytes go through the byte-stream parser with the record's
own time and channel group: a structured record is one complete message, an unstructured one is
raw stream bytes that may continue in the next record.
"""

from __future__ import annotations

from dmusd.kernel.dmbuffer import iter_records
from dmusd.kernel.unpacker import Unpacker


class BufferUnpacker(Unpacker):
    def put_buffer(self, buffer: bytes | bytearray | memoryview, base_time: int) -> int:
        """Unpack every record of `buffer`; returns the number of records.

        A malformed record raises EventBufferError naming its offset; the records before it
        have already been delivered.
        """
        n = 0
        for record in iter_records(buffer):
            self.put_bytes(record.data, base_time + record.rt_delta, record.channel_group)
            n += 1
        return n
