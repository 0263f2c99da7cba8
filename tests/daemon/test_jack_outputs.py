"""The pins' own JACK outputs (PinOutput, io/jack_output.py) through a real JACK server: the
ports a patchbay sees, and what each one carries, recorded from the running daemon."""

from __future__ import annotations

import numpy as np
import pytest

from tests.daemon.daemon_process import CONFIG, Daemon
from tests.daemon.jack_harness import JackHarness, rms

pytestmark = pytest.mark.realtime

CLIENT = "dmusd-outputs"
STEMS = CONFIG.replace(
    'name = "b"\nbanks = ["{timgm}"]\nreverb = false',
    'name = "b"\nbanks = []\neffect_outputs = true\nchannel_outputs = true\nreverb = true',
)
RECORDED = ("out_0", "a L", "b L", "b ch3 L", "b ch1 L", "b reverb L", "b chorus L")


@pytest.fixture(scope="module")
def daemon(jack_server, tmp_path_factory):
    assert STEMS != CONFIG
    d = Daemon(tmp_path_factory.mktemp("dmusd-outputs"), config=STEMS, client=CLIENT)
    yield d
    d.stop()


def test_every_pin_has_its_pair_and_asks_for_its_stems(daemon):
    with JackHarness("outputs-lsp") as h:
        ports = [p.name.split(":", 1)[1] for p in h.client.get_ports(f"^{CLIENT}:", is_audio=True)]
        main = [p.name for p in h.client.get_all_connections(f"{CLIENT}:out_0")]
    channels = [f"b ch{c} {side}" for c in range(1, 17) for side in "LR"]
    assert ports == [
        "out_0", "out_1", "a L", "a R", "b L", "b R",
        "b reverb L", "b reverb R", "b chorus L", "b chorus R", *channels,
    ]  # fmt: skip
    assert main == ["system:playback_1"]  # only the main pair goes to the speakers


def test_each_port_carries_its_part(daemon):
    with JackHarness("outputs-daw", inputs=len(RECORDED)) as h:
        h.connect_audio(f"{CLIENT}:{name}" for name in RECORDED)
        h.connect_midi(f"{CLIENT}-midi:b 1")
        r = h.rate
        events = [
            (0, b"\xb2\x5b\x7f"),  # channel 3: reverb send full, chorus none
            (0, b"\xb2\x5d\x00"),
            (0, b"\xc2\x00"),
            (int(0.05 * r), b"\x92\x3c\x64"),
            (int(0.4 * r), b"\x82\x3c\x00"),
        ]
        h.play_recorded(events, int(0.8 * r))
        rec = h.wait_recorded()
    part = dict(zip(RECORDED, rec.T, strict=True))
    sounding = slice(int(0.1 * r), int(0.4 * r))
    assert rms(part["b ch3 L"][sounding]) > 1e-3
    assert rms(part["b reverb L"]) > 1e-4
    # pin b alone plays: the main pair is its pair, and its pair the dry channel plus the return
    assert np.max(np.abs(part["out_0"] - part["b L"])) < 1e-6
    assert np.max(np.abs(part["b L"] - part["b ch3 L"] - part["b reverb L"])) < 1e-5
    assert not part["a L"].any() and not part["b ch1 L"].any() and not part["b chorus L"].any()
    assert daemon.ctl("status")["result"]["audio"]["oversize_cycles"] == 0
