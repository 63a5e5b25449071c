"""The `generator` part of `gansmania bench` (and all of `python -m bench.backends`): generator
backends compared, ms/frame (median, p95) and fps at batch 1, throughput at the best batch, per
backend and named config, and ONNX Runtime's speed-up over torch measured in alternating pairs
(``paired_speedup``).

Every candidate backend gets a row for every config, also where it cannot run here (its
metrics are then None and ``note`` says why), so the JSON has the same rows on every machine.
Timings are of the network call (``run_batch``: ws -> float image), without the uint8
conversion every backend shares. Weights are random (seeded): speed does not depend on them.
"""

from __future__ import annotations

import gc
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visualizer.core.measure import percentiles

log = logging.getLogger(__name__)

COLUMNS = ("part", "backend", "config", "res", "n", "ms_med", "ms_p95", "fps_b1",
           "best_batch", "fps_best", "note")
BACKENDS = ("torch-cpu", "onnxruntime-cpu", "torch-cuda", "onnxruntime-cuda", "tensorrt-fp16")
CONFIG_NAMES = ("cpu", "256", "512", "1024")
QUICK_CONFIGS = ("cpu",)
# Big configs take seconds per frame on a laptop CPU: few timed frames, small batches.
CPU_ITERATIONS = {"cpu": 40, "256": 6, "512": 3, "1024": 2}
QUICK_ITERATIONS = {"cpu": 15}
GPU_ITERATIONS = 50
CPU_BATCHES = {"cpu": (1, 2, 4, 8), "256": (1, 2, 4), "512": (1, 2), "1024": (1, 2)}
GPU_BATCHES = (1, 2, 4, 8, 16)
WARMUP = 2  # untimed calls: oneDNN/MLAS/cuDNN pick their kernels on the first ones

RunBatch = Callable[[np.ndarray, np.ndarray], object]


@dataclass(frozen=True)
class Timing:
    samples_ms: list[float]  # batch-1 frame times
    batch_fps: dict[int, float]  # batch -> frames per second (median call)


def time_run_batch(run_batch: RunBatch, *, num_ws: int, w_dim: int, iterations: int,
                   batches: Sequence[int], warmup: int = WARMUP,
                   sync: Callable[[], None] = lambda: None) -> Timing:
    """Batch-1 samples (ms) and fps per batch size of ``run_batch(ws, noise_gain)``.

    ``sync`` waits for queued GPU work (the CUDA backends return before it is done).
    """
    rng = np.random.default_rng(0)

    def timed(batch: int, count: int) -> list[float]:
        ws = rng.standard_normal((batch, num_ws, w_dim)).astype(np.float32)
        gain = np.ones([batch], dtype=np.float32)
        samples = []
        for i in range(warmup + count):
            start = time.perf_counter()
            run_batch(ws, gain)
            sync()
            if i >= warmup:
                samples.append((time.perf_counter() - start) * 1000)
        return samples

    single = timed(1, iterations)
    batch_fps = {1: 1000 / percentiles(single)["median"]}
    for batch in batches:
        if batch > 1:
            # Larger batches take longer per call: fewer calls keep the total time bounded.
            median = percentiles(timed(batch, max(1, iterations // batch)))["median"]
            batch_fps[batch] = batch * 1000 / median
    return Timing(single, batch_fps)


def _torch_runner(generator, device: str) -> tuple[RunBatch, Callable[[], None]]:
    import torch

    synthesis = generator.synthesis.to(device)

    def run(ws: np.ndarray, gain: np.ndarray):
        with torch.inference_mode():
            # fused_modconv=None: NVlabs' choice (grouped conv at inference), the fastest eager
            # form; fp16 blocks run in fp16 on CUDA.
            return synthesis(torch.from_numpy(ws).to(device), noise_mode="const",
                             noise_gain=torch.from_numpy(gain).to(device))

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return run, sync


def _backend_runner(backend: str, generator, onnx_path: Path, workdir: Path,
                    threads: int | None) -> tuple[RunBatch, Callable[[], None], int | None]:
    """(run_batch, sync, max batch or None) for ``backend``; raises when it cannot run."""
    from visualizer.backends import onnxruntime_backend, tensorrt_backend

    if backend in ("torch-cpu", "torch-cuda"):
        import torch

        device = backend.split("-")[1]
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA GPU")
        run, sync = _torch_runner(generator, device)
        return run, sync, None
    if backend.startswith("onnxruntime-"):
        device = backend.split("-")[1]
        status = onnxruntime_backend.availability(device)
        if not status.ok:
            raise RuntimeError(status.reason)
        session = onnxruntime_backend.OnnxRuntimeGenerator(onnx_path, device=device,
                                                           threads=threads)
        return session.run_batch, lambda: None, None
    if backend == "tensorrt-fp16":
        status = tensorrt_backend.availability()
        if not status.ok:
            raise RuntimeError(status.reason)
        import torch

        from engine_build.tensorrt_build import build_engine

        plan = build_engine(onnx_path, workdir / f"{onnx_path.stem}.plan", fp16=True,
                            max_batch=max(GPU_BATCHES))
        engine = tensorrt_backend.TensorRTGenerator(plan, precision="fp16")
        return engine.run_batch, torch.cuda.synchronize, engine.max_batch
    raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")


def generator_rows(*, configs: Sequence[str] = CONFIG_NAMES,
                   backends: Sequence[str] = BACKENDS, quick: bool = False,
                   threads: int | None = None) -> list[dict]:
    """One row per (backend, config): see the module docstring. ``threads``: CPU threads of
    torch and ONNX Runtime (default: one per core)."""
    import os

    import torch

    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)

    from engine_build.export import export_onnx
    from training.configs import named_config
    from training.networks import Generator

    rows = []
    with tempfile.TemporaryDirectory(prefix="gansmania-bench-") as tmp:
        workdir = Path(tmp)
        for name in configs:
            config = named_config(name)
            torch.manual_seed(0)
            generator = Generator(config).eval().requires_grad_(False)
            onnx_path = export_onnx(generator, workdir / f"{name}.onnx")
            for backend in backends:
                row = dict.fromkeys(COLUMNS)
                row.update(part="generator", backend=backend, config=name,
                           res=config.img_resolution, note=f"{threads} CPU threads")
                try:
                    run, sync, max_batch = _backend_runner(backend, generator, onnx_path,
                                                           workdir, threads)
                except (RuntimeError, ImportError, OSError) as exc:
                    row["note"] = f"unavailable: {exc}"
                    rows.append(row)
                    continue
                except Exception as exc:  # a backend failing must not lose the other rows
                    log.exception("%s on %s failed", backend, name)
                    row["note"] = f"failed: {type(exc).__name__}: {exc}"
                    rows.append(row)
                    continue
                on_gpu = backend.endswith(("cuda", "fp16"))
                iterations = (GPU_ITERATIONS if on_gpu else
                              (QUICK_ITERATIONS if quick else CPU_ITERATIONS).get(name, 2))
                batches = GPU_BATCHES if on_gpu else CPU_BATCHES.get(name, (1,))
                if quick:
                    batches = batches[:2]
                if max_batch is not None:
                    batches = [b for b in batches if b <= max_batch]
                timing = time_run_batch(run, num_ws=generator.num_ws, w_dim=generator.w_dim,
                                        iterations=iterations, batches=batches, sync=sync)
                stats = percentiles(timing.samples_ms)
                best = max(timing.batch_fps, key=timing.batch_fps.get)
                row.update(n=len(timing.samples_ms), ms_med=stats["median"],
                           ms_p95=stats["p95"], fps_b1=timing.batch_fps[1], best_batch=best,
                           fps_best=timing.batch_fps[best])
                rows.append(row)
                del run
                gc.collect()
            del generator
            gc.collect()
    return rows


def paired_speedup(*, config: str = "cpu", backend: str = "onnxruntime-cpu",
                   baseline: str = "torch-cpu", threads: int | None = None, rounds: int = 8,
                   block: int = 25) -> dict:
    """How many times faster ``backend`` runs ``config`` than ``baseline`` at batch 1, measured
    pair by pair: blocks of ``block`` frames alternate between the two, and each round's ratio
    is baseline median / backend median. A shared machine drifts in speed over seconds; the
    rows above time one backend after the other, so their fps ratio carries that drift.

    Returns {"median", "min", "max", "rounds"} (ratios; all None when either cannot run).
    """
    import os

    import torch

    from engine_build.export import export_onnx
    from training.configs import named_config
    from training.networks import Generator

    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    generator = Generator(named_config(config)).eval().requires_grad_(False)
    with tempfile.TemporaryDirectory(prefix="gansmania-bench-") as tmp:
        onnx_path = export_onnx(generator, Path(tmp) / f"{config}.onnx")
        try:
            runs = [_backend_runner(name, generator, onnx_path, Path(tmp), threads)[:2]
                    for name in (baseline, backend)]
        except (RuntimeError, ImportError, OSError) as exc:
            log.info("paired %s vs %s: %s", backend, baseline, exc)
            return {"median": None, "min": None, "max": None, "rounds": 0}

        def block_median(run: RunBatch, sync: Callable[[], None]) -> float:
            # the first WARMUP frames of a block let the other backend's threads go idle
            return percentiles(time_run_batch(run, num_ws=generator.num_ws,
                                              w_dim=generator.w_dim, iterations=block,
                                              batches=(1,), sync=sync).samples_ms)["median"]

        ratios = []
        for _ in range(rounds):
            base_ms, ms = (block_median(*run) for run in runs)
            ratios.append(base_ms / ms)
    return {"median": float(np.median(ratios)), "min": min(ratios), "max": max(ratios),
            "rounds": rounds}
