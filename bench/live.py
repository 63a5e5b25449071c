"""Live-loop benchmark (logic: visualizer/live_bench.py).

    .venv/bin/python bench/live.py --json bench/results/live.json [--seconds 15]

Runs `gansmania live --headless` on the demo track at 1280x720 from the `cpu` config at 256x256
and prints display fps, generator fps, audio->photon latency and the CPU use per thread.
Targets on a 2-core CPU: display >= 60 fps, generator >= 24 fps, latency median <= 60 ms.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from visualizer import live_bench
from visualizer.core.bench import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each run")
    args = parser.parse_args()
    rows = live_bench.run(seconds=args.seconds)
    report("live loop: cpu config 256x256 shown at 1280x720, demo track", live_bench.COLUMNS,
           rows, json_path=args.json, extra={"targets": live_bench.TARGETS, "seconds": args.seconds},
           console=Console(width=220))


if __name__ == "__main__":
    main()
