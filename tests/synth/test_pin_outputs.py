"""A pin's own outputs (PinOutput): its mix, the effect returns and one dry pair per MIDI channel,
rendered as extra columns of the pin's block (through the compiled pin call, as live)."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.config import PinConfig
from dmusd.kernel.clock import SampleCountClock
from dmusd.pin import BUILTIN, SynthPin, parse_bank
from dmusd.pin.pin_output import PinOutput

RATE = 48000
BLOCK = 1024
BLOCKS = 24  # half a second


@pytest.fixture(scope="module")
def builtin():
    return parse_bank(BUILTIN)


def play(builtin, output: PinOutput | None, *, effects: bool = True) -> np.ndarray:
    """Three notes on channels 1, 3 and 10 (reverb on channel 3, chorus on channel 1), rendered
    by a pin with `output`; the whole render, (frames, columns)."""
    config = PinConfig("p", reverb=effects, chorus=effects)
    pin = SynthPin(config, RATE, SampleCountClock(RATE), idle=False, output=output)
    columns = pin.output.columns
    if output is not None:
        output.area = np.zeros((BLOCK, columns), dtype=np.float32)
    try:
        pin.download(builtin, 1)
        for message in (
            b"\xb0\x5b\x00", b"\xb0\x5d\x7f",  # channel 1: chorus only
            b"\xb2\x5b\x7f", b"\xb2\x5d\x00",  # channel 3: reverb only
            b"\xb9\x5b\x00", b"\xb9\x5d\x00",  # channel 10: dry
            b"\xc0\x00", b"\xc2\x30",
            b"\x90\x3c\x64", b"\x92\x43\x64", b"\x99\x26\x64",
        ):  # fmt: skip
            pin.put(message, 0, 1)
        out = np.zeros((BLOCK * BLOCKS, columns), dtype=np.float32)
        mix = np.zeros((BLOCK, 2), dtype=np.float32)
        for b in range(BLOCKS):
            position = b * BLOCK
            t = position * 10_000_000 // RATE
            pin.render(mix, BLOCK, position, t, b == 0)
            if output is None:
                out[position : position + BLOCK] = mix
                mix.fill(0.0)
            else:
                out[position : position + BLOCK] = output.area[:BLOCK]
        assert not mix.any(), "a pin with its own area wrote into the shared mix"
        return out
    finally:
        pin.close()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_port_names_follow_the_columns():
    assert PinOutput("bass").port_names() == ["bass L", "bass R"]
    names = PinOutput("p", effects=True, channels=True).port_names()
    assert len(names) == PinOutput("p", effects=True, channels=True).columns == 38
    assert names[2:6] == ["p reverb L", "p reverb R", "p chorus L", "p chorus R"]
    assert names[6:8] == ["p ch1 L", "p ch1 R"] and names[-1] == "p ch16 R"
    assert PinOutput("p", channels=True).port_names()[2] == "p ch1 L"


def test_the_mix_is_the_same_with_stems_or_without(builtin):
    plain = play(builtin, None)
    stems = play(builtin, PinOutput("p", effects=True, channels=True))
    assert rms(plain) > 1e-3
    # summed in another order (per channel first): equal within float rounding
    assert np.max(np.abs(stems[:, :2] - plain)) < 1e-5


def test_each_channel_pair_holds_only_its_channel(builtin):
    stems = play(builtin, PinOutput("p", channels=True))
    assert stems.shape[1] == 34
    pairs = [stems[:, 2 + 2 * ch : 4 + 2 * ch] for ch in range(16)]
    sounding = [ch + 1 for ch in range(16) if rms(pairs[ch]) > 1e-4]
    assert sounding == [1, 3, 10]
    for ch in range(16):
        if ch + 1 not in sounding:
            assert not pairs[ch].any()


def test_stems_add_up_to_the_mix(builtin):
    stems = play(builtin, PinOutput("p", effects=True, channels=True))
    reverb, chorus = stems[:, 2:4], stems[:, 4:6]
    assert rms(reverb) > 1e-4 and rms(chorus) > 1e-4
    total = reverb + chorus + sum(stems[:, 6 + 2 * ch : 8 + 2 * ch] for ch in range(16))
    assert np.max(np.abs(total - stems[:, :2])) < 1e-5  # (no limiting at these levels)


def test_effect_returns_are_silent_without_effects(builtin):
    stems = play(builtin, PinOutput("p", effects=True), effects=False)
    assert not stems[:, 2:6].any()
    assert rms(stems[:, :2]) > 1e-3


def test_outputs_apart_exist_only_where_the_audio_has_ports(caplog):
    """The service gives each pin its PinOutput; stems only when the audio output has ports of
    its own (JACK), else a warning names the key and everything plays in the main pair."""
    from dmusd.config import AudioConfig, Config, ControlConfig, LoggingConfig, MidiConfig
    from dmusd.service import SynthService

    pins = (PinConfig("p", effect_outputs=True, channel_outputs=True), PinConfig("q"))
    config = Config(AudioConfig(), MidiConfig(), pins, ControlConfig(), LoggingConfig(), None)
    for separate in (True, False):
        caplog.clear()
        service = SynthService(config, SampleCountClock(RATE), separate_outputs=separate)
        try:
            columns = [service.pins[name].stream.native.columns for name in ("p", "q")]
        finally:
            service.close()
        assert [out.name for out in service.outputs] == ["p", "q"]
        if separate:
            assert columns == [38, 2] and not caplog.records
        else:
            assert columns == [2, 2]
            warned = " ".join(record.getMessage() for record in caplog.records)
            assert "pins[0].effect_outputs" in warned and "pins[0].channel_outputs" in warned
