"""The FluidSynth 2.6.0 reference build in ../shared/tools/fluidsynth-2.6/, made runnable.

Its lib/ folder should hold the symlink libfluidsynth.so.3 -> libfluidsynth.so.3.6.0; the copy of
shared/ on these machines has it as a 22-byte text file naming the target (symlinks did not
survive), so its own wrapper script fails with "file too short". `command()` returns an argv
prefix that runs the binary with a private lib folder holding a real symlink, and works as well
where the symlink is intact. FLUIDSYNTH in the environment names another binary instead.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

HOME = Path(__file__).resolve().parents[2] / "shared" / "tools" / "fluidsynth-2.6"
SONAME = "libfluidsynth.so.3"


def command() -> list[str]:
    """argv prefix for FluidSynth 2.6 (e.g. command() + ["-ni", "-F", out, bank, song])."""
    other = os.environ.get("FLUIDSYNTH")
    if other:
        return [other]
    binary = HOME / "bin" / "fluidsynth.bin"
    if not binary.exists():
        raise SystemExit(f"FluidSynth 2.6 is missing: {binary}")
    real = next(p for p in sorted((HOME / "lib").glob(SONAME + ".*")) if p.stat().st_size > 1024)
    lib = Path(tempfile.mkdtemp(prefix="dmusd-fluidsynth26-"))
    atexit.register(shutil.rmtree, lib, ignore_errors=True)
    (lib / SONAME).symlink_to(real)
    return ["env", f"LD_LIBRARY_PATH={lib}", str(binary)]


def version() -> str:
    import subprocess

    done = subprocess.run([*command(), "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0] if done.stdout else done.stderr.strip()


if __name__ == "__main__":
    print(version())
