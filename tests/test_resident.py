"""Giving start-up memory back: LLVM's code pages leave the resident set, LLVM still works.

The kernel pages out only what this process alone maps: pages that another process (this test
run itself, if it imported numba first) also uses stay, shared. So the test counts the pages
private to the child."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import numba
from dmusd.resident import give_back_start_up_memory

def llvm_private_kb():
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping's first line
            inside = len(head) >= 6 and head[5].endswith("libllvmlite.so")
        elif inside and head[0] == "Private_Clean:":
            total += int(head[1])
    return total

@numba.njit
def twice(x):
    return 2 * x

assert twice(21) == 42  # LLVM has run: its code is resident
before = llvm_private_kb()
advised = give_back_start_up_memory()
after = llvm_private_kb()

@numba.njit
def thrice(x):
    return 3 * x

assert thrice(14) == 42 and twice(4) == 8  # LLVM compiles again from the paged-out library
print(before, after, advised)
"""


def test_llvm_code_pages_leave_the_resident_set_and_llvm_still_compiles():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, after, advised = (int(x) for x in done.stdout.split())
    assert advised > 20 * 2**20  # bytes: LLVM's compiler is tens of MB of code
    # alone, the child holds about 60 MB of LLVM's code privately; beside a numba process, less
    assert after <= max(before / 4, 1024), f"LLVM's private code: {before} kB -> {after} kB"
