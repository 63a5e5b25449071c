"""Benchmarks and their rigs. Each benchmark is a module run from the repository's root,

    python -m bench.NAME --json bench/results/NAME.json

that prints one table and writes its JSON through `visualizer.benchmarks.report` (the report of
`gansmania bench` too). ``rigs/`` holds what they and the tests share: a local fake web site,
the song renderer, the click-train onset probe. Nothing in the product imports this package.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every benchmark takes (``--json``), with ``doc`` (the module's docstring)
    as the help; a benchmark adds its own options to it."""
    options = argparse.ArgumentParser(description=doc,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--json", type=Path, default=None, help="also write the results here")
    return options
