"""atheris target: the control protocol (dmusd/control_protocol.py) on a real SynthService.

Each input is one request line, as the control socket hands it over (newlines become spaces):
ControlProtocol.handle_line must answer it with exactly one JSON reply line, every error in it a
typed one (never "internal error", which is what a bug becomes), and is_report (the server's
choice of worker) must not raise. The service has one pin "a" and runs in a scratch folder that
holds two small banks, b.dls and c.sf2, so `load` requests can find something to load.

Run: .venv/bin/python -m bench.fuzz.control [-runs=N] [libFuzzer flags]; see runner.py.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

if __name__ == "__main__":
    from bench.fuzz.runner import instrumented, main

    with instrumented():
        from bench.fuzz.seeds import _soundfont, control_seeds, tiny_bank
        from dmusd.banks.dls_writer import save_dls
        from dmusd.config import PinConfig
        from dmusd.control_protocol import ControlProtocol, is_report
        from dmusd.kernel.clock import SampleCountClock
        from dmusd.service import SynthService
        from tests.daemon.test_service import config as make_config

    logging.disable(logging.CRITICAL)  # a bug is seen in the reply; the log would only be noise
    scratch = tempfile.mkdtemp(prefix="dmusd-fuzz-control-")
    os.chdir(scratch)
    save_dls(tiny_bank(), "b.dls")
    with open("c.sf2", "wb") as out:
        out.write(_soundfont())
    config = make_config(PinConfig("a"))
    service = SynthService(config, SampleCountClock(48000))
    protocol = ControlProtocol(service, lambda: service.reload(config))

    def one_input(data: bytes) -> None:
        line = data.replace(b"\n", b" ")
        assert is_report(line) in (True, False)
        out = protocol.handle_line(line)
        assert out.endswith(b"\n") and out.count(b"\n") == 1, out
        reply = json.loads(out)
        assert isinstance(reply["ok"], bool) and ("result" in reply) == reply["ok"], reply
        if not reply["ok"]:
            assert reply["error"] and reply["where"], reply
            assert not reply["error"].startswith("internal error"), reply

    main("control", one_input, lambda: control_seeds("b.dls", "c.sf2"), (), max_len=1024)
