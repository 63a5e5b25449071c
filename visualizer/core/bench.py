"""Benchmark reports: every benchmark prints one table and writes JSON of the same shape.

The JSON carries the machine it ran on, so numbers from different commits and machines can be
compared side by side.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def machine_info() -> dict[str, Any]:
    """CPU model, core count, OS and the versions that shape the numbers."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


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


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99, min and max of ``samples`` (same unit in, same unit out)."""
    ordered = sorted(samples)
    if not ordered:
        return {"median": float("nan"), "p95": float("nan"), "p99": float("nan"),
                "min": float("nan"), "max": float("nan")}

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"median": statistics.median(ordered), "p95": pick(0.95), "p99": pick(0.99),
            "min": ordered[0], "max": ordered[-1]}


def report(name: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *,
           json_path: Path | None = None, extra: Mapping[str, Any] | None = None,
           console: Console | None = None) -> dict[str, Any]:
    """Print ``rows`` as a table with ``columns`` and write ``{name, machine, rows, ...}`` as JSON."""
    table = Table(title=name)
    for column in columns:
        table.add_column(column, justify="left" if column == columns[0] else "right")
    for row in rows:
        # escape: a cell like "pip install 'gansmania[trt]'" is text, not rich markup.
        table.add_row(*(escape(_fmt(row.get(c))) for c in columns))
    (console or Console()).print(table)
    result = {
        "benchmark": name,
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "rows": [dict(r) for r in rows],
        **(extra or {}),
    }
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
