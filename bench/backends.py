"""Generator backends compared: torch eager, ONNX Runtime (and TensorRT/CUDA where present),
ms/frame and fps at batch 1, throughput at the best batch, per named config — `gansmania
bench`'s generator part (visualizer.benchmarks.generator), with more choices.

    python -m bench.backends --json bench/results/backends.json
    python -m bench.backends --configs cpu --threads 1 2

Big configs take seconds per frame on a laptop CPU (the full run takes minutes).
"""

from __future__ import annotations

from rich.console import Console

from bench import parser
from visualizer.benchmarks.generator import (BACKENDS, COLUMNS, CONFIG_NAMES, generator_rows,
                                             paired_speedup)
from visualizer.benchmarks.report import report


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--configs", nargs="+", default=list(CONFIG_NAMES),
                         choices=CONFIG_NAMES)
    options.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    options.add_argument("--threads", nargs="+", type=int, default=[0],
                         help="CPU thread counts to run (0 = one per core)")
    options.add_argument("--quick", action="store_true", help="fewer frames and batch sizes")
    args = options.parse_args()
    rows, ratios = [], {}
    for threads in args.threads:
        run = generator_rows(configs=args.configs, backends=args.backends, quick=args.quick,
                             threads=threads or None)
        ratios[f"{threads or 'all'} threads"] = paired_speedup(config="cpu",
                                                                threads=threads or None)
        rows += run
    report("generator backends (batch 1 ms/frame, fps; throughput at the best batch)", COLUMNS,
           rows, json_path=args.json, console=Console(width=200),
           extra={"onnxruntime_over_torch_cpu": ratios})


if __name__ == "__main__":
    main()
