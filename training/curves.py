"""KID over training, from the ``metrics.jsonl`` that runs with metrics write at each snapshot:
a table that compares runs at equal CPU time, and the curves as a PNG (KID against CPU-hours).

Runs of different recipes show different numbers of images per CPU-second, so they are compared
where they cost the same: each run's KID is read at a common CPU time, between its snapshots
(linear), up to the time the shortest run has reached.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visualizer.core.errors import GansmaniaError


@dataclass(frozen=True)
class Curve:
    """One run's metrics: arrays in snapshot order."""

    name: str
    kimg: np.ndarray
    cpu_hours: np.ndarray
    kid: np.ndarray


def metric_lines(run_dir: Path) -> list[dict]:
    """The lines of RUN/metrics.jsonl in the order written ([] when there is none); a line that
    is not JSON is a one-line error naming it."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            lines.append(json.loads(text))
        except ValueError:
            raise GansmaniaError(f"{path}:{number}: not a JSON line") from None
    return lines


def read_curve(run_dir: Path) -> Curve:
    """The KID curve of the run in ``run_dir``; a run without metrics is a one-line error."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise GansmaniaError(f"{path}: no metrics here; train with --set metrics.art=true (or "
                             "--metrics-weights)")
    lines = metric_lines(run_dir)
    if not lines:
        raise GansmaniaError(f"{path}: empty; the run has not reached a snapshot yet")
    lines.sort(key=lambda line: line["cpu_s"])
    return Curve(name=Path(run_dir).name,
                 kimg=np.array([line["kimg"] for line in lines], float),
                 cpu_hours=np.array([line["cpu_s"] for line in lines], float) / 3600,
                 kid=np.array([line["kid"] for line in lines], float))


def grown_curves(run_dir: Path, lineage: Sequence[dict], *, resolution: int,
                 until_kimg: float = np.inf) -> list[Curve]:
    """The KID curve of a model grown through ``lineage`` (`--transfer-resolution` stages,
    earliest first, as ``lineage.json`` lists them), one Curve per stage on one CPU-hours axis:
    each earlier stage up to the state the next one started from, shifted by the CPU time of the
    stages before it; the run's own curve up to ``until_kimg`` (the exported snapshot). Each
    stage is scored against the data at its own size, so a curve shows the trend within its
    stage; the step between stages is a change of scale, not of quality. A stage whose run
    folder is not on this machine still counts in the shift."""
    curves, shift_h = [], 0.0
    for stage in lineage:
        folder = Path(stage.get("run_dir", ""))
        if (folder / "metrics.jsonl").is_file():
            curves.append(_stage(folder, resolution=stage.get("resolution"), shift_h=shift_h,
                                 until_kimg=float(stage.get("kimg") or np.inf)))
        shift_h += float(stage.get("cpu_s") or 0) / 3600
    return [*curves, _stage(run_dir, resolution=resolution, shift_h=shift_h, until_kimg=until_kimg)]


def _stage(run_dir: Path, *, resolution, shift_h: float, until_kimg: float) -> Curve:
    """One stage's curve up to ``until_kimg``, ``shift_h`` CPU-hours later, named with its size."""
    curve = read_curve(run_dir)
    upto = curve.kimg <= until_kimg + 1e-6
    return Curve(name=f"{curve.name} at {resolution} px", kimg=curve.kimg[upto],
                 cpu_hours=curve.cpu_hours[upto] + shift_h, kid=curve.kid[upto])


def at_equal_cpu(curves: list[Curve], *, points: int = 4) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """CPU-hours shared by all runs (``points`` of them, up to the shortest run's last
    snapshot) and each run's KID there, interpolated between its snapshots."""
    start = max(curve.cpu_hours[0] for curve in curves)
    end = min(curve.cpu_hours[-1] for curve in curves)
    hours = np.linspace(start, end, points) if end > start else np.array([end])
    return hours, {c.name: np.interp(hours, c.cpu_hours, c.kid) for c in curves}


def plot(curves: list[Curve], png: Path, *, title: str = "KID over training") -> None:
    """The curves, KID x 1e3 against CPU-hours (log KID), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.2), dpi=100)
    for curve in curves:
        axes.plot(curve.cpu_hours, np.maximum(curve.kid * 1e3, 1e-3), marker="o", markersize=3,
                  label=f"{curve.name} ({curve.kimg[-1]:g} kimg)")
    axes.set_yscale("log")
    axes.set_xlabel("CPU-hours (all threads of the training process)")
    axes.set_ylabel("KID x 1e3 (art statistics)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(png)
    pyplot.close(figure)
