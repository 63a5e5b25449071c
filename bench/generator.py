"""Generator speed: ms/frame and fps at batch 1 for each named config, fused vs non-fused
modulated convolution, torch eager, inference (no_grad), on this machine's CPU.

    python -m bench.generator --json bench/results/generator.json
    python -m bench.generator --configs cpu --iterations 200
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from bench import parser
from training.configs import CONFIGS, named_config
from training.networks import Generator
from visualizer.benchmarks.report import report
from visualizer.core.measure import percentiles

COLUMNS = ["config", "modconv", "res", "params_M", "n", "ms_med", "ms_p95", "ms_min", "fps",
           "map_ms"]
# Big configs take seconds per frame on a laptop CPU: time them with few iterations.
DEFAULT_ITERATIONS = {"cpu": 60, "256": 8, "512": 4, "1024": 2}


def time_generator(generator: Generator, *, fused: bool, iterations: int,
                   warmup: int = 2) -> list[float]:
    """Wall-clock ms of ``iterations`` synthesis calls at batch 1 ('const' noise), after
    ``warmup`` untimed ones (oneDNN picks its kernels on the first calls)."""
    ws = generator.mapping(torch.randn(1, generator.z_dim), None)
    samples = []
    for i in range(warmup + iterations):
        start = time.perf_counter()
        generator.synthesis(ws, noise_mode="const", fused_modconv=fused)
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def time_mapping(generator: Generator, *, iterations: int = 50) -> float:
    """Median ms of one mapping call (z -> ws) at batch 1."""
    z = torch.randn(1, generator.z_dim)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        generator.mapping(z, None)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)["median"]


def run(configs: Sequence[str] = tuple(CONFIGS), *, iterations: dict[str, int] | None = None,
        threads: int | None = None, warmup: int = 2) -> list[dict]:
    """One row per (config, fused/non-fused); ``threads`` sets torch's intra-op threads."""
    if threads is not None:
        torch.set_num_threads(threads)
    iterations = {**DEFAULT_ITERATIONS, **(iterations or {})}
    rows = []
    with torch.inference_mode():
        for name in configs:
            config = named_config(name)
            torch.manual_seed(0)
            generator = Generator(config).eval()
            params = sum(p.numel() for p in generator.parameters()) / 1e6
            count = iterations.get(name, 4)
            mapping_ms = time_mapping(generator, iterations=max(5, min(50, 10 * count)))
            for fused in (True, False):
                stats = percentiles(time_generator(generator, fused=fused, iterations=count,
                                                   warmup=warmup))
                rows.append({"config": name, "modconv": "fused" if fused else "nonfused",
                             "res": config.img_resolution, "params_M": round(params, 2),
                             "n": count, "ms_med": stats["median"], "ms_p95": stats["p95"],
                             "ms_min": stats["min"], "fps": 1000 / stats["median"],
                             "map_ms": mapping_ms})
            del generator
    return rows


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--configs", default=",".join(CONFIGS),
                         help=f"comma-separated configs (default: {','.join(CONFIGS)})")
    options.add_argument("--iterations", type=int, default=None,
                         help="timed frames per config and form (default: 60 for cpu, fewer for "
                              "the big configs)")
    options.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = options.parse_args()
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    iterations = {n: args.iterations for n in names} if args.iterations else None
    rows = run(names, iterations=iterations, threads=args.threads)
    report(f"generator: batch 1, torch eager, inference, {torch.get_num_threads()} threads",
           COLUMNS, rows, json_path=args.json,
           extra={"notes": "synthesis only ('const' noise); map_ms is z -> ws; n = timed "
                           "frames; the machine may be shared, so compare ms_min too"})


if __name__ == "__main__":
    main()
