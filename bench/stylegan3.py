"""StyleGAN3 speed on the CPU: ms/frame and fps at batch 1 of a config-T (and R) generator, torch
eager (fused and non-fused modulated convolution) and ONNX Runtime on the exported graph, with
the live input transform set (a moving picture costs the same as a still one).

    python -m bench.stylegan3 --json bench/results/stylegan3.json
    python -m bench.stylegan3 --configs t256-cpu,t256 --threads 2 --iterations 3

Weights are random (seeded): speed does not depend on them.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from bench import parser
from engine_build.export import export_onnx
from training.configs import StyleGAN3Config, stylegan3_config
from training.networks import StyleGAN3Generator
from visualizer.backends.onnxruntime_backend import OnnxRuntimeGenerator
from visualizer.benchmarks.generator import time_run_batch
from visualizer.benchmarks.report import report
from visualizer.core.measure import percentiles

COLUMNS = ["config", "backend", "res", "params_M", "n", "ms_med", "ms_p95", "fps_b1",
           "export_s"]
# `t256`/`r256`: NVlabs' train.py defaults at 256 px. `t256-cpu`: channels cut 8x (128 at
# most), the scale our StyleGAN2 `cpu` config has.
CONFIGS: dict[str, StyleGAN3Config] = {
    "t256-cpu": stylegan3_config("stylegan3-t", img_resolution=256, channel_base=4096,
                                 channel_max=128),
    "t256": stylegan3_config("stylegan3-t", img_resolution=256),
    "r256": stylegan3_config("stylegan3-r", img_resolution=256),
}
MOTION = (0.05, -0.02, 10.0)  # translate_x, translate_y, rotate_deg
# The NVlabs-sized configs take tens of seconds per frame on a 2-core CPU: few timed frames.
DEFAULT_ITERATIONS = {"t256-cpu": 5, "t256": 2, "r256": 2}


def run(configs: Sequence[str], *, iterations: int | None, threads: int) -> list[dict]:
    """One row per (config, backend); ``iterations`` None = DEFAULT_ITERATIONS."""
    torch.set_num_threads(threads)
    rows = []
    for name in configs:
        config = CONFIGS[name]
        count = iterations or DEFAULT_ITERATIONS[name]
        torch.manual_seed(0)
        generator = StyleGAN3Generator(config).eval().requires_grad_(False)
        params = round(sum(p.numel() for p in generator.parameters()) / 1e6, 2)
        base = {"config": name, "res": config.img_resolution, "params_M": params, "n": count}

        for fused in (True, False):
            def torch_run(ws: np.ndarray, _gain: np.ndarray, fused=fused):
                motion = torch.tensor([MOTION] * len(ws), dtype=torch.float32)
                with torch.inference_mode():
                    return generator.synthesis(torch.from_numpy(ws), transform=motion,
                                               fused_modconv=fused)

            rows.append({**base, "backend": f"torch-cpu-{'fused' if fused else 'nonfused'}",
                         **_timed(torch_run, generator, count)})

        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            path = export_onnx(generator, Path(workdir) / f"{name}.onnx")
            export_s = time.perf_counter() - start
            session = OnnxRuntimeGenerator(path, threads=threads)
            motion = np.asarray([MOTION], dtype=np.float32)
            rows.append({**base, "backend": "onnxruntime-cpu", "export_s": round(export_s, 1),
                         **_timed(lambda ws, gain: session.run_batch(ws, gain, motion),
                                  generator, count)})
            session.close()
    return rows


def _timed(run_batch, generator: StyleGAN3Generator, iterations: int) -> dict:
    timing = time_run_batch(run_batch, num_ws=generator.num_ws, w_dim=generator.w_dim,
                            iterations=iterations, batches=(1,))
    stats = percentiles(timing.samples_ms)
    return {"ms_med": stats["median"], "ms_p95": stats["p95"], "fps_b1": 1000 / stats["median"]}


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--configs", default="t256-cpu,t256",
                         help=f"comma-separated, of: {', '.join(CONFIGS)} (default: t256-cpu,t256)")
    options.add_argument("--iterations", type=int, default=None,
                         help="timed frames per row (default: 5 for t256-cpu, 2 for the big ones)")
    options.add_argument("--threads", type=int, default=2,
                         help="torch and ONNX Runtime intra-op threads (default 2)")
    args = options.parse_args()
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        options.error(f"unknown configs {unknown}; allowed: {', '.join(CONFIGS)}")
    load_before = os.getloadavg()[0]
    rows = run(names, iterations=args.iterations, threads=args.threads)
    report(f"stylegan3: batch 1, CPU, {args.threads} threads, input transform set", COLUMNS,
           rows, json_path=args.json,
           extra={"load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                  "notes": "synthesis only, with translate/rotate; n = timed frames after 2 "
                           "untimed; load_average_1m before and after: on a shared machine "
                           "the numbers are slower than the CPU can do"})


if __name__ == "__main__":
    main()
