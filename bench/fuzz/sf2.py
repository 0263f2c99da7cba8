"""atheris target: SoundFont 2 files (dmusd/banks/sf2*.py) through the bank loader.

Run: .venv/bin/python -m bench.fuzz.sf2 [-runs=N] [libFuzzer flags]; see runner.py.
"""

from __future__ import annotations

if __name__ == "__main__":
    from bench.fuzz.bank_target import fuzz_bank

    fuzz_bank("sf2", "sf2_seeds", max_len=4096)
