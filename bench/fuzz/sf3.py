"""atheris target: SF3 files (SoundFont with Ogg Vorbis samples, decoded by libsndfile through
soundfile) through the bank loader. Slower per input than SF2: every load decodes Vorbis.

Run: .venv/bin/python -m bench.fuzz.sf3 [-runs=N] [libFuzzer flags]; see runner.py.
"""

from __future__ import annotations

if __name__ == "__main__":
    from bench.fuzz.bank_target import fuzz_bank

    fuzz_bank("sf3", "sf3_seeds", max_len=8192)
