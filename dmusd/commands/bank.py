"""`dmusd bank info|check|convert|default`: inspect, validate and convert instrument banks.

- `info FILE [--json] [--instruments]`: format and level, instruments, regions, waves, sample
  memory, INFO strings (copyright included).
- `check FILE [--allow-warnings]`: load with every check, then push every instrument through
  the DirectMusic download path a pin uses; exit 0 when clean, 1 with the location of the error
  or of each repaired problem when not (`--allow-warnings`: repaired problems are reported but
  do not fail).
- `convert IN OUT [--level 1|2]`: write any bank (DLS, SF2, SF3) as a DLS file.
- `default [--output FILE]`: where the built-in GM bank is cached, or write it to FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from dmusd.banks.dls_writer import save_dls
from dmusd.banks.download import WaveDownload, build_bank_downloads, parse_download
from dmusd.banks.loader import load_bank
from dmusd.banks.model import Bank, Wave, describe_patch
from dmusd.errors import ConfigError
from dmusd.io.atomic_file import write_atomically


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bank", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    sub = parser.add_subparsers(dest="bank_command", metavar="ACTION", required=True)

    info = sub.add_parser("info", help="describe a bank")
    info.add_argument("file")
    info.add_argument("--json", action="store_true", help="one JSON object on stdout")
    info.add_argument("--instruments", action="store_true", help="list every instrument")
    info.set_defaults(func=run_info)

    check = sub.add_parser("check", help="validate a bank completely")
    check.add_argument("file")
    check.add_argument(
        "--allow-warnings", action="store_true", help="report repaired problems without failing"
    )
    check.set_defaults(func=run_check)

    convert = sub.add_parser("convert", help="write a bank as a DLS file")
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--level", type=int, choices=(1, 2), default=2, help="DLS level (2)")
    convert.set_defaults(func=run_convert)

    default = sub.add_parser("default", help="the built-in GM bank")
    default.add_argument("--output", help="write the bank to this DLS file")
    default.set_defaults(func=run_default)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


def describe(bank: Bank, path: str) -> dict:
    """Everything `info` reports, as JSON-ready data."""
    instruments = sorted(bank.instruments.values(), key=lambda i: (i.is_drum, i.patch))
    return {
        "file": path,
        "format": bank.format,
        "level": bank.level,
        "version": ".".join(str(v) for v in bank.version) if bank.version else None,
        "name": bank.name,
        "copyright": bank.info.get("ICOP", ""),
        "info": bank.info,
        "instrument_count": len(instruments),
        "drum_kits": sum(1 for i in instruments if i.is_drum),
        "regions": bank.region_count,
        "waves": len(bank.waves),
        "sample_frames": sum(w.frames for w in bank.waves),
        "sample_memory": bank.sample_memory,
        "instruments": [
            {
                "patch": inst.patch,
                "drum": inst.is_drum,
                "bank_msb": inst.bank_msb,
                "bank_lsb": inst.bank_lsb,
                "program": inst.program,
                "name": inst.name,
                "regions": len(inst.regions),
            }
            for inst in instruments
        ],
        "warnings": bank.warnings,
    }


def run_info(args: argparse.Namespace) -> int:
    bank = load_bank(args.file)
    data = describe(bank, args.file)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    kind = f"{bank.format} level {bank.level}" if bank.format == "DLS" else bank.format
    version = f" (file version {data['version']})" if data["version"] else ""
    melodic = data["instrument_count"] - data["drum_kits"]
    print(f"file:         {args.file}")
    print(f"format:       {kind}{version}")
    print(f"name:         {bank.name or '-'}")
    print(f"copyright:    {data['copyright'] or '-'}")
    print(
        f"instruments:  {data['instrument_count']} "
        f"({melodic} melodic, {_count(data['drum_kits'], 'drum kit')})"
    )
    print(f"regions:      {data['regions']}")
    print(f"waves:        {data['waves']} ({data['sample_frames']} sample frames)")
    print(f"sample data:  {_mib(data['sample_memory'])} in memory (float32)")
    for key, value in bank.info.items():
        if key not in ("INAM", "ICOP") and value:
            print(f"{key + ':':<13} {value.splitlines()[0]}")
    print(f"warnings:     {len(bank.warnings)}")
    if args.instruments:
        for inst in data["instruments"]:
            patch = describe_patch(inst["patch"])
            print(f"  {patch:<22} {inst['regions']:>4} regions  {inst['name']}")
    return 0


def _check_downloads(bank: Bank) -> int:
    """Build and parse (the synth side, every check on) the downloads of every instrument."""
    waves: dict[int, Wave] = {}
    count = 0
    for buffer in build_bank_downloads(list(bank.instruments.values())):
        parsed = parse_download(buffer, waves)
        if isinstance(parsed, WaveDownload):
            waves[parsed.dl_id] = parsed.wave
        count += 1
    return count


def run_check(args: argparse.Namespace) -> int:
    bank = load_bank(args.file)
    downloads = _check_downloads(bank)
    for warning in bank.warnings:
        print(f"warning: {warning}")
    summary = (
        f"{len(bank.instruments)} instruments, {bank.region_count} regions, "
        f"{len(bank.waves)} waves, {downloads} download buffers"
    )
    if bank.warnings and not args.allow_warnings:
        print(f"{args.file}: {len(bank.warnings)} warning(s) ({summary})", file=sys.stderr)
        return 1
    note = f", {len(bank.warnings)} warning(s)" if bank.warnings else ""
    print(f"{args.file}: ok ({summary}{note})")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    _dls_name(args.output)  # before the input is read: a wrong name is a mistake in the command
    bank = load_bank(args.input)
    notes = save_dls(bank, args.output, level=args.level)
    for note in notes:
        print(f"note: {note}")
    size = os.path.getsize(args.output)
    print(
        f"wrote {args.output}: DLS level {args.level}, {len(bank.instruments)} instruments, "
        f"{bank.region_count} regions, {size} bytes"
    )
    return 0


def _dls_name(path: str) -> None:
    """The files written here hold DLS data: any other name would mislead every reader."""
    if not path.lower().endswith(".dls"):
        raise ConfigError(
            f"the output is a DLS file: its name must end in .dls, got {os.path.basename(path)!r}",
            key=path,
        )


def run_default(args: argparse.Namespace) -> int:
    from dmusd.banks import gm_bank

    if args.output:
        _dls_name(args.output)
        write_atomically(args.output, gm_bank.gm_dls_bytes())  # into an existing folder only
        print(f"wrote {args.output}: {gm_bank.SOFTWARE}")
        return 0
    bank = gm_bank.default_bank()
    print(f"{gm_bank.cache_path()}: {len(bank.instruments)} instruments, {gm_bank.SOFTWARE}")
    return 0
