"""Fuzzing dmusd: coverage-guided atheris targets (one module each, runner.py shared) and the
seeded mutation bench (mutations.py). `python -m bench.fuzz` runs every atheris target in turn."""
