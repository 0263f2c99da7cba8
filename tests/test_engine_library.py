"""The engine's shared library (engine_library.py): built once into the cache, loaded without
numba, the same samples as numba's own entries, and numba's entries where it cannot be built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import dmusd
from dmusd import engine_library
from dmusd.engine_library import engine_entries, library_path
from dmusd.user_cache import numba_cache_dir

# a short busy song: chords on four channels, with pitch bends and controller moves
EVENTS = [
    (t * 0.05, bytes([0x90 | ch, 40 + (7 * t + 5 * ch) % 48, 70 + ch * 10]))
    for t in range(40)
    for ch in range(4)
] + [(t * 0.05 + 0.04, bytes([0xE0 | (t % 4), 0, 32 + t])) for t in range(40)]
EVENTS += [(2.0 + ch * 0.01, bytes([0xB0 | ch, 123, 0])) for ch in range(4)]

# Renders in a fresh interpreter and says what it loaded: the library's path, numba or not.
RENDER = r"""
import json, logging, sys
logging.basicConfig(level=logging.INFO, format="%(message)s")
import dmusd
from dmusd.engine_library import engine_entries
events = [(0.0, b"\x90\x3c\x64"), (0.2, b"\x80\x3c\x00")]
audio = dmusd.render_events(events, 0.1)
print(json.dumps({"source": engine_entries().source, "numba": "numba" in sys.modules,
                  "llvmlite": "llvmlite" in sys.modules, "peak": float(abs(audio).max())}))
"""


def _render_in(env_changes: dict[str, str]) -> tuple[dict, str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": numba_cache_dir(), **env_changes}
    done = subprocess.run(
        [sys.executable, "-c", RENDER], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_a_render_loads_the_library_and_never_numba():
    engine_entries()  # built here if this checkout's cache has none yet
    loaded, _ = _render_in({})
    assert loaded["source"] == str(library_path())
    assert not loaded["numba"] and not loaded["llvmlite"]
    assert loaded["peak"] > 0.01  # the note sounded


def test_the_library_renders_what_numba_renders(monkeypatch):
    library = engine_entries()
    assert library.source.endswith(".so")
    by_library = dmusd.render_events(EVENTS, 0.5)
    monkeypatch.setattr(engine_library, "_entries", engine_library._from_numba())
    assert engine_entries().source == "numba"
    by_numba = dmusd.render_events(EVENTS, 0.5)
    assert by_library.shape == by_numba.shape and np.abs(by_library).max() > 0.05
    assert np.array_equal(by_library, by_numba)


def test_the_build_inlines_what_is_marked_for_llvm():
    # control_point is realtime_llvm_inline: in the library no call of it is left, so no code
    # of its own either (numba's entries call it; the library test above: the same samples)
    library = engine_entries()
    assert library.source.endswith(".so")
    listed = subprocess.run(["nm", library.source], capture_output=True, text=True, check=True)
    assert "10modulators" in listed.stdout  # other functions of the module keep their names
    assert "10modulators13control_point" not in listed.stdout


def test_an_empty_cache_builds_the_library_once_and_keeps_few_old_ones(tmp_path):
    folder = tmp_path / "dmusd"
    folder.mkdir()
    old = [folder / f"dmusd-engine-{i:020d}.so" for i in range(6)]
    for i, path in enumerate(old):
        path.write_bytes(b"old")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    first, log = _render_in({"XDG_CACHE_HOME": str(tmp_path)})
    assert "engine library" in log and "built in" in log
    assert first["numba"]  # the build ran numba (its own cache is warm)
    built = [p for p in folder.glob("dmusd-engine-*.so") if p not in old]
    assert len(built) == 1 and first["source"] == str(built[0])
    assert sorted(p for p in old if p.exists()) == old[2:]  # the four newest others stay
    second, log = _render_in({"XDG_CACHE_HOME": str(tmp_path)})
    assert "built in" not in log
    assert second["source"] == first["source"] and not second["numba"]


def test_processes_starting_together_build_the_library_once(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": numba_cache_dir(), "XDG_CACHE_HOME": str(tmp_path)}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    starts = [subprocess.Popen([sys.executable, "-c", RENDER], env=env, **pipes) for _ in range(3)]
    done = [(p.communicate(timeout=600), p.returncode) for p in starts]
    assert all(code == 0 for _, code in done), [err for (_, err), _ in done]
    logs = "".join(err for (_, err), _ in done)
    assert logs.count("built in") == 1, logs  # the others waited on the lock, then loaded it
    sources = {json.loads(out.splitlines()[-1])["source"] for (out, _), _ in done}
    assert len(sources) == 1 and len(list((tmp_path / "dmusd").glob("dmusd-engine-*.so"))) == 1


def test_a_broken_library_is_said_and_built_again(tmp_path):
    first, _ = _render_in({"XDG_CACHE_HOME": str(tmp_path)})
    with open(first["source"], "r+b") as library:
        library.truncate(100)
    again, log = _render_in({"XDG_CACHE_HOME": str(tmp_path)})
    assert "unusable" in log and first["source"] in log and "built in" in log
    assert again["source"] == first["source"] and again["peak"] > 0.01


def test_a_cache_folder_that_cannot_be_made_builds_for_this_process_only(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the cache folder would be under a file: mkdir fails
    loaded, log = _render_in({"XDG_CACHE_HOME": str(blocked / "cache")})
    assert "not cached in" in log and "built in" in log
    assert loaded["source"].startswith(tempfile.gettempdir()) and loaded["peak"] > 0.01
    assert not os.path.exists(loaded["source"])  # mapped, then removed: nothing left behind


def test_without_a_linker_the_engine_runs_from_numba_and_says_so(tmp_path):
    loaded, log = _render_in({"XDG_CACHE_HOME": str(tmp_path), "PATH": str(tmp_path)})
    assert "no linker" in log and "binutils" in log
    assert loaded["source"] == "numba" and loaded["numba"] and loaded["peak"] > 0.01
    assert not list((tmp_path / "dmusd").glob("dmusd-engine-*.so"))


def test_a_linker_that_fails_is_quoted_and_the_engine_runs_from_numba(tmp_path):
    tools = tmp_path / "bin"
    tools.mkdir()
    linker = tools / "ld"
    linker.write_text("#!/bin/sh\necho 'ld: cannot find -lbroken' >&2\nexit 1\n")
    linker.chmod(0o755)
    loaded, log = _render_in({"XDG_CACHE_HOME": str(tmp_path), "PATH": str(tools)})
    assert "could not link the engine library: ld: cannot find -lbroken" in log
    assert loaded["source"] == "numba" and loaded["peak"] > 0.01
    assert not list((tmp_path / "dmusd").rglob("*.so"))  # no half-built library left
    assert not list((tmp_path / "dmusd").glob(".dmusd-engine-*"))  # nor its work folder


POWER_ON = r"""
import json, sys
import numpy as np
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.channel_state import reset_channel
from dmusd.synth.engine.jit import interpreted
from dmusd.synth.engine.note_logic import master_gain
chs = np.full((32, P.CH_N), 7, dtype=np.int64)
cc = np.full((32, 128), 7, dtype=np.int64)
for e in range(32):
    interpreted(reset_channel, e, chs, cc)
pf = np.zeros(P.PF_N); pf[P.PF_MASTER_VOLUME] = 0.3; pf[P.PF_GAIN_CB] = -250.0
params = np.zeros(64)
interpreted(master_gain, pf, params)
assert "numba" not in sys.modules
print(json.dumps({"chs": chs.tolist(), "cc": cc.tolist(), "params": params.tolist()}))
"""


def test_set_up_calls_as_plain_python_match_the_compiled_ones():
    from dmusd.synth.engine import pin_layout as P
    from dmusd.synth.engine.channel_state import reset_channel
    from dmusd.synth.engine.jit import materialize
    from dmusd.synth.engine.note_logic import master_gain

    done = subprocess.run(
        [sys.executable, "-c", POWER_ON], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    python = json.loads(done.stdout)
    materialize()
    chs = np.full((32, P.CH_N), 7, dtype=np.int64)
    cc = np.full((32, 128), 7, dtype=np.int64)
    for e in range(32):
        reset_channel(e, chs, cc)
    pf = np.zeros(P.PF_N)
    pf[P.PF_MASTER_VOLUME] = 0.3
    pf[P.PF_GAIN_CB] = -250.0
    params = np.zeros(64)
    master_gain(pf, params)
    assert np.array_equal(np.array(python["chs"]), chs)
    assert np.array_equal(np.array(python["cc"]), cc)
    assert np.array_equal(np.array(python["params"]), params) and params.any()


@pytest.mark.parametrize("groups", [1, 3])
def test_a_pin_powers_on_every_group_alike(groups):
    from dmusd.synth.engine import Engine
    from dmusd.synth.engine import pin_layout as P
    from dmusd.synth.engine.channel_state import reset_channel
    from dmusd.synth.event_ring import EventRing
    from dmusd.synth.pin_state import PinState

    state = PinState(Engine(channels=16 * groups), groups, 64, 1, EventRing(64))
    chs = np.zeros_like(state.chs)
    cc = np.zeros_like(state.cc)
    for e in range(16 * groups):
        reset_channel(e, chs, cc)
    assert np.array_equal(state.chs, chs) and np.array_equal(state.cc, cc)
    assert state.chs[9 + 16 * (groups - 1), P.CH_DRUM] == 1
