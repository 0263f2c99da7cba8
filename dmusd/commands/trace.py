"""`dmusd trace SONG.mid`: play a MIDI file through a pin's kernel chain and print each event.

The file's messages become timestamped raw bytes that go through the real unpacker and
sequencer, paced by a master clock; each event is printed when the sequencer releases it, with
its presentation time, channel group and bytes. Like `aseqdump`, it shows what a synth stream
would be handed, and when.
"""

from __future__ import annotations

import argparse
import sys
import time

from dmusd.errors import ConfigError
from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.event import iter_chain
from dmusd.kernel.mxf import KSSTATE, MXF, step_state
from dmusd.kernel.sequencer import Sequencer
from dmusd.kernel.unpacker import Unpacker
from dmusd.midifile import read_midi_file

REF_PER_SECOND = 10_000_000


class _Printer(MXF):
    def PutMessage(self, chain) -> None:
        for ev in iter_chain(chain):
            flag = " +" if ev.INCOMPLETE_EVT() else ""
            print(
                f"{ev.ullPresTime100ns / REF_PER_SECOND:10.4f}s  group {ev.usChannelGroup:<3d}"
                f" {ev.data().hex(' ')}{flag}"
            )
        self.allocator.PutMessage(chain)


class _MonotonicClock:
    """Reference time from the monotonic clock, starting at zero (until audio drives it)."""

    def __init__(self) -> None:
        self._start = time.monotonic_ns()

    def GetTime(self) -> int:
        return (time.monotonic_ns() - self._start) // 100


MAX_GROUP = 0xFFFF  # usChannelGroup is a USHORT; 0 would mean every group, not one to stamp


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.group <= MAX_GROUP:
        raise ConfigError(
            f"must be a channel group 1..{MAX_GROUP}, got {args.group}", key="--group"
        )
    song = read_midi_file(args.file)
    for warning in song.warnings:
        print(f"dmusd: {args.file}: {warning}", file=sys.stderr)
    messages = [(when, data) for when, _, data in song.events]
    pool = AllocatorMXF()
    clock = _MonotonicClock()
    unpacker = Unpacker(pool)
    sequencer = Sequencer(pool, clock, prefetch=0)
    printer = _Printer(pool)
    unpacker.ConnectOutput(sequencer)
    sequencer.ConnectOutput(printer)
    for node in (printer, sequencer, unpacker):
        step_state(node, KSSTATE.RUN)
    for when, data in messages:
        unpacker.put_bytes(data, when, args.group)
        if args.fast:
            sequencer.service(now=when)
    while sequencer.held:
        due = sequencer.next_due()
        wait = (due - clock.GetTime()) / REF_PER_SECOND
        if wait > 0:
            time.sleep(min(wait, 0.05))
        sequencer.service()
    stray = f", skipped {song.stray_system} stray system messages" if song.stray_system else ""
    print(f"{len(messages)} messages; dropped {unpacker.dropped}, lost {unpacker.lost}{stray}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace", description="play a MIDI file through the kernel chain, print events"
    )
    p.add_argument("file", help="a Standard MIDI File")
    p.add_argument("--group", type=int, default=1, help="channel group to stamp (default 1)")
    p.add_argument("--fast", action="store_true", help="do not wait in real time")
    p.set_defaults(func=run)
