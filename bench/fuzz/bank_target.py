"""What the SF2, SF3 and DLS targets share: a bank from bytes, then what dmusd does next with one.

A bank that loads must keep the model's promises (tests/banks/test_fuzz.check_invariants: key and
velocity ranges, loops inside their waves) and survive what `ctl load` and `bank convert` do with
it: every instrument built into download buffers and parsed back (the pin's path), and the bank
written as DLS and read again. A struct.error or an IndexError there is a loader that let a value
through: a finding like any other.
"""

from __future__ import annotations

from bench.fuzz.runner import instrumented, main


def fuzz_bank(name: str, seeds_name: str, *, max_len: int, timeout: int = 10) -> None:
    with instrumented():
        from bench.fuzz import seeds
        from dmusd.banks.dls_writer import dls_bytes
        from dmusd.banks.download import build_bank_downloads, parse_download
        from dmusd.banks.loader import parse_bank_bytes
        from dmusd.errors import BankError
        from tests.banks.test_fuzz import check_invariants

    def one_input(data: bytes) -> None:
        bank = parse_bank_bytes(data, f"fuzz.{name}")
        check_invariants(bank)
        waves: dict = {}
        for buffer in build_bank_downloads(list(bank.instruments.values())):
            parsed = parse_download(buffer, waves)
            check_invariants(parsed)
            if hasattr(parsed, "wave"):
                waves[parsed.dl_id] = parsed.wave
        again = parse_bank_bytes(dls_bytes(bank), "converted.dls")
        assert len(again.instruments) == len(bank.instruments), "bank convert lost instruments"

    main(name, one_input, getattr(seeds, seeds_name), (BankError,), max_len=max_len,
         timeout=timeout)  # fmt: skip
