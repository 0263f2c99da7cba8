"""The compiled engine as a plain shared library: what it would save at run time (issue 14, 7).

numba holds the engine's machine code inside its LLVM JIT, so every process that renders imports
numba and llvmlite and loads each cached function: the largest part of an idle daemon's memory
and of `dmusd render`'s start-up. This bench takes the C entries numba compiled (the pin call
`render_pin` and the two native audio callbacks), emits their linked, optimized LLVM modules as
one position-independent object, and links it with `ld -shared` into a library that ctypes can
load with no numba in the process. numba's few helper symbols, reached only when compiled code
raises, get small stand-ins (an exception is reported as a RuntimeError).

It then measures:
1. in a fresh process each, resident memory and time to reach the entries: numba's route
   (import numba, load the cached cfuncs) against the library's (ctypes.CDLL);
2. in this process, that the library renders the same samples at the same cost: the dense
   song rendered by dmusd.Synth through numba's render_pin and again through the library's,
   compared bit for bit.

Usage: python bench/native_library.py [--seconds 20]   (needs `ld`, from binutils)
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dense_midi import dense_song  # noqa: E402
from render import RATE, SOUNDFONT  # noqa: E402

ENTRIES = {
    "render_pin": ("dmusd.synth.engine.native_pin", "render_pin"),
    "pa_output_callback": ("dmusd.io.native_callbacks", "pa_output_callback"),
    "jack_midi_process": ("dmusd.io.native_callbacks", "jack_midi_process"),
}

# Stand-ins for numba's helperlib and NRT symbols, which live in numba's own extension modules
# (not exported): the GIL calls as numba has them, the exception path reduced to one error.
STUBS = r"""
@PyExc_RuntimeError = external global ptr
@message = private constant [43 x i8] c"dmusd: the compiled engine raised an error\00"
declare i32 @PyGILState_Ensure()
declare void @PyGILState_Release(i32)
declare void @PyErr_SetString(ptr, ptr)
define void @numba_gil_ensure(ptr %state) {
  %g = call i32 @PyGILState_Ensure()
  store i32 %g, ptr %state
  ret void
}
define void @numba_gil_release(ptr %state) {
  %g = load i32, ptr %state
  call void @PyGILState_Release(i32 %g)
  ret void
}
define ptr @numba_unpickle(ptr %a, i32 %n, ptr %h) {
  ret ptr null
}
define ptr @numba_runtime_build_excinfo_struct(ptr %a, ptr %b) {
  ret ptr null
}
define void @numba_do_raise(ptr %info) {
  %type = load ptr, ptr @PyExc_RuntimeError
  call void @PyErr_SetString(ptr %type, ptr @message)
  ret void
}
define void @NRT_Free(ptr %p) {
  ret void
}
define void @NRT_MemInfo_call_dtor(ptr %p) {
  ret void
}
"""


def build(folder: Path) -> tuple[Path, dict[str, str]]:
    """Link the C entries numba compiled into folder/dmusd-engine.so; returns it and the
    entries' symbol names."""
    import importlib

    import llvmlite.binding as ll

    module = None
    names = {}
    for role, (module_name, attribute) in ENTRIES.items():
        entry = getattr(importlib.import_module(module_name), attribute)
        library = entry._library  # numba's CodeLibrary: the entry with every callee linked in
        part = ll.parse_bitcode(library._get_module_for_linking().as_bitcode())
        part.get_function(entry.native_name).linkage = ll.Linkage.external
        names[role] = entry.native_name
        if module is None:
            module = part
        else:
            module.link_in(part)
    module.link_in(ll.parse_assembly(STUBS))
    codegen = library._codegen
    machine = ll.Target.from_triple(ll.get_process_triple()).create_target_machine(
        cpu=codegen._get_host_cpu_name(),
        features=codegen._get_host_cpu_features(),
        opt=3,
        reloc="pic",
        codemodel="default",
    )
    obj = folder / "dmusd-engine.o"
    obj.write_bytes(machine.emit_object(module))
    out = folder / "dmusd-engine.so"
    subprocess.run(["ld", "-shared", "-o", str(out), str(obj)], check=True)
    return out, names


PROBE = r"""
import ctypes, json, sys, time
import numpy, sounddevice  # what a daemon has loaded anyway
base = int(open("/proc/self/statm").read().split()[1]) * 4096
t = time.perf_counter()
if sys.argv[1] == "numba":
    from dmusd.synth.engine import native_pin
    from dmusd.io import native_callbacks
    addresses = [native_pin.render_pin.address, native_callbacks.pa_output_callback.address,
                 native_callbacks.jack_midi_process.address]
else:
    lib = ctypes.CDLL(sys.argv[2])
    names = json.loads(sys.argv[3])
    addresses = [ctypes.cast(lib[n], ctypes.c_void_p).value for n in names.values()]
ready = time.perf_counter() - t
rss = int(open("/proc/self/statm").read().split()[1]) * 4096
print(json.dumps({"base_mb": base / 2**20, "rss_mb": rss / 2**20, "seconds": ready,
                  "numba_loaded": "numba" in sys.modules, "entries": len(addresses)}))
"""


def probe(route: str, library: Path, names: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, route, str(library), json.dumps(names)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def same_samples(library: Path, names: dict[str, str], seconds: float) -> dict:
    """The dense song through numba's render_pin and through the library's: equal?"""
    import ctypes

    import numpy as np

    import dmusd
    from dmusd.synth.engine import native_pin

    with tempfile.TemporaryDirectory() as folder:
        song = dense_song(Path(folder) / "dense.mid", seconds)
        synth = dmusd.Synth(banks=[str(SOUNDFONT)], rate=RATE)
        numba_route = native_pin._render
        synth.render_midi(str(song))  # warm: both timed renders find the same caches
        start = time.process_time()
        by_numba = synth.render_midi(str(song))
        numba_cpu = time.process_time() - start
        shared = ctypes.CDLL(str(library))[names["render_pin"]]
        shared.argtypes = numba_route.argtypes
        shared.restype = ctypes.c_int64
        native_pin._render = shared
        try:
            start = time.process_time()
            by_library = synth.render_midi(str(song))
            library_cpu = time.process_time() - start
        finally:
            native_pin._render = numba_route
    return {
        "frames": len(by_numba),
        "identical": bool(np.array_equal(by_numba, by_library)),
        "numba_render_cpu_s": round(numba_cpu, 3),
        "library_render_cpu_s": round(library_cpu, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the dense song")
    args = parser.parse_args()
    if not SOUNDFONT.exists():
        raise SystemExit("needs TimGM6mb (bash .ci/setup)")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        library, names = build(Path(folder))
        built = time.perf_counter() - start
        print(f"built {library.name}: {library.stat().st_size / 1024:.0f} KiB in {built:.1f} s "
              "(emit and link; numba compiles first if its cache is cold)")  # fmt: skip
        routes = {route: probe(route, library, names) for route in ("numba", "library")}
        for route, r in routes.items():
            print(f"  {route:8s} entries ready in {r['seconds']:.3f} s, RSS {r['rss_mb']:.1f} MB "
                  f"(numpy + sounddevice alone {r['base_mb']:.1f} MB), numba loaded: "
                  f"{r['numba_loaded']}")  # fmt: skip
        saved = routes["numba"]["rss_mb"] - routes["library"]["rss_mb"]
        print(
            f"  the library saves {saved:.1f} MB and "
            f"{routes['numba']['seconds'] - routes['library']['seconds']:.2f} s"
        )
        check = same_samples(library, names, args.seconds)
        print(f"  dense song ({check['frames']} frames) through both: identical "
              f"{check['identical']}; render CPU numba {check['numba_render_cpu_s']} s, library "
              f"{check['library_render_cpu_s']} s")  # fmt: skip
    print(json.dumps({"build_s": round(built, 2), "routes": routes, "samples": check}))
    return 0 if check["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
