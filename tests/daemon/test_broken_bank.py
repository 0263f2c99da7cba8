"""A bank with broken items in a running daemon (issue 12 item 2): `dmusd run` on a private JACK
dummy server takes a config bank with an empty wave, a region linked to a missing wave and an
unknown articulation destination, and `dmusd ctl load` takes an SF2 with a ROM sample; both load
without those items, the log and the ctl reply say where each was, and what is left plays."""

from __future__ import annotations

import subprocess
import sys
import uuid

import numpy as np

from dmusd.banks import load_bank
from tests.banks.builders import broken_dls_bytes, broken_sf2_bytes
from tests.daemon.jack_harness import JackHarness
from tests.daemon.test_daemon import config_text, daemons  # noqa: F401 (a fixture)
from tests.synth.audio import cents, zero_crossing_frequency


def test_config_and_ctl_load_banks_play_without_their_broken_items(
    private_jack_server,
    daemons,  # noqa: F811 (the fixture imported above)
    tmp_path,
    monkeypatch,
):
    server = private_jack_server()
    name = f"dmusd-broken-{uuid.uuid4().hex[:6]}"
    dls, sf2 = tmp_path / "broken.dls", tmp_path / "broken.sf2"
    dls.write_bytes(broken_dls_bytes())
    sf2.write_bytes(broken_sf2_bytes())
    extra = f'banks = ["{dls}"]\nreverb = false\nchorus = false'
    daemon = daemons(tmp_path, config_text(tmp_path, name, extra=extra), server.env)
    daemon.wait_ready()
    for warning in load_bank(dls).warnings:  # config bank: loaded, each broken item logged
        assert f"bank loaded without a broken item: {warning}" in daemon.log

    ctl = [sys.executable, "-m", "dmusd.cli", "ctl", "--socket", str(daemon.socket)]
    done = subprocess.run([*ctl, "load", "synth", str(sf2)], env=server.env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("pin synth: bank ") and lines[0].endswith(", 2 warning(s)")
    assert lines[1:] == [f"warning: {w}" for w in load_bank(sf2).warnings]
    status = daemon.request(cmd="status")["result"]["pins"][0]["banks"]
    assert [b["instruments"] for b in status] == [2, 1]

    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)  # the harness joins the same server
    with JackHarness("broken-daw") as h:
        outputs = h.wait_for_port(f"^{name}:out_[01]$", is_audio=True, is_output=True)
        h.connect_audio(sorted(outputs))
        (port,) = h.wait_for_port("synth 1$", is_midi=True, is_input=True)
        h.connect_midi(port)
        r = h.rate
        events = []
        for i, program in enumerate((0, 2)):  # the SF2's preset 0 now, the DLS's program 2
            events += [(int(i * r), bytes([0xC0, program])), (int(i * r) + 1, b"\x90\x45\x64")]
            events += [(int((i + 0.9) * r), b"\x80\x45\x00")]
        h.play_recorded(events, 2 * r)
        rec = h.wait_recorded()[:, 0]
    for i in range(2):
        part = rec[int((i + 0.2) * r) : int((i + 0.8) * r)]
        assert np.abs(part).max() > 0.01, f"note {i} is silent"
        assert abs(cents(zero_crossing_frequency(part, r), 440.0)) < 5
    assert daemon.process.poll() is None
