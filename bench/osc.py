"""OSC flood benchmark (logic: visualizer/control/osc_bench.py).

    .venv/bin/python bench/osc.py --json bench/results/osc.json [--seconds 10] [--rate 5000]

Runs `gansmania live --headless --osc-port P` (a small random generator, the demo track,
640x360 at 60 fps) three times: OSC on but quiet, flooded with 5,000 valid messages a second
from another process, and flooded with a client subscribed to the state feed. Prints display
fps against the target and the quiet run, and messages sent / received / applied / lost.
Pause other heavy work (training) while it runs: the numbers are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from visualizer.control import osc_bench
from visualizer.core.bench import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--rate", type=int, default=5000, help="flood rate, messages a second")
    parser.add_argument("--fps", type=float, default=60.0, help="the render loop's target rate")
    args = parser.parse_args()
    cases = tuple(osc_bench.FloodCase(case.name.replace("5000", str(args.rate)),
                                      rate=args.rate if case.rate else 0, subscribe=case.subscribe)
                  for case in osc_bench.CASES)
    rows = osc_bench.run(seconds=args.seconds, fps=args.fps, cases=cases)
    report(f"OSC flood: {args.rate} msg/s for {args.seconds:g} s into `live --headless` "
           f"(640x360, target {args.fps:g} fps)", osc_bench.COLUMNS, rows, json_path=args.json,
           extra={"seconds": args.seconds, "rate": args.rate}, console=Console(width=200))


if __name__ == "__main__":
    main()
