"""atheris target: DLS Level 1 and Level 2 files (dmusd/banks/dls_reader.py) through the loader.

Run: .venv/bin/python -m bench.fuzz.dls [-runs=N] [libFuzzer flags]; see runner.py.
"""

from __future__ import annotations

if __name__ == "__main__":
    from bench.fuzz.bank_target import fuzz_bank

    fuzz_bank("dls", "dls_seeds", max_len=4096)
