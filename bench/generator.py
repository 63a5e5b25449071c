"""Generator benchmark: ms/frame and fps at batch 1 per config, fused vs non-fused modulated
conv, torch eager on this machine's CPU.

    .venv/bin/python bench/generator.py --json bench/results/generator.json
    .venv/bin/python bench/generator.py --configs cpu --iterations 200
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training import benchmark
from training.configs import CONFIGS
from visualizer.core.bench import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated configs (default: {','.join(CONFIGS)})")
    parser.add_argument("--iterations", type=int, default=None,
                        help="timed frames per config and form (default: 60 for cpu, fewer for "
                             "the big configs)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    iterations = {n: args.iterations for n in names} if args.iterations else None
    rows = benchmark.run(names, iterations=iterations, threads=args.threads)
    report(f"generator: batch 1, torch eager, inference, {torch.get_num_threads()} threads",
           benchmark.COLUMNS, rows, json_path=args.json,
           extra={"notes": "synthesis only ('const' noise); map_ms is z -> ws; n = timed "
                           "frames; the machine may be shared, so compare ms_min too"})


if __name__ == "__main__":
    main()
