"""`dmusd render SONG.mid -o OUT.wav|.flac`: play a MIDI file through the whole synth, offline.

Nothing is short-cut: the song plays on a SynthPin, the pin the daemon plays live (dmusd/pin/),
on a sample-count master clock. The bank reaches it the DirectMusic way (DMUS_DOWNLOADINFO
buffers, waves first, through KSPROPERTY_SYNTH_DLS_DOWNLOAD); the file's messages become raw
bytes with presentation times, which go into its render pin (unpacker -> sequencer -> synth
stream -> engine); a file sink pulls the pin block by block and drives the clock. The pin's idle
detection is off (dmusd/pin/idle.py says why). Events are fed a little ahead of the block that
plays them, as a live client sends them ahead of time, so the event pool stays small however
long the song. After the last event the release tails and effects are rendered until silence
(at most MAX_TAIL seconds). The same input gives the same file, bit for bit.


Data safety: the file is written under a temporary name beside OUT and renamed to OUT only once
complete (AtomicFile); a failure (full disk, read-only or missing folder) or SIGTERM/SIGINT/SIGHUP
removes it and ends with one line saying why: exit 1 for an error, 128 + the signal's number for
a signal (143, 130, 129). A song that says it lasts for years is cut at --max-length.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from contextlib import closing

import soundfile

from dmusd.config import PinConfig
from dmusd.errors import ConfigError
from dmusd.io.atomic_file import AtomicFile
from dmusd.io.file_sink import FileSink, audio_format
from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock
from dmusd.midifile import read_midi_file
from dmusd.pin import BUILTIN, ParsedBank, SynthPin, parse_bank
from dmusd.signal_stop import stop_on_signals
from dmusd.synth.stream import INTERPOLATION

MAX_TAIL = 20.0  # seconds rendered after the song at most, waiting for silence
QUIET = 0.2  # seconds of silence (16-bit zeros) with no voice left that end a render
MAX_LENGTH = 4 * 3600.0  # seconds: --max-length's default
SYSTEM_BANKS = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)


def find_bank(path: str | None) -> ParsedBank:
    """The bank named, else the built-in GM bank, else a GM bank installed on the system (the
    last two are default GM sets, whose instruments yield to user downloads)."""
    if path:
        return parse_bank(path)
    try:
        return parse_bank(BUILTIN)
    except ImportError:
        pass  # a build without the built-in GM bank
    for candidate in SYSTEM_BANKS:
        if os.path.exists(candidate):
            return parse_bank(candidate, gm=True)
    raise ConfigError("no instrument bank: give --bank FILE (a DLS, SF2 or SF3 file)", key="--bank")


def find_banks(paths: str | list[str] | None) -> list[ParsedBank]:
    """The banks of `--bank A --bank B ...` in the order given, to download in that order: a
    later bank overrides an earlier one's patches, as a pin's `banks` list does. None or []:
    the default bank alone (find_bank)."""
    if isinstance(paths, str):
        paths = [paths]
    banks = [find_bank(path) for path in paths] if paths else [find_bank(None)]
    for parsed in banks:  # each names its file, chunk and offset: what was left out, and why
        for warning in parsed.bank.warnings:
            print(f"dmusd: warning: {warning}", file=sys.stderr)
    return banks


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
    banks = find_banks(args.bank)
    rate, block = args.rate, args.block
    config = PinConfig(
        "render",
        voices=args.voices,
        interpolation=args.interp,
        reverb=not args.no_effects,
        chorus=not args.no_effects,
        volume_db=args.volume,  # KSPROPERTY_SYNTH_VOLUME, as a DirectMusic client sets it
        sample_memory_mb=args.sample_memory,
    )
    clock = SampleCountClock(rate)
    events = song.events
    ahead = 2 * block * REFTIME_PER_SECOND // rate  # how far ahead of its block an event goes in
    song_end = -(-song.duration * rate // REFTIME_PER_SECOND)  # frames, rounded up
    cap = round(getattr(args, "max_length", MAX_LENGTH) * rate)  # callers that predate it
    limit = min(song_end + round(MAX_TAIL * rate), cap)
    ended = False  # by silence after the song, not by the limit
    quiet = round(QUIET * rate)
    progress = Progress(song.duration / REFTIME_PER_SECOND)
    i = 0
    with closing(SynthPin(config, rate, clock, idle=False)) as pin:
        for bank_id, parsed in enumerate(banks, 1):
            pin.download(parsed, bank_id)
        stream = pin.stream
        try:
            with FileSink(args.output, rate, clock) as out:
                while out.position < limit:
                    horizon = clock.GetTime() + ahead
                    while i < len(events) and events[i][0] < horizon:
                        when, _, data = events[i]
                        pin.put(data, when, 1)
                        i += 1
                    out.pull(pin, min(block, limit - out.position))
                    progress.update(out.position / rate)
                    idle = stream.active_voices == 0 and not stream.pending and i == len(events)
                    if idle and out.position >= max(song_end, out.sound_end + quiet):
                        ended = True
                        break
                # The file ends where the sound ends (in whole 10 ms), and never before the
                # song: the same however the blocks fell.
                chunk = rate // 100
                length = min(max(song_end, -(-out.sound_end // chunk) * chunk), limit)
                out.close(length)
        finally:
            progress.update(song.duration / REFTIME_PER_SECOND, force=True)
            progress.close()
    return {
        "seconds": length / rate,
        "peak": out.peak,
        "clipped": out.clipped,
        "limited": stream.limited,
        "lost_notes": stream.lost_notes,
        "missed_patches": stream.missed_patches,
        "events": len(events),
        "stray_system": song.stray_system,
        "cut": not ended and limit == cap,  # the song or its tail went on past --max-length
        "song_seconds": song.duration / REFTIME_PER_SECOND,
    }


def _years(seconds: float) -> str:
    year = 365.25 * 86400
    return f" ({seconds / year:.1f} years)" if seconds >= year else ""


def render_to_file(args: argparse.Namespace) -> dict[str, float]:
    """render_song into a temporary file that becomes args.output only when complete."""
    audio_format(args.output)  # a bad suffix is refused naming OUT, not the temporary file
    with stop_on_signals(f"{args.output} not written"):
        output = AtomicFile(args.output)
        try:
            figures = render_song(argparse.Namespace(**{**vars(args), "output": output.path}))
            output.commit()
        except (OSError, soundfile.SoundFileError) as error:
            output.discard()
            raise output.failure(error) from None
        except BaseException:
            output.discard()
            raise
    return figures


def run(args: argparse.Namespace) -> int:
    if args.block < 1:
        raise ConfigError(f"block size {args.block} must be at least 1 frame", key="--block")
    if args.sample_memory < 0:
        raise ConfigError(f"{args.sample_memory} MiB is negative", key="--sample-memory")
    if not args.max_length > 0:
        raise ConfigError(f"{args.max_length} must be a positive number of seconds",
                          key="--max-length")  # fmt: skip
    figures = render_to_file(args)
    peak = figures["peak"]
    note = f", peak {20 * math.log10(peak):.1f} dBFS" if peak > 0 else ", silent"
    if figures["limited"]:
        note += f", limiter on {figures['limited']} frames (try a lower --volume)"
    if figures["clipped"]:
        note += f", {figures['clipped']} samples clipped"
    if figures.get("stray_system"):
        note += f", {figures['stray_system']} stray system messages skipped"
    if figures["cut"]:
        song = figures["song_seconds"]
        what = (
            f"the song runs {song:.1f} s{_years(song)}"
            if song > args.max_length
            else "its release tail went on past it"
        )
        note += f", cut at --max-length {args.max_length:g} s: {what}"
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
    p.add_argument(
        "--bank",
        action="append",
        help="a DLS, SF2 or SF3 file (default: the built-in GM bank); give it again to stack "
        "banks in order, a later one overriding the same patches of earlier ones",
    )
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
    p.add_argument(
        "--max-length",
        type=float,
        default=MAX_LENGTH,
        metavar="SECONDS",
        help=f"longest file to write; a longer song is cut, and the summary says so (default "
        f"{MAX_LENGTH:g} s = {MAX_LENGTH / 3600:g} h)",
    )
    p.set_defaults(func=run)
