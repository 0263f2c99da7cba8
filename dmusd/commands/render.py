"""`dmusd render SONG.mid -o OUT.wav|.flac`: play a MIDI file through the whole synth, offline.
Several songs, a folder or a glob, or -o naming a folder, make a batch (dmusd/batch.py).

Nothing is short-cut: the song plays through dmusd.Synth (dmusd/synth_api.py), on a SynthPin,
the pin the daemon plays live (dmusd/pin/), on a sample-count master clock. The bank reaches
it the DirectMusic way (DMUS_DOWNLOADINFO buffers, waves first, through
KSPROPERTY_SYNTH_DLS_DOWNLOAD); the file's messages become raw bytes with presentation times,
which go into its render pin (unpacker -> sequencer -> synth stream -> engine); a file sink
pulls the pin block by block and drives the clock (dmusd/pin/song_player.py, the loop the API
and the batch share). The pin's idle detection is off (dmusd/pin/idle.py says why). After the
last event the release tails and effects are rendered until silence (at most MAX_TAIL
seconds). The same input gives the same file, bit for bit.

Data safety: the file is written under a temporary name beside OUT and renamed to OUT only once
complete (AtomicFile); a failure (full disk, read-only or missing folder) or SIGTERM/SIGINT/SIGHUP
removes it and ends with one line saying why: exit 1 for an error, 128 + the signal's number for
a signal (143, 130, 129). A song that says it lasts for years is cut at --max-length.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict

from dmusd.errors import ConfigError
from dmusd.io.file_sink import audio_format
from dmusd.kernel.clock import REFTIME_PER_SECOND
from dmusd.midifile import read_midi_file
from dmusd.render_settings import MAX_LENGTH, RenderSettings
from dmusd.signal_stop import stop_on_signals
from dmusd.synth.stream import INTERPOLATION
from dmusd.synth_api import Synth

# The CLI's option for each setting, so an error names what the user typed.
OPTION_NAMES = {
    "banks": "--bank",
    "rate": "--rate",
    "voices": "--voices",
    "interpolation": "--interp",
    "volume_db": "--volume",
    "block": "--block",
    "sample_memory_mb": "--sample-memory",
    "max_length": "--max-length",
}


def settings_of(args: argparse.Namespace) -> RenderSettings:
    """The render settings the options give, checked (errors name the option)."""
    settings = RenderSettings(
        banks=(args.bank,) if isinstance(args.bank, str) else tuple(args.bank or ()),
        rate=args.rate,
        voices=args.voices,
        interpolation=args.interp,
        effects=not args.no_effects,
        volume_db=args.volume,
        block=args.block,
        sample_memory_mb=args.sample_memory,
        max_length=getattr(args, "max_length", MAX_LENGTH),  # callers that predate it
    )
    settings.check(OPTION_NAMES)
    return settings


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: float, stream=None, label: str = "render", unit: str = "s") -> None:
        self.total = max(total, 1e-9)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label, self.unit = label, unit
        self._last = 0.0

    def update(self, done: float, force: bool = False, note: str = "") -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.1):
            return
        self._last = now
        part = min(done / self.total, 1.0)
        bar = "#" * int(30 * part)
        amount = (
            f"{done:7.1f} / {self.total:.1f} {self.unit}"
            if self.unit == "s"
            else f"{done:g} / {self.total:g} {self.unit}"
        )
        self.stream.write(f"\r{self.label} [{bar:<30}] {100 * part:3.0f}%  {amount}{note}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def render_song(args: argparse.Namespace) -> dict[str, float]:
    """Render args.song to args.output (the file sink writes it there directly); returns
    figures for the summary line. Warnings of a damaged MIDI file go to stderr first."""
    song = read_midi_file(args.song)
    for warning in song.warnings:
        print(f"dmusd: {args.song}: {warning}", file=sys.stderr)
    with Synth.from_settings(settings_of(args), ready_pin=False) as synth:
        for warning in synth.bank_warnings:
            print(f"dmusd: warning: {warning}", file=sys.stderr)
        progress = Progress(song.duration / REFTIME_PER_SECOND)
        try:
            figures = synth.render_file(song, args.output, progress=progress.update)
        finally:
            progress.update(song.duration / REFTIME_PER_SECOND, force=True)
            progress.close()
    return {**asdict(figures), "stray_system": song.stray_system}


def _years(seconds: float) -> str:
    year = 365.25 * 86400
    return f" ({seconds / year:.1f} years)" if seconds >= year else ""


def render_to_file(args: argparse.Namespace) -> dict[str, float]:
    """render_song, stopped cleanly by SIGTERM/SIGINT/SIGHUP (the file is then not written)."""
    audio_format(args.output)  # a bad suffix is refused naming OUT, before anything is read
    with stop_on_signals(f"{args.output} not written"):
        return render_song(args)


def run(args: argparse.Namespace) -> int:
    if batch_mode(args):
        from dmusd.batch import run_batch

        return run_batch(args, settings_of(args))
    if args.format is not None or args.jobs is not None:
        raise ConfigError("-j and --format are for a batch: -o names a folder then", key="-o")
    settings_of(args)  # option errors before anything is read
    (args.song,) = args.songs
    figures = render_to_file(args)
    print(f"dmusd: wrote {args.output}: {summary(figures, args)}", file=sys.stderr)
    return 0


def summary(figures: dict, args: argparse.Namespace) -> str:
    """The figures of one render, as the summary line says them."""
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
    return (
        f"{figures['seconds']:.2f} s at {args.rate} Hz, "
        f"{figures['events']} events, {figures['lost_notes']} lost notes, "
        f"{figures['missed_patches']} missed patches{note}"
    )


def batch_mode(args: argparse.Namespace) -> bool:
    """A batch when there are several songs, a folder or a glob, or -o names a folder."""
    from dmusd.batch_inputs import is_batch

    return is_batch(args.songs, args.output)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="render MIDI files to WAV or FLAC files",
        description="Render one MIDI file to OUT.wav|.flac, or a batch (several files, a folder, "
        "a glob) into the folder -o names, on -j worker processes.",
    )
    p.add_argument("songs", nargs="+", metavar="SONG", help="Standard MIDI Files, folders, globs")
    p.add_argument("-o", "--output", required=True, help="OUT.wav|.flac, or a batch's folder")
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        help="batch: worker processes (default: the core count)",
    )
    p.add_argument(
        "--format",
        choices=("wav", "flac"),
        help="batch: the files' format (default wav)",
    )
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
        choices=INTERPOLATION,
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
    p.add_argument("--block", type=int, default=4096, help="frames per Render call (default 4096)")
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
