"""Giving start-up memory back: read-only file pages leave the resident set; LLVM still works.

The kernel pages out only what this process alone maps: pages that another process (this test
run itself, once it imported numba) also maps stay, shared. So the paging-out is shown on a file
only the child maps, and on LLVM the test checks what can hold beside any other process."""

from __future__ import annotations

import subprocess
import sys

import pytest

PAGE_OUT = r"""
import mmap, sys
from dmusd.resident import page_out

def rss_kb(suffix):
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping's first line
            inside = len(head) >= 6 and head[5].endswith(suffix)
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total

path = sys.argv[1]
with open(path, "rb") as f:
    view = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
checksum = sum(view[i] for i in range(0, len(view), 4096))  # every page touched
before = rss_kb("blob.bin")
advised = page_out("blob.bin")
after = rss_kb("blob.bin")
assert sum(view[i] for i in range(0, len(view), 4096)) == checksum  # read back from the file
print(before, after, advised)
"""

LLVM = r"""
import numba
from dmusd.resident import give_back_start_up_memory

@numba.njit
def twice(x):
    return 2 * x

assert twice(21) == 42  # LLVM has run
advised = give_back_start_up_memory()

@numba.njit
def thrice(x):
    return 3 * x

assert thrice(14) == 42 and twice(4) == 8  # LLVM compiles again after its pages went
print(advised)
"""


def _run(script: str, *args: str) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [int(x) for x in done.stdout.split()]


def test_read_only_pages_of_a_file_leave_the_resident_set(tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * (32 * 4096))  # 32 MiB
    before, after, advised = _run(PAGE_OUT, str(blob))
    assert advised == 32 * 2**20
    assert before >= 30_000, before  # kB: the whole file was resident
    assert after < before / 10, f"{before} kB -> {after} kB"


def test_llvm_code_is_paged_out_and_llvm_still_compiles():
    (advised,) = _run(LLVM)
    assert advised > 20 * 2**20  # bytes: LLVM's read-only and code mappings were found


LIBRARIES = r"""
import mmap, sys
from dmusd.resident import give_back_start_up_memory

def rss_kb(part):
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:
            inside = len(head) >= 6 and part in head[5]
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total

idle, audio = sys.argv[1], sys.argv[2]
views = []
for path in (idle, audio):  # mapped read-only and every page touched, as a library's code
    with open(path, "rb") as f:
        views.append(mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ))
    sum(views[-1][i] for i in range(0, len(views[-1]), 4096))
before = rss_kb(idle), rss_kb(audio)
give_back_start_up_memory(sys.argv[3])
after = rss_kb(idle), rss_kb(audio)
print(*before, *after)
"""


def _library_copies(tmp_path, audio_name: str = "libportaudio-copy.so") -> tuple[str, str]:
    """Two 8 MiB "libraries" only the child maps: one named like an idle ALSA plugin, one
    named like a library on AUDIO_PATH (PortAudio by default)."""
    idle, audio = tmp_path / "libasound_module_idle.so", tmp_path / audio_name
    for path in (idle, audio):
        path.write_bytes(bytes(range(256)) * (8 * 4096))
    return str(idle), str(audio)


# PortAudio, and the engine's own library (its code runs in every period)
@pytest.mark.parametrize("audio_name", ["libportaudio-copy.so", "dmusd-engine-0123abcd.so"])
def test_on_jack_libraries_off_the_audio_path_are_paged_out(tmp_path, audio_name):
    idle, audio = _library_copies(tmp_path, audio_name)
    idle_before, audio_before, idle_after, audio_after = _run(LIBRARIES, idle, audio, "jack")
    assert idle_before > 1000 and audio_before > 1000  # kB resident once loaded
    assert idle_after < idle_before / 4, (idle_before, idle_after)
    assert audio_after >= audio_before * 0.9  # the audio path keeps its pages


def test_on_alsa_only_llvm_goes(tmp_path):
    idle, audio = _library_copies(tmp_path)
    idle_before, _, idle_after, _ = _run(LIBRARIES, idle, audio, "alsa")
    assert idle_after >= idle_before * 0.9  # an ALSA plugin may be on the audio path there
