"""The `live` part of `gansmania bench` (and all of `python -m bench.live`): `gansmania live
--headless` on the demo track, measured from its --stats.

Each case runs the real command in a fresh process (thread settings are read once per process),
shown at 1280x720 from the `cpu` generator config at 256x256 — the bundled model when there is
one, else random weights of the same architecture (same speed). Rows give display fps, generator
fps, audio->photon latency and where the CPU went (cores busy, by thread), so a missed target
says which part is short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COLUMNS = ("case", "backend", "fx_scale", "threads", "display_fps", "gen_fps", "latency_ms",
           "latency_p95_ms", "gen_ms", "dropped", "cpu_generator", "cpu_llvmpipe", "cpu_other",
           "load_1m")
TARGETS = {"display_fps": 60.0, "gen_fps": 24.0, "latency_ms": 60.0}


@dataclass(frozen=True)
class LiveCase:
    name: str
    backend: str = "auto"
    preset: str = "drift"  # the default look: zoom + flash
    fx_scale: float = 0.0  # 0 = auto
    threads: int = 0  # generator threads; 0 = the live default
    size: tuple[int, int] = (1280, 720)


CASES = (
    LiveCase("defaults (auto backend, auto fx_scale)"),
    LiveCase("torch backend", backend="torch"),
    LiveCase("fx_scale 1 (full-size FX)", fx_scale=1.0),
    LiveCase("2 generator threads", threads=2),
)


def run_case(case: LiveCase, *, model: Path, audio: Path, seconds: float, folder: Path) -> dict[str, Any]:
    """Run one case; its row (and the full stats under "stats")."""
    stats_path = folder / f"{abs(hash(case))}.json"
    command = [sys.executable, "-m", "visualizer.cli", "-q", "live", "--headless",
               "--model", str(model), "--input", str(audio), "--preset", case.preset,
               "--backend", case.backend, "--size", f"{case.size[0]}x{case.size[1]}",
               "--duration", str(seconds), "--stats", str(stats_path),
               "--set", f"display.fx_scale={case.fx_scale}", "--set", f"model.threads={case.threads}"]
    load = os.getloadavg()[0]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300)
    if result.returncode != 0:
        return {"case": case.name, "size": f"{case.size[0]}x{case.size[1]}", "backend": case.backend,
                "error": result.stderr.strip()[-300:]}
    stats = json.loads(stats_path.read_text())
    cpu = stats.get("cpu_cores", {})
    generator = cpu.get("generator", 0.0)
    llvmpipe = cpu.get("llvmpipe", 0.0)
    return {
        "case": case.name, "size": f"{case.size[0]}x{case.size[1]}", "backend": stats["backend"],
        "fx_scale": case.fx_scale or "auto",
        "threads": case.threads or "auto", "display_fps": stats["display_fps"],
        "gen_fps": stats["gen_fps"], "latency_ms": stats["latency_ms"]["median"],
        "latency_p95_ms": stats["latency_ms"]["p95"], "gen_ms": stats["generator_ms"]["median"],
        "dropped": stats["frames_dropped"],
        "cpu_generator": generator, "cpu_llvmpipe": llvmpipe,
        # Everything else: the render loop's Python, the audio threads, extra generator threads.
        "cpu_other": round(sum(cpu.values()) - generator - llvmpipe, 2), "load_1m": round(load, 2),
        "stats": stats,
    }


def bench_model(folder: Path) -> tuple[Path, str]:
    """(checkpoint, what it is): the bundled default model, or else a random-weight `cpu`
    config model saved in ``folder`` (speed does not depend on the weights)."""
    from visualizer.core.paths import bundled_model

    bundled = bundled_model()
    if bundled is not None:
        return bundled, "bundled default"
    import torch

    from training.checkpoint import save_generator
    from training.configs import CONFIGS
    from training.networks import Generator

    torch.manual_seed(0)
    path = save_generator(folder / "cpu-random.safetensors", Generator(CONFIGS["cpu"]).eval())
    return path, "cpu config, random weights"


def run(*, seconds: float = 15.0, cases: Sequence[LiveCase] = CASES) -> list[dict[str, Any]]:
    """Every case's row, on the bundled demo track."""
    from visualizer.audio.demo import demo_track_path

    with tempfile.TemporaryDirectory(prefix="gm-live-bench-") as tmp:
        folder = Path(tmp)
        model, _ = bench_model(folder)
        return [run_case(case, model=model, audio=demo_track_path(), seconds=seconds,
                         folder=folder) for case in cases]


def bench_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in `gansmania bench`'s shape (part "live"; ms = latency, fps_b1 = generator fps)."""
    return [{"part": "live", "backend": row.get("backend"), "config": "cpu", "res": 256,
             "ms_med": row.get("latency_ms"), "ms_p95": row.get("latency_p95_ms"),
             "fps_b1": row.get("gen_fps"), "display_fps": row.get("display_fps"),
             "note": f"{row['case']}, {row.get('size', '')}" + (f": {row['error']}" if "error" in row else "")}
            for row in rows]
