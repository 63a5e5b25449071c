"""Per-hop analysis cost (median, p99) and onset delay at hop 128 and 256.

    .venv/bin/python bench/audio_cost.py --json bench/results/audio_cost.json

Runs on one thread (BLAS threads pinned to 1) at 48 kHz on rendered music; the onset delay is
measured with clicks. Needs `make bench-packages` (fluidsynth) and the dev extra (mido).
"""

from __future__ import annotations

import os

# One core, as the live loop's analysis thread has: no BLAS thread pools.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

from rich.console import Console  # noqa: E402

from visualizer.audio.bench import COST_COLUMNS, cost_rows  # noqa: E402
from visualizer.core.bench import report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    report("audio per-hop cost and onset delay (48 kHz, one thread)", COST_COLUMNS,
           cost_rows(), json_path=args.json, console=Console(width=200))


if __name__ == "__main__":
    main()
