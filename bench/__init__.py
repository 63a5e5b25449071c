"""Benchmarks and their rigs. Each benchmark is a module run from the repository's root,

    python -m bench.NAME --json bench/results/NAME.json

that prints one table and writes its JSON through `visualizer.benchmarks.report` (the report of
`gansmania bench` too). ``rigs/`` holds what they and the tests share: a local fake web site,
the song renderer, the click-train onset probe. Nothing in the product imports this package.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every benchmark takes (``--json``), with ``doc`` (the module's docstring)
    as the help; a benchmark adds its own options to it."""
    options = argparse.ArgumentParser(description=doc,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--json", type=Path, default=None, help="also write the results here")
    return options


def median_beat_phase(beats_s: np.ndarray, first_beat_s: float, bpm: float) -> float:
    """Median phase of ``beats_s`` on a true beat grid at ``bpm`` from ``first_beat_s``, in
    periods (-0.5..0.5; 0: on the beat); nan when there are none."""
    if not len(beats_s):
        return float("nan")
    return float(np.median(((np.asarray(beats_s) - first_beat_s) * bpm / 60.0 + 0.5) % 1.0 - 0.5))


def rows_by_set(doc: str, sets: Mapping[str, Sequence], rows_of: Callable[[Sequence, str], list[dict]],
                summary_of: Callable[[list[dict], str], dict]) -> tuple[list[dict], Path | None]:
    """For a benchmark over named sets (a tuning and a held-out one): parse ``--set`` (one
    name, or all) and ``--json``; return the chosen sets' rows, then one summary row per set,
    and the JSON path."""
    options = parser(doc)
    options.add_argument("--set", choices=(*sets, "all"), default="tuning")
    args = options.parse_args()
    rows, summaries = [], []
    for name, items in sets.items():
        if args.set in (name, "all"):
            part = rows_of(items, name)
            rows += part
            summaries.append(summary_of(part, name))
    return rows + summaries, args.json
