"""Live-loop benchmark: every case of `gansmania bench`'s live part (visualizer.benchmarks.live).

    python -m bench.live --json bench/results/live.json [--seconds 15]

Runs `gansmania live --headless` on the demo track at 1280x720 from the `cpu` config at 256x256
and prints display fps, generator fps, audio->photon latency and the CPU use per thread.
Targets on a 2-core CPU: display >= 60 fps, generator >= 24 fps, latency median <= 60 ms.
"""

from __future__ import annotations

from rich.console import Console

from bench import parser
from visualizer.benchmarks import live
from visualizer.benchmarks.report import report


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--seconds", type=float, default=15.0, help="length of each run")
    args = options.parse_args()
    rows = live.run(seconds=args.seconds)
    report("live loop: cpu config 256x256 shown at 1280x720, demo track", live.COLUMNS, rows,
           json_path=args.json, extra={"targets": live.TARGETS, "seconds": args.seconds},
           console=Console(width=220))


if __name__ == "__main__":
    main()
