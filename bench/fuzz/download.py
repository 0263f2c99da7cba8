"""atheris target: DirectMusic download buffers (dmusd/banks/download.py parse_download), what
KSPROPERTY_SYNTH_DLS_DOWNLOAD hands the synth from any client.

The input is one buffer, parsed against the waves of the tiny seed bank already on the pin (as an
instrument download is); a buffer that parses must keep the model's promises
(tests/banks/test_fuzz.check_invariants) and name only waves the pin holds.

Run: .venv/bin/python -m bench.fuzz.download [-runs=N] [libFuzzer flags]; see runner.py.
"""

from __future__ import annotations

if __name__ == "__main__":
    from bench.fuzz.runner import instrumented, main

    with instrumented():
        from bench.fuzz.seeds import download_seeds, download_waves
        from dmusd.banks.download import InstrumentDownload, parse_download
        from dmusd.errors import BankError
        from tests.banks.test_fuzz import check_invariants

    waves = download_waves()

    def one_input(data: bytes) -> None:
        parsed = parse_download(data, waves)
        check_invariants(parsed)
        if isinstance(parsed, InstrumentDownload):
            assert set(parsed.wave_ids) <= set(waves), parsed.wave_ids

    main("download", one_input, download_seeds, (BankError,), max_len=1024)
