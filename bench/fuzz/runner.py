"""The shared runner of the coverage-guided fuzz targets (atheris: libFuzzer for Python).

A target module imports what it fuzzes under `instrumented()` (atheris adds coverage callbacks to
dmusd's bytecode as it is imported), names its seeds and its one-input function, and calls
`main()`. The runner then:
- writes the seeds (small valid inputs the project builds) to bench/out/fuzz/TARGET/seeds and
  fuzzes with bench/out/fuzz/TARGET/corpus as the growing corpus (new inputs go there);
- bounds each input in time and the process in memory: libFuzzer's -timeout= (seconds one input
  may take) and -rss_limit_mb=, and keeps inputs small with -max_len=; a target's defaults apply
  unless the command line gives its own;
- asserts the contract: an input either passes the target's own checks or fails with one of the
  target's typed dmusd errors (DmusdError subclasses), which must say what was wrong (a message)
  and where (an offset inside the input, when it gives one). Anything else escapes to atheris,
  which prints the traceback and writes the input as crash-SHA1 beside the corpus: a finding.

Every other libFuzzer flag passes through: `python -m bench.fuzz.sf2 -runs=100000`,
`python -m bench.fuzz.dls crash-1234` (replay one input), `-help=1`.
Modules that numba compiles are left uninstrumented: numba compiles from bytecode, and the
coverage callbacks are Python calls it cannot compile.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script (python bench/fuzz/sf2.py)
    sys.path.insert(0, str(REPO))

OUT = REPO / "bench" / "out" / "fuzz"
# Where numba compiles (or holds compiled code): instrumented bytecode would not compile there.
NUMBA_MODULES = (
    "dmusd.synth.engine",
    "dmusd.synth.effects",
    "dmusd.io.callback_entries",
    "dmusd.io.audio_sink",
    "dmusd.io.pa_output",
    "dmusd.resident",
    "dmusd.daemon",
    "dmusd.commands",
)


def _numba_modules() -> list[str]:
    """Every module under NUMBA_MODULES by name (atheris excludes exact names only)."""
    names = []
    for prefix in NUMBA_MODULES:
        path = REPO.joinpath(*prefix.split("."))
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        for file in files:
            parts = file.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@contextlib.contextmanager
def instrumented() -> Iterator[None]:
    """Imports inside get coverage instrumentation (dmusd only, numba's modules apart)."""
    import atheris

    with atheris.instrument_imports(include=["dmusd"], exclude=_numba_modules()):
        yield


def located(error: BaseException, data: bytes) -> None:
    """A typed error must say what and where: a message, and an offset inside the input."""
    message = getattr(error, "message", "")
    assert isinstance(message, str) and message, f"{type(error).__name__} without a message"
    offset = getattr(error, "offset", None)
    assert offset is None or 0 <= offset <= len(data), (
        f"{type(error).__name__} at offset {offset}, outside the {len(data)}-byte input: {error}"
    )
    str(error)  # the CLI prints it


def guarded(
    one_input: Callable[[bytes], None], typed: tuple[type[BaseException], ...]
) -> Callable[[bytes], None]:
    """The function atheris calls: a typed error is an answer, anything else a finding."""

    def test_one_input(data: bytes) -> None:
        try:
            one_input(data)
        except typed as error:
            located(error, data)

    return test_one_input


def _write_seeds(folder: Path, seeds: list[bytes]) -> None:
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for seed in seeds:
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)


def libfuzzer_argv(
    name: str, argv: list[str], seeds: list[bytes], max_len: int, timeout: int, rss_limit_mb: int
) -> list[str]:
    """argv with the target's defaults for what it does not set, and the corpus folders."""
    flags = [a for a in argv[1:] if a.startswith("-")]
    files = [a for a in argv[1:] if not a.startswith("-")]
    given = {a.split("=", 1)[0] for a in flags}
    out = Path(os.environ.get("DMUSD_FUZZ_OUT", OUT)) / name
    defaults = {
        "-timeout": str(timeout),
        "-rss_limit_mb": str(rss_limit_mb),
        "-max_len": str(max_len),
        "-artifact_prefix": f"{out}/",
        "-print_final_stats": "1",
    }
    flags += [f"{k}={v}" for k, v in defaults.items() if k not in given]
    if not files:  # fuzz: the growing corpus first (libFuzzer writes there), then the seeds
        corpus = out / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        _write_seeds(out / "seeds", seeds)
        files = [str(corpus), str(out / "seeds")]
    else:
        out.mkdir(parents=True, exist_ok=True)
    return [argv[0], *flags, *files]


def main(
    name: str,
    one_input: Callable[[bytes], None],
    seeds: Callable[[], list[bytes]],
    typed: tuple[type[BaseException], ...],
    *,
    max_len: int,
    timeout: int = 10,
    rss_limit_mb: int = 1024,
) -> None:
    """Fuzz one target with atheris until libFuzzer stops (-runs=, -max_total_time=, a finding)."""
    import atheris

    test_one_input = guarded(one_input, typed)
    for seed in seeds():  # every seed must pass the contract: else the target itself is wrong
        test_one_input(seed)
    argv = libfuzzer_argv(name, sys.argv, seeds(), max_len, timeout, rss_limit_mb)
    print(f"fuzz {name}: {' '.join(argv[1:])}", flush=True)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
