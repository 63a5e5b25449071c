"""Projection error and time: `gansmania project` on images the model was and was not trained on.

    OMP_NUM_THREADS=1 python -m bench.projection --json bench/results/projection.json --steps 300 --space w+ w

Targets: ``own``, the model's own image of seed 7 (reachable exactly); ``trained``, image 0 of
the dataset the bundled model was trained on (the procedural painter at recipe version 1,
read from git history at LEGACY_PAINTER since the painter changed; skipped outside a git
checkout); ``logo``, a synthetic logo drawn with PIL (never seen). Errors are between the
target and the projection as uint8 images: mean absolute error in 0..255 and PSNR (dB).
Each projection also writes its side-by-side PNG to --pictures.
"""

from __future__ import annotations

import subprocess
import types
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont
from rich.console import Console

from bench import parser
from training.generate import load_model, render_seeds, save_png
from training.projection import ProjectSettings, project, target_of
from visualizer.benchmarks.report import report
from visualizer.core.paths import model_path

LEGACY_PAINTER = "03347f4:training/procedural.py"  # the painter of models/default's dataset
COLUMNS = ("target", "space", "steps", "seconds", "s_per_step", "start_mae", "mae", "psnr_db",
           "loss")


def logo(size: int = 512) -> Image.Image:
    """A flat-colour logo: a disc with letters on it over a dark ground, and a bar below."""
    image = Image.new("RGB", (size, size * 3 // 4), (20, 20, 60))
    draw = ImageDraw.Draw(image)
    s = size / 512
    draw.ellipse((150 * s, 70 * s, 360 * s, 280 * s), fill=(240, 200, 40))
    draw.rectangle((60 * s, 300 * s, 450 * s, 340 * s), fill=(230, 60, 90))
    draw.text((180 * s, 140 * s), "GM", fill=(20, 20, 60), font=ImageFont.load_default(size=60 * s))
    return image


def trained_image(resolution: int) -> Image.Image | None:
    """Image 0 of dataset seed 0 as models/default was trained on it, or None without git."""
    try:
        source = subprocess.run(["git", "show", LEGACY_PAINTER], capture_output=True, text=True,
                                check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    painter = types.ModuleType("legacy_procedural")
    exec(compile(source, LEGACY_PAINTER, "exec"), painter.__dict__)  # our own past source
    return Image.fromarray(painter.render(seed=0, index=0, resolution=resolution))


def targets(generator: torch.nn.Module) -> dict[str, Image.Image]:
    found = {"own": Image.fromarray(next(render_seeds(generator, [7]))[1])}
    trained = trained_image(generator.img_resolution)
    if trained is not None:
        found["trained"] = trained
    found["logo"] = logo()
    return found


def measure(generator: torch.nn.Module, name: str, picture: Image.Image, *, steps: int,
            space: str, pictures: Path) -> dict:
    target = target_of(picture, resolution=generator.img_resolution,
                       channels=generator.img_channels)
    start = project(generator, target, ProjectSettings(steps=1, space=space, learning_rate=1e-12))
    found = project(generator, target, ProjectSettings(steps=steps, space=space))
    pictures.mkdir(parents=True, exist_ok=True)
    save_png(found.side_by_side(), pictures / f"{name}-{space.replace('+', 'plus')}.png")
    return {"target": name, "space": space, "steps": steps, "seconds": found.seconds,
            "s_per_step": found.seconds / steps, "start_mae": start.mean_abs_error,
            "mae": found.mean_abs_error, "psnr_db": found.psnr_db, "loss": found.loss}


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--model", type=Path, default=None, help="default: the bundled model")
    options.add_argument("--steps", type=int, default=300)
    options.add_argument("--space", nargs="+", default=["w+"], choices=("w", "w+"))
    options.add_argument("--only", nargs="+", default=None, help="targets: own, trained, logo")
    options.add_argument("--pictures", type=Path, default=Path("out/bench-projection"))
    args = options.parse_args()
    path = model_path(args.model)
    generator = load_model(path)
    rows = [measure(generator, name, picture, steps=args.steps, space=space,
                    pictures=args.pictures)
            for name, picture in targets(generator).items() if not args.only or name in args.only
            for space in args.space]
    report("projection: error and time", COLUMNS, rows, json_path=args.json,
           console=Console(width=160),
           extra={"model": path.name, "note": "mae: mean |target - projection| in 0..255 over "
                                              "pixels and channels; start_mae: at the average w"})


if __name__ == "__main__":
    main()
