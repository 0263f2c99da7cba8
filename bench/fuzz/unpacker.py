"""atheris target: the MIDI byte unpacker (dmusd/kernel/unpacker.py) and SysEx decoding
(dmusd/synth/sysex.py decode_sysex): what every byte from a MIDI port goes through.

Input byte 0 shapes the run, the rest is the byte stream: its low nibble is how many bytes each
put_bytes call gets (0: the whole stream at once), its high nibble picks the event pool (its bit
0: 4 events instead of 256, bit 1: one SysEx buffer instead of 16, bit 2: 12-byte buffers instead
of 64, so long SysEx come in pieces). Neither raises anything, so every exception is a finding;
the checks:
- with nothing lost to the pool, the messages are exactly what tests/kernel/test_unpacker's
  independent reference parser gives (reference_after_stop: the stream, then STOP), and the
  dropped count matches;
- lost or not, every event is a whole message (a channel or system message of its length, a
  real-time byte, or SysEx pieces of at most a buffer), and after STOP every event and buffer
  is back in the pool;
- decode_sysex, given each SysEx that came out and the raw stream itself, returns None or an
  action inside its documented range.

Run: .venv/bin/python -m bench.fuzz.unpacker [-runs=N] [libFuzzer flags]; see runner.py.
"""

from __future__ import annotations

import math

if __name__ == "__main__":
    from bench.fuzz.runner import instrumented, main

    with instrumented():
        from bench.fuzz.seeds import midi_stream_seeds
        from dmusd.kernel.allocator import AllocatorMXF
        from dmusd.kernel.mxf import KSSTATE, step_state
        from dmusd.kernel.unpacker import Unpacker
        from dmusd.synth import sysex
        from tests.kernel.test_unpacker import reference_after_stop
        from tests.support import Collector

    RANGES = {
        sysex.GM_ON: (0, 0),
        sysex.GM_OFF: (0, 0),
        sysex.GS_RESET: (0, 0),
        sysex.XG_ON: (0, 0),
        sysex.MASTER_VOLUME: (0.0, 1.0),
        sysex.MASTER_FINE_TUNING: (-100.0, 100.0),
        sysex.MASTER_COARSE_TUNING: (-64.0, 63.0),
        sysex.GS_RHYTHM: (0.0, 127.0),
    }

    def check_sysex(message: bytes) -> None:
        action = sysex.decode_sysex(message)
        if action is None:
            return
        low, high = RANGES[action.kind]
        assert math.isfinite(action.value) and low <= action.value <= high, action
        assert action.channel == -1 or (action.kind == sysex.GS_RHYTHM and 0 <= action.channel < 16)

    def one_input(data: bytes) -> None:
        if not data:
            return
        shape, stream = data[0], data[1:]
        step = shape & 0x0F or len(stream) or 1
        kind = shape >> 4
        size = 12 if kind & 4 else 64
        pool = AllocatorMXF(4 if kind & 1 else 256, 1 if kind & 2 else 16, size)
        node = Unpacker(pool)
        sink = Collector(pool)
        node.ConnectOutput(sink)
        for i in range(0, len(stream), step):
            node.put_bytes(stream[i : i + step], i, group=1 + kind)
        step_state(node, KSSTATE.RUN)
        step_state(node, KSSTATE.STOP)
        assert pool.all_home(), "an event or buffer never came back"
        pool.check()
        in_sysex = False  # the last piece was INCOMPLETE: the next non-real-time one follows it
        for _, group, flags, payload in sink.received:
            assert group == 1 + kind and payload
            status = payload[0]
            if status == 0xF0 or (in_sysex and status < 0xF8):  # a SysEx piece
                assert len(payload) <= size and all(b < 0x80 for b in payload[1:-1])
                in_sysex = bool(flags & 1)
            elif status < 0x80 or flags & 1:
                raise AssertionError(f"a stray piece {payload.hex()} (flags {flags})")
            elif status < 0xF0:
                assert len(payload) == (2 if 0xC0 <= status < 0xE0 else 3), payload.hex()
            elif status < 0xF8:
                assert len(payload) == {0xF1: 2, 0xF2: 3, 0xF3: 2, 0xF6: 1}[status], payload.hex()
            else:
                assert len(payload) == 1 and status not in (0xF9, 0xFD), payload.hex()
        messages = sink.messages()
        if node.lost == 0:
            expected, dropped = reference_after_stop(stream, size)
            assert messages == expected, (messages, expected)
            assert node.dropped == dropped, (node.dropped, dropped)
        for message in messages:
            if message[0] == 0xF0:
                check_sysex(message)
        check_sysex(stream)

    main("unpacker", one_input, midi_stream_seeds, (), max_len=512)
