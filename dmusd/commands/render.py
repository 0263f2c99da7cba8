"""`dmusd render SONG.mid -o OUT.wav|.flac`: play a MIDI file through the whole synth, offline.

Nothing is short-cut: the bank reaches the pin the DirectMusic way (DMUS_DOWNLOADINFO buffers,
waves first, through KSPROPERTY_SYNTH_DLS_DOWNLOAD); the file's messages become raw bytes with
presentation times, which go into a render pin of the synth miniport (unpacker -> sequencer ->
synth stream -> engine); the paired wave pin is pulled block by block by a file sink, which
drives a sample-count master clock. Events are fed a little ahead of the block that plays
them, as a live client sends them ahead of time, so the event pool stays small however long the
song. After the last event the release tails and effects are rendered until silence (at most
MAX_TAIL seconds). The same input gives the same file, bit for bit.
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import sys
import time

from dmusd.banks import load_bank
from dmusd.banks.download import build_bank_downloads
from dmusd.banks.memory_budget import budget_bytes
from dmusd.banks.model import Bank
from dmusd.errors import ConfigError
from dmusd.io.file_sink import FileSink
from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock
from dmusd.kernel.ks import PropertyRequest
from dmusd.kernel.mxf import KSSTATE
from dmusd.kernel.port import Pin, PortDMus
from dmusd.kernel.synth_props import (
    KSPROPERTY_SYNTH,
    KSPROPERTY_SYNTH_DLS,
    SYNTHDOWNLOAD,
    KSPROPSETID_Synth,
    KSPROPSETID_Synth_Dls,
)
from dmusd.midifile import read_midi_file
from dmusd.synth.miniport import PIN_RENDER, PIN_WAVE, SynthMiniport
from dmusd.synth.stream import INTERPOLATION, SynthConfig

MAX_TAIL = 20.0  # seconds rendered after the song at most, waiting for silence
QUIET = 0.2  # seconds of silence (16-bit zeros) with no voice left that end a render
SYSTEM_BANKS = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)


def find_bank(path: str | None) -> tuple[Bank, bool]:
    """The bank named, else the built-in GM bank, else a GM bank installed on the system; and
    whether it is a default GM set (whose instruments yield to user downloads)."""
    if path:
        return load_bank(path), False
    try:
        from dmusd.banks import default_bank

        return default_bank(), True
    except ImportError:
        pass  # a build without the built-in GM bank
    for candidate in SYSTEM_BANKS:
        if os.path.exists(candidate):
            return load_bank(candidate), True
    raise ConfigError("no instrument bank: give --bank FILE (a DLS, SF2 or SF3 file)", key="--bank")


def download_bank(port: PortDMus, pin: Pin, bank: Bank, gm: bool) -> None:
    """Put every instrument of `bank` on the pin as a DirectMusic client does: one
    KSPROPERTY_SYNTH_DLS_DOWNLOAD per buffer, waves first."""
    with pin.stream.downloads.batch():  # the synth prepares its tables once, at the end
        for buffer in build_bank_downloads(list(bank.instruments.values()), 1, gm):
            request = PropertyRequest.get(
                KSPROPSETID_Synth_Dls,
                KSPROPERTY_SYNTH_DLS.DOWNLOAD,
                SYNTHDOWNLOAD.SIZE,
                pin=pin.id,
                instance=buffer,
            )
            port.property_request(request)


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total_seconds: float, stream=None) -> None:
        self.total = max(total_seconds, 1e-9)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0

    def update(self, seconds: float, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.1):
            return
        self._last = now
        done = min(seconds / self.total, 1.0)
        bar = "#" * int(30 * done)
        self.stream.write(
            f"\rrender [{bar:<30}] {100 * done:3.0f}%  {seconds:7.1f} / {self.total:.1f} s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def render_song(args: argparse.Namespace) -> dict[str, float]:
    """Render args.song to args.output; returns figures for the summary line."""
    song = read_midi_file(args.song)
    for warning in song.warnings:
        print(f"dmusd: {args.song}: {warning}", file=sys.stderr)
    bank, gm = find_bank(args.bank)
    rate, block = args.rate, args.block
    config = SynthConfig(
        rate=rate,
        voices=args.voices,
        interpolation=INTERPOLATION[args.interp],
        reverb=not args.no_effects,
        chorus=not args.no_effects,
        sample_budget=budget_bytes(args.sample_memory),
    )
    clock = SampleCountClock(rate)
    port = PortDMus(SynthMiniport(config), clock)
    midi = port.open_pin(PIN_RENDER)
    wave = port.open_pin(PIN_WAVE)
    download_bank(port, midi, bank, gm)
    if args.volume:  # the way a DirectMusic client sets it: KSPROPERTY_SYNTH_VOLUME on the pin
        volume = struct.pack("<i", round(100 * args.volume))
        port.property_request(
            PropertyRequest.set(KSPROPSETID_Synth, KSPROPERTY_SYNTH.VOLUME, volume, pin=midi.id)
        )
    wave.SetState(KSSTATE.RUN)
    midi.SetState(KSSTATE.RUN)
    sink, synth = wave.stream, midi.stream
    events = song.events
    ahead = 2 * block * REFTIME_PER_SECOND // rate  # how far ahead of its block an event goes in
    song_end = -(-song.duration * rate // REFTIME_PER_SECOND)  # frames, rounded up
    limit = song_end + round(MAX_TAIL * rate)
    quiet = round(QUIET * rate)
    progress = Progress(song.duration / REFTIME_PER_SECOND)
    i = 0
    try:
        with FileSink(args.output, rate, clock) as out:
            while out.position < limit:
                horizon = clock.GetTime() + ahead
                while i < len(events) and events[i][0] < horizon:
                    when, _, data = events[i]
                    midi.put_bytes(data, when, 1)
                    i += 1
                out.pull(sink, min(block, limit - out.position))
                progress.update(out.position / rate)
                idle = synth.active_voices == 0 and not synth.pending and i == len(events)
                if idle and out.position >= max(song_end, out.sound_end + quiet):
                    break
            # The file ends where the sound ends (in whole 10 ms), and never before the song:
            # the same however the blocks fell.
            chunk = rate // 100
            length = min(max(song_end, -(-out.sound_end // chunk) * chunk), limit)
            out.close(length)
            seconds, peak, clipped = length / rate, out.peak, out.clipped
    finally:
        progress.update(song.duration / REFTIME_PER_SECOND, force=True)
        progress.close()
        port.close()
    return {
        "seconds": seconds,
        "peak": peak,
        "clipped": clipped,
        "limited": synth.engine.limited,
        "lost_notes": synth.lost_notes,
        "missed_patches": synth.missed_patches,
        "events": len(events),
    }


def run(args: argparse.Namespace) -> int:
    if args.block < 1:
        raise ConfigError(f"block size {args.block} must be at least 1 frame", key="--block")
    if args.sample_memory < 0:
        raise ConfigError(f"{args.sample_memory} MiB is negative", key="--sample-memory")
    figures = render_song(args)
    peak = figures["peak"]
    note = f", peak {20 * math.log10(peak):.1f} dBFS" if peak > 0 else ", silent"
    if figures["limited"]:
        note += f", limiter on {figures['limited']} frames (try a lower --volume)"
    if figures["clipped"]:
        note += f", {figures['clipped']} samples clipped"
    print(
        f"dmusd: wrote {args.output}: {figures['seconds']:.2f} s at {args.rate} Hz, "
        f"{figures['events']} events, {figures['lost_notes']} lost notes, "
        f"{figures['missed_patches']} missed patches{note}",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a MIDI file to a WAV or FLAC file")
    p.add_argument("song", help="a Standard MIDI File")
    p.add_argument("-o", "--output", required=True, help="OUT.wav or OUT.flac")
    p.add_argument("--bank", help="a DLS, SF2 or SF3 file (default: the built-in GM bank)")
    p.add_argument("--rate", type=int, default=48000, help="sample rate in Hz (default 48000)")
    p.add_argument("--voices", type=int, default=256, help="voice budget (default 256)")
    p.add_argument(
        "--interp",
        choices=sorted(INTERPOLATION),
        default="cubic",
        help="sample interpolation (default cubic)",
    )
    p.add_argument("--no-effects", action="store_true", help="render without reverb and chorus")
    p.add_argument(
        "--volume",
        type=float,
        default=0.0,
        help="synth volume in dB, -200..20 (KSPROPERTY_SYNTH_VOLUME; the synth's default "
        "boost of +6 dB comes on top)",
    )
    p.add_argument("--block", type=int, default=1024, help="frames per Render call (default 1024)")
    p.add_argument(
        "--sample-memory",
        type=int,
        default=0,
        metavar="MB",
        help="MiB the bank's samples may take (default 0: as a pin's, from the machine's memory)",
    )
    p.set_defaults(func=run)
