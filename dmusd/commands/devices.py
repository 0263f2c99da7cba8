"""`dmusd devices [--json]`: what audio and MIDI dmusd can use on this machine.

Audio: every PortAudio host API with its stereo outputs (the names [audio] device matches), and
whether a JACK server answers (its rate and period: [audio] sample_rate must match it). MIDI: the
APIs python-rtmidi was built with and whether the ALSA sequencer opens. `dmusd run` with
backend = "auto" takes JACK when a server answers, else PortAudio's default output (marked *).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterator


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "devices", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what C libraries print on fd 2 while probing (libjack, alsa-lib)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def probe_jack() -> dict:
    try:
        import jack
    except (ImportError, OSError) as error:
        return {"running": False, "why": f"the JACK-Client module cannot load ({error})"}
    jack.set_error_function(lambda message: None)
    jack.set_info_function(lambda message: None)
    try:
        client = jack.Client("dmusd-devices", no_start_server=True)
    except jack.JackError:
        server = os.environ.get("JACK_DEFAULT_SERVER", "")
        return {"running": False, "why": "no server answers", "server": server or "default"}
    try:
        return {
            "running": True,
            "server": os.environ.get("JACK_DEFAULT_SERVER", "") or "default",
            "sample_rate": client.samplerate,
            "period": client.blocksize,
        }
    finally:
        client.close()


def probe_audio() -> dict:
    try:
        import sounddevice as sd
    except OSError as error:
        return {"portaudio": None, "why": str(error), "hostapis": []}
    default = sd.default.device[1]
    apis = []
    for api in sd.query_hostapis():
        outputs = []
        for index in api["devices"]:
            device = sd.query_devices(index)
            if device["max_output_channels"] >= 2:
                outputs.append(
                    {
                        "index": index,
                        "name": device["name"],
                        "channels": device["max_output_channels"],
                        "default": index == default,
                    }
                )
        apis.append({"name": api["name"], "outputs": outputs})
    return {"portaudio": sd.get_portaudio_version()[1], "hostapis": apis}


def probe_midi() -> dict:
    try:
        import rtmidi
    except ImportError as error:
        return {"rtmidi": None, "why": str(error), "apis": []}
    apis = [rtmidi.get_api_display_name(api) for api in rtmidi.get_compiled_api()]
    alsa: dict = {"opens": False}
    if rtmidi.API_LINUX_ALSA in rtmidi.get_compiled_api():
        try:
            with _quiet_stderr():
                probe = rtmidi.MidiIn(rtmidi.API_LINUX_ALSA, name="dmusd-devices")
            alsa = {"opens": True, "ports": probe.get_ports()}
            probe.delete()
        except rtmidi.RtMidiError as error:
            alsa = {"opens": False, "why": str(error)}
    else:
        alsa["why"] = "python-rtmidi was built without ALSA"
    return {"rtmidi": rtmidi.get_rtmidi_version(), "apis": apis, "alsa_sequencer": alsa}


def report() -> dict:
    with _quiet_stderr():
        jack = probe_jack()
        audio = probe_audio()
    return {"audio": audio, "jack": jack, "midi": probe_midi()}


def render_text(info: dict) -> str:
    lines = []
    audio, jack, midi = info["audio"], info["jack"], info["midi"]
    if audio["portaudio"] is None:
        lines.append(f"audio: PortAudio cannot load ({audio['why']})")
    else:
        lines.append(f"audio ({audio['portaudio']}):")
        for api in audio["hostapis"]:
            lines.append(f"  {api['name']}: {len(api['outputs'])} stereo output(s)")
            for out in api["outputs"]:
                mark = "*" if out["default"] else " "
                lines.append(f"   {mark} {out['name']} ({out['channels']} channels)")
    if jack["running"]:
        lines.append(
            f"JACK server {jack['server']!r}: answers, {jack['sample_rate']} Hz, "
            f"{jack['period']} frames a period"
        )
    else:
        where = f" {jack['server']!r}" if jack.get("server") else ""
        lines.append(f"JACK server{where}: {jack['why']}")
    if midi["rtmidi"] is None:
        lines.append(f"MIDI: python-rtmidi cannot load ({midi['why']})")
    else:
        lines.append(f"MIDI (RtMidi {midi['rtmidi']}): APIs {', '.join(midi['apis']) or 'none'}")
        alsa = midi["alsa_sequencer"]
        if alsa["opens"]:
            lines.append(f"  ALSA sequencer: opens ({len(alsa['ports'])} ports to read from)")
        else:
            lines.append(f"  ALSA sequencer: does not open ({alsa['why']})")
        jack_midi = "available" if jack["running"] else "needs a JACK server"
        lines.append(f"  JACK MIDI: {jack_midi}")
    if not jack["running"] and not any(api["outputs"] for api in audio.get("hostapis", [])):
        lines.append("no audio output: start JACK or PipeWire (with pipewire-jack)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    info = report()
    print(json.dumps(info, indent=2) if args.json else render_text(info))
    return 0
