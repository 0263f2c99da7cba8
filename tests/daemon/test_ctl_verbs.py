"""The FluidSynth-style verbs of `dmusd ctl` and `dmusd ctl shell`, through the real path: a
`dmusd run` on a JACK server, `dmusd ctl` as a subprocess over the real socket, the synth's
JACK output recorded, the shell on a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.daemon.jack_harness import cents, onsets, peak_hz, rms

pytestmark = pytest.mark.realtime

CTL = "import sys; from dmusd.cli import main; sys.exit(main())"


def ctl(daemon, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", CTL, "ctl", "--socket", daemon.socket, *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def ok(daemon, *argv: str) -> str:
    done = ctl(daemon, *argv)
    assert (done.returncode, done.stderr) == (0, ""), done
    return done.stdout


def test_ctl_noteon_sounds_at_the_right_pitch(daemon, harness):
    rate = harness.rate
    ok(daemon, "panic")
    ok(daemon, "prog", "0", "16")  # an organ: a steady looped tone to measure
    start = harness.frame_time + 4 * harness.period
    harness.record(start, int(2.5 * rate))
    harness.wait_until(start + int(0.5 * rate))
    sent = harness.frame_time
    assert ok(daemon, "noteon", "0", "69", "100") == ""  # as FluidSynth: a note says nothing
    time.sleep(1.2)
    ok(daemon, "noteoff", "0", "69")
    rec = harness.wait_recorded()[:, 0]
    assert rms(rec[: int(0.4 * rate)]) < 1e-5  # silent before the noteon
    (onset,) = onsets(rec, [sent - start], int(1.0 * rate), 1e-3)
    assert onset > 0, "the noteon never sounded"
    seg = rec[onset + int(0.2 * rate) : onset + int(0.7 * rate)]
    got = peak_hz(seg, rate, 440.0)
    assert abs(cents(got, 440.0)) <= 3.0, got
    assert rms(rec[-int(0.3 * rate) :]) < rms(seg) / 100  # the noteoff ended it


def test_pitch_bend_and_select_reach_the_synth(daemon, harness):
    rate = harness.rate
    ok(daemon, "panic")
    ok(daemon, "select", "0", "0", "16")  # bank 0, organ, as FluidSynth's select without SFONT
    ok(daemon, "pitch_bend", "0", str(8192 + 4096))  # +1 semitone at the default 2-semitone range
    start = harness.frame_time + 4 * harness.period
    harness.record(start, int(1.2 * rate))
    ok(daemon, "noteon", "0", "69", "100")
    rec = harness.wait_recorded()[:, 0]
    ok(daemon, "noteoff", "0", "69")
    seg = rec[-int(0.5 * rate) :]
    want = 440.0 * 2 ** (1 / 12)
    assert abs(cents(peak_hz(seg, rate, want), want)) <= 5.0
    # reset (GM System On) takes the bend back off: the same note is 440 Hz again
    ok(daemon, "reset")
    ok(daemon, "prog", "0", "16")
    start = harness.frame_time + 4 * harness.period
    harness.record(start, int(1.2 * rate))
    ok(daemon, "noteon", "0", "69", "100")
    rec = harness.wait_recorded()[:, 0]
    ok(daemon, "noteoff", "0", "69")
    assert abs(cents(peak_hz(rec[-int(0.5 * rate) :], rate, 440.0), 440.0)) <= 5.0


def test_settings_show_in_status_and_reload_undoes_them(daemon):
    try:
        assert ok(daemon, "gain", "0.5").splitlines() == [
            "pin a: volume -6.0 dB",
            "pin b: volume -6.0 dB",
        ]
        assert ok(daemon, "reverb", "on", "--pin", "a") == "pin a: reverb on, level 0.25\n"
        assert ok(daemon, "reverb", "0.4", "--pin", "a") == "pin a: reverb on, level 0.40\n"
        assert ok(daemon, "chorus", "off").splitlines()[1] == "pin b: chorus off, level 0.50"
        assert ok(daemon, "voices", "64", "--pin", "b") == "pin b: 64 voices (0 sounding)\n"
        status = json.loads(ok(daemon, "status", "--json"))["result"]
        a, b = status["pins"]
        assert (a["volume_db"], a["reverb"], a["reverb_level"]) == (-6.02, True, pytest.approx(0.4))
        assert (b["voices"], b["chorus"]) == (64, False)
        fonts = ok(daemon, "fonts").splitlines()
        assert fonts[0].split() == ["PIN", "BANK", "INSTRUMENTS", "FILE"]
        bank_b = next(line.split()[1] for line in fonts[1:] if line.startswith("b "))
        instruments = ok(daemon, "inst", bank_b).splitlines()
        assert len(instruments) == 136 and instruments[0].startswith("000-000 ")
        assert any(line.startswith("128-") for line in instruments)  # TimGM6mb's drum kits
    finally:
        ok(daemon, "reload")
    a, b = json.loads(ok(daemon, "status", "--json"))["result"]["pins"]
    assert (a["volume_db"], a["reverb"], b["voices"], b["chorus"]) == (0.0, False, 256, False)
    assert a["reverb_level"] == 0.25  # the engine's default again


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (("noteon", "0", "128", "100"), 2, "KEY: key must be 0..127, got 128"),
        (("noteon", "40", "60", "100"), 1, "pin 'a' has channel groups 1..2"),
        (("noteon", "--pin", "nope", "0", "60", "100"), 1, "no pin named 'nope'"),
        (("gain", "11"), 1, "gain must be 0..10"),
        (("reverb", "loud"), 1, "takes on, off or a level 0..1, not 'loud'"),
        (("reverb", "1.5"), 1, "reverb level 1.5 is outside 0..1"),
        (("inst", "999"), 1, "no bank 999"),
        (("voices", "0"), 2, "voices must be 1..4096, got 0"),
    ],
)
def test_a_bad_verb_is_one_line_and_an_exit_code(daemon, argv, code, says):
    done = ctl(daemon, *argv)
    assert done.returncode == code and says in done.stderr, done
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_ctl_imports_neither_numpy_nor_numba(daemon):
    code = (
        "import sys; from dmusd.cli import main; main(['ctl', '--socket', sys.argv[1], 'status']);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'numba', 'jack')"
        " or m.startswith(('dmusd.synth', 'dmusd.kernel'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, daemon.socket], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "[]", done


# -- the shell on a pseudo-terminal ---------------------------------------------------------
class Terminal:
    """A process on a pty, read until an expected text shows (as pexpect does)."""

    def __init__(self, argv: list[str], env: dict) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30.0) -> str:
        """Everything read up to and including `text`."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"no {text!r} on the terminal; it shows:\n{self.seen}")
            try:
                self.seen += os.read(self.master, 65536).decode(errors="replace")
            except OSError:  # the process left and the pty closed
                raise AssertionError(f"no {text!r}; the terminal closed:\n{self.seen}") from None
        upto = self.seen.index(text) + len(text)
        out, self.seen = self.seen[:upto], self.seen[upto:]
        return out

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> int:
        try:
            return self.process.wait(timeout=10)
        finally:
            os.close(self.master)


def test_shell_answers_keeps_history_and_completes(daemon, tmp_path):
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), TERM="xterm")
    argv = [sys.executable, "-c", CTL, "ctl", "--socket", daemon.socket, "shell"]
    term = Terminal(argv, env)
    term.expect("dmusd> ")
    term.send("voices --pin a\r")
    assert "pin a: 256 voices" in term.expect("dmusd> ")
    term.send("fon\t\r")  # Tab completes "fonts"
    assert "INSTRUMENTS" in term.expect("dmusd> ")
    term.send("reverb --pin a o\t\t")  # two Tabs list on and off
    listed = term.expect("dmusd> reverb --pin a o")  # readline lists, then redraws the line
    assert "off" in listed and "on " in listed.replace("\r\n", " ")
    term.send("\x15")  # Ctrl-U: drop the line
    term.send("noteon 0 300 1\r")  # a mistake: one line, the prompt comes back
    assert "KEY: key must be 0..127, got 300" in term.expect("dmusd> ")
    term.send("bogus\r")
    assert "invalid choice: 'bogus'" in term.expect("dmusd> ")
    term.send("quit\r")
    assert term.close() == 0
    history = (tmp_path / "state" / "dmusd" / "ctl_history").read_text()
    assert "voices --pin a" in history and "quit" in history
    # A new shell remembers: Ctrl-P twice brings back the line before "quit"
    term = Terminal(argv, env)
    term.expect("dmusd> ")
    term.send("\x10\x10\r")
    assert "bogus" in term.expect("dmusd> ")
    term.send("\x04")  # Ctrl-D leaves too
    assert term.close() == 0
