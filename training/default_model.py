"""Export a training snapshot as the bundled default model: a G_ema-only checkpoint
(``models/default.safetensors``, at most 20 MB), its model card (``default.md``) and a sample grid
(``default.png``, 64 fixed seeds).

    .venv/bin/python -m training.default_model /work/runs/default/network-snapshot-....safetensors

The card records the exact training command(s), kimg, wall time, machine and the dataset
recipe, read from the run folder beside the snapshot.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.checkpoint import load_checkpoint, load_generator, save_generator
from training.latents import z_from_seeds
from training.snapshots import grid_image, sample_grid
from visualizer.core.errors import GansmaniaError

MAX_BYTES = 20 * 1024 * 1024
CARD_SEEDS = range(64)  # the grid and the diversity test use these seeds


def sample(generator: torch.nn.Module, seeds, *, batch: int = 8) -> np.ndarray:
    """uint8 [N, C, R, R] images of ``seeds`` (z as `gansmania generate --seeds` makes them;
    constant noise, no truncation)."""
    z = z_from_seeds(seeds, generator.z_dim)
    return sample_grid(generator, z, torch.zeros([len(z), generator.c_dim]), batch=batch)


def export_default(snapshot: Path, out: Path, *, notes: Sequence[str] = ()) -> Path:
    """Write ``out`` (G_ema only), ``out.md`` (model card) and ``out.png`` (grid); return ``out``.

    ``notes``: lines for the card's Notes section (what the run folder cannot tell).
    """
    snapshot, out = Path(snapshot), Path(out)
    checkpoint = load_checkpoint(snapshot, groups=["G_ema"])
    generator = load_generator(snapshot)
    run_dir = snapshot.parent
    training = dict(checkpoint.training)
    provenance = dict(checkpoint.provenance)
    data = str(provenance.get("dataset", ""))
    commands = [portable(c, data=data, run_dir=run_dir) for c in _read_lines(run_dir / "commands.txt")]
    if data:
        provenance["dataset"] = f"data/{Path(data).name}"
    provenance.update({"source": "gansmania train (bundled default model)",
                       "licence": "MIT, like the code; trained only on procedurally painted images",
                       "parent": snapshot.name, "commands": commands})
    save_generator(out, generator, training=training, provenance=provenance)
    size = out.stat().st_size
    if size > MAX_BYTES:
        out.unlink()
        raise GansmaniaError(f"{out}: {size / 2**20:.1f} MB is over the 20 MB budget for a bundled model")
    images = sample(generator, CARD_SEEDS)
    grid_path = out.with_suffix(".png")
    grid_image(images, columns=8).save(grid_path)
    card = _card(out, generator, training, provenance, size, grid_path, notes)
    out.with_suffix(".md").write_text(card, encoding="utf-8")
    return out


def portable(text: str, *, data: str, run_dir: Path) -> str:
    """``text`` with this machine's paths of the dataset and the run folder replaced by their
    names (``data/NAME``, ``runs/NAME``): a card must not name where it was trained."""
    return (text.replace(str(Path(data).expanduser()), f"data/{Path(data).name}")
            .replace(str(run_dir), f"runs/{run_dir.name}"))


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if path.is_file() else []


def _card(out: Path, generator, training: dict[str, Any], provenance: dict[str, Any], size: int,
          grid: Path, notes: Sequence[str]) -> str:
    config = generator.config
    wall = float(training.get("wall_s", 0))
    machine = provenance.get("machine", {})
    recipe = provenance.get("dataset_recipe")
    commands = provenance.get("commands") or ["(not recorded)"]
    lines = [
        f"# {out.stem}: the bundled GANsmania model",
        "",
        f"A StyleGAN2 generator (config `{training.get('preset', '?')}`: {config.img_resolution}x"
        f"{config.img_resolution}, z/w {config.z_dim}/{config.w_dim}, channels "
        f"{config.channel_base}/{config.channel_max}, {sum(p.numel() for p in generator.parameters()):,} "
        f"parameters, {size / 2**20:.1f} MB) trained with `gansmania train` on procedurally painted "
        "abstract images. It is what `live`, `render` and `generate` use without `--model`.",
        "",
        "## Training",
        "",
        f"- kimg: {training.get('kimg')} (ticks: {training.get('tick')}), final ADA p: "
        f"{training.get('augment_p', 0):.3f}",
        f"- wall time: {wall / 3600:.1f} h ({wall:.0f} s), over all sessions",
        f"- machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, torch "
        f"{machine.get('torch', '?')}" + (f", GPU {machine['gpu']}" if machine.get("gpu") else ""),
        f"- snapshot: `{provenance.get('parent')}`",
        "- command(s), one per session (resumed with `--resume auto`):",
        "",
        *[f"      {c}" for c in commands],
        "",
        "## Dataset",
        "",
        f"- {provenance.get('dataset_images', '?')} images from `{provenance.get('dataset', '?')}`",
        "- recipe: " + (f"`{json.dumps(recipe)}`" if recipe else "(not recorded)"),
        "- regenerate: `gansmania synth-dataset DATA --count N --res R --seed S` (same seed, same images)",
        "",
        "## Samples",
        "",
        f"![64 samples, seeds 0-63]({grid.name})",
        "",
        "Seeds 0-63, truncation 1, constant noise (`gansmania generate --seeds 0-63 --grid`).",
        "",
    ]
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Export a snapshot as the bundled default model.")
    parser.add_argument("snapshot", type=Path, help="network-snapshot-*.safetensors of the run")
    parser.add_argument("--out", type=Path, default=Path("models/default.safetensors"))
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the card's Notes section (repeatable)")
    args = parser.parse_args()
    path = export_default(args.snapshot, args.out, notes=args.note)
    print(f"wrote {path}, {path.with_suffix('.md')}, {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
