"""What the studio shows besides jobs, read-only: the model library (checkpoints with their
cards and sample grids) and training runs (kimg, losses, ADA p, KID, the latest fakes grid).

Clients name a model or a run; the name is looked up in a listing made here, so no path from a
client is ever opened."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SNAPSHOT = re.compile(r"network-snapshot-(\d+)-(\d+)\.safetensors")
FAKES = re.compile(r"fakes-(\d+)-(\d+)\.png")
LOSSES = ("Loss/G/loss", "Loss/D/loss", "Loss/r1_penalty", "Progress/augment_p",
          "Timing/sec_per_kimg")


@dataclass(frozen=True)
class Model:
    name: str
    path: Path  # the checkpoint (.safetensors)
    card: Path | None  # NAME.md beside it (written by `gansmania card`)
    grid: Path | None  # NAME.png beside it: its sample grid

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size_mb": round(self.path.stat().st_size / 1e6, 1),
                "card": self.card is not None, "grid": self.grid is not None}


def list_models(folders: tuple[Path, ...]) -> dict[str, Model]:
    """Checkpoints in ``folders`` by name (file stem); an earlier folder wins a name clash (the
    user's folder first, as presets do)."""
    found: dict[str, Model] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.safetensors")) if Path(folder).is_dir() else ():
            beside = {suffix: path.with_suffix(suffix) for suffix in (".md", ".png")}
            found.setdefault(path.stem, Model(
                name=path.stem, path=path, card=beside[".md"] if beside[".md"].is_file() else None,
                grid=beside[".png"] if beside[".png"].is_file() else None))
    return dict(sorted(found.items()))


def list_runs(root: Path | None) -> dict[str, Path]:
    """Run folders (those with a snapshot, fakes or metrics) directly under ``root``, by name."""
    if root is None or not root.is_dir():
        return {}
    runs = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if (folder / "metrics.jsonl").is_file() or any(folder.glob("network-snapshot-*")) \
                or any(folder.glob("fakes-*.png")):
            runs[folder.name] = folder
    return runs


def latest_fakes(run: Path) -> Path | None:
    found = [(tuple(map(int, m.groups())), p) for p in run.glob("fakes-*.png")
             if (m := FAKES.fullmatch(p.name))]
    return max(found)[1] if found else None


def run_summary(run: Path) -> dict[str, Any]:
    """A run at a glance: kimg so far, snapshots, KID per snapshot (metrics.jsonl), the newest
    value of each loss and of ADA p (its TensorBoard scalars), the latest fakes grid."""
    snapshots = sorted(tuple(map(int, m.groups())) for p in run.glob("network-snapshot-*")
                       if (m := SNAPSHOT.fullmatch(p.name)))
    metrics = _metrics(run / "metrics.jsonl")
    scalars = _scalars(run)
    kimg = max([s[0] for s in snapshots] + [m["kimg"] for m in metrics]
               + [scalars.get("Progress/kimg", 0.0)])
    fakes = latest_fakes(run)
    return {"name": run.name, "kimg": round(kimg, 3), "snapshots": len(snapshots),
            "kid": [{"kimg": m["kimg"], "kid": m["kid"]} for m in metrics if "kid" in m],
            "losses": {name: value for name, value in scalars.items() if name in LOSSES},
            "fakes": fakes.name if fakes else None}


def _metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            line = json.loads(text)
        except ValueError:  # a line being written as we read: the next look has it
            continue
        if isinstance(line, dict) and isinstance(line.get("kimg"), int | float):
            lines.append(line)
    return lines


def _scalars(run: Path) -> dict[str, float]:
    """The newest value of every TensorBoard scalar in the run's event files."""
    files = sorted(run.glob("events.out.tfevents.*"))
    if not files:
        return {}
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    except ImportError:
        return {}
    newest: dict[str, tuple[int, float]] = {}
    for path in files:
        try:
            for event in EventFileLoader(str(path)).Load():
                for value in event.summary.value:
                    number = _scalar(value)
                    if number is not None and event.step >= newest.get(value.tag, (-1, 0))[0]:
                        newest[value.tag] = (event.step, number)
        except Exception as exc:  # a file cut short while training writes it
            log.debug("%s: %s", path, exc)
    return {tag: number for tag, (_, number) in newest.items()}


def _scalar(value) -> float | None:
    if value.HasField("simple_value"):
        return float(value.simple_value)
    if value.HasField("tensor") and value.tensor.float_val:
        return float(value.tensor.float_val[0])
    return None
