"""Training speed (s/kimg) of the `cpu` and `256` configs here, beside NVlabs' V100 figure.

    .venv/bin/python bench/train.py --json bench/results/train.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from training.benchmark_train import COLUMNS, rows
from visualizer.core.bench import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-256", type=int, default=8,
                        help="batch for the 256 config (64 in training; smaller keeps a CPU run short)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    batches = {"256": args.batch_256} if args.device == "cpu" else {}
    result = rows(batches=batches, device=args.device, repeats=args.repeats)
    report("train: seconds per thousand images", COLUMNS, result, json_path=args.json,
           console=Console(width=160),
           extra={"note": "amortised over the lazy-regularisation schedule; ADA on (p=0.5); "
                          "data loading excluded"})


if __name__ == "__main__":
    main()
