"""Building the engine's shared library from numba's compiled C entries (engine_library.py).

numba compiles each C entry (a cfunc) into its own LLVM module with every callee linked in.
The build takes those modules (compiled now, or loaded from numba's cache), links them into
one, names the entries (engine_library.SYMBOLS), emits a position-independent object for the
host CPU, as numba would for itself, and links that with `ld -shared`. On the way LLVM inlines
the functions marked `jit.realtime_llvm_inline` and optimizes the linked module once more. It
takes about 4 s on a warm numba cache.

numba's helper symbols live in its own extension modules, which export none of them, and
compiled code reaches them only when it raises or takes the GIL. They get small stand-ins
(STUBS): the GIL calls as numba has them, an exception reported as one RuntimeError. So the
library needs nothing from numba when it loads.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from dmusd.engine_library import SYMBOLS

log = logging.getLogger("dmusd")

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


class BuildFailed(Exception):
    """The library could not be linked (no `ld`, or `ld` failed): numba's entries serve."""


def numba_entries() -> dict:
    """The C entries as numba's cfunc objects, by role (compiles or loads from numba's cache)."""
    from dmusd.io import callback_entries
    from dmusd.synth.engine import pin_entry

    return {
        "render_pin": pin_entry.render_pin,
        "pa_output_callback": callback_entries.pa_output_callback,
        "jack_midi_process": callback_entries.jack_midi_process,
        "jack_audio_process": callback_entries.jack_audio_process,
    }


def emit_object(entries: dict) -> bytes:
    """The entries' machine code, linked into one object with the stand-ins."""
    import llvmlite.binding as ll

    module = None
    library = None
    for role, entry in entries.items():
        library = entry._library  # numba's CodeLibrary: the entry with every callee linked in
        part = ll.parse_bitcode(library._get_module_for_linking().as_bitcode())
        function = part.get_function(entry.native_name)
        function.linkage = ll.Linkage.external
        function.name = SYMBOLS[role]
        if module is None:
            module = part
        else:
            module.link_in(part)
    module.link_in(ll.parse_assembly(STUBS))
    # Only the entries are the library's: every other definition made internal, so the code
    # calls and reads them directly, not through the PLT and GOT that a shared object's
    # preemptible symbols go through (the dense render was 11 % slower than numba's own that
    # way; bench/native_library.py measures it).
    exported = set(SYMBOLS.values())
    for definition in [*module.functions, *module.global_variables]:
        if not definition.is_declaration and definition.name not in exported:
            definition.linkage = ll.Linkage.internal
    log.debug("engine build: %d functions inlined by LLVM", mark_inlined(module))
    codegen = library._codegen
    machine = ll.Target.from_triple(ll.get_process_triple()).create_target_machine(
        cpu=codegen._get_host_cpu_name(),
        features=codegen._get_host_cpu_features(),
        opt=3,
        reloc="pic",
        codemodel="default",
    )
    # LLVM's optimization pipeline once more over the linked module: it inlines the marked
    # functions into their callers and optimizes the code around them (about 2 s; the dense
    # bench song renders ~8 % faster than with the inlining alone)
    builder = ll.create_pass_builder(machine, ll.create_pipeline_tuning_options(speed_level=3))
    builder.getModulePassManager().run(module, builder)
    return machine.emit_object(module)


def mark_inlined(module) -> int:
    """Mark every definition of a realtime_llvm_inline function always-inline; returns how
    many. numba names a function by its qualified name (Itanium-mangled), then its ABI tags
    ("B...") or the end of the name ("E"), then its argument types."""
    from numba.core.itanium_mangler import mangle_identifier

    from dmusd.synth.engine.jit import llvm_inlined

    stems = ["_Z" + mangle_identifier(name)[:-1] for name in llvm_inlined()]  # less the "E"
    starts = tuple(stem + end for stem in stems for end in "BE")
    marked = 0
    for function in module.functions:
        # (a small one may be gone already: numba's own optimization inlined it everywhere)
        if not function.is_declaration and function.name.startswith(starts):
            function.add_function_attribute("alwaysinline")
            marked += 1
    return marked


def build_library(target: Path) -> Path:
    """Build the library at `target` (linked under a temporary name, then renamed); where its
    folder is not writable, in the temporary folder for this process only. Returns where."""
    linker = shutil.which("ld")
    if linker is None:
        raise BuildFailed("no linker to build the engine library (`ld`: install binutils)")
    started = time.monotonic()
    obj = emit_object(numba_entries())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = tempfile.TemporaryDirectory(dir=target.parent, prefix=".dmusd-engine-")
        place = target
    except OSError as error:
        log.info("engine library not cached in %s (%s)", target.parent, error)
        work = tempfile.TemporaryDirectory(prefix="dmusd-engine-")
        place = Path(tempfile.gettempdir()) / f"{target.stem}-{os.getpid()}.so"
    with work as folder:
        (Path(folder) / "engine.o").write_bytes(obj)
        built = Path(folder) / "engine.so"
        done = subprocess.run(
            [linker, "-shared", "-o", str(built), str(Path(folder) / "engine.o")],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise BuildFailed(f"`ld` could not link the engine library: {done.stderr.strip()}")
        os.replace(built, place)
    log.info("engine library %s built in %.1f s", place, time.monotonic() - started)
    return place
