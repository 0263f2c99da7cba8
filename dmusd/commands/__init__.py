"""Sub-commands of the `dmusd` CLI, one module each (see dmusd/cli.py)."""
