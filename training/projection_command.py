"""`gansmania project`: an image -> a keyframe file a preset's walk visits."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("project")
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint (.safetensors) or NVlabs pickle (.pkl); default: the bundled model.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Name of the results: OUT.w.safetensors and OUT.projection.png; "
                   "default: the image's name in the current folder.")
@click.option("--steps", type=click.IntRange(1, 100_000), default=300, show_default=True,
              help="Optimisation steps (0.2-0.4 s each for the bundled model on a 2-core CPU).")
@click.option("--space", type=click.Choice(["w", "w+"]), default="w+", show_default=True,
              help="w: one w for every layer (stays among the model's images); w+: one per "
                   "layer (reproduces images it was not trained on better).")
@click.option("--lr", "learning_rate", type=click.FloatRange(min=0.0, min_open=True),
              default=0.1, show_default=True, help="Peak Adam learning rate.")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A training-state-*.safetensors of the model's run: its discriminator's "
                   "features join the loss.")
@click.option("--features", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A TorchScript feature network (e.g. NVlabs' vgg16.pt for LPIPS) whose "
                   "features join the loss; nothing is downloaded.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the noise on w during the search.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Torch device.")
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True,
              help="CPU threads for torch (0 = torch's default: one per core).")
def project_command(image: Path, model: Path | None, out: Path | None, steps: int, space: str,
                    learning_rate: float, state: Path | None, features: Path | None, seed: int,
                    device: str, threads: int) -> None:
    """Find the w whose image looks like IMAGE and store it as a keyframe.

    Writes OUT.w.safetensors (the w or w+, the model's identity, the image, the final loss)
    and OUT.projection.png (target | projection). The loss needs no downloaded weights:
    pixels and edges on an image pyramid, plus the model's own discriminator (--state) or a
    feature network (--features) when given. List the keyframe among a preset's seeds:

    \b
      [controller.walk]
      seeds = [7, 77, "venue-logo.w.safetensors"]   # relative to the preset's folder

    \b
    Example:
      gansmania project venue-logo.png --out presets/venue-logo
      gansmania project photo.jpg --space w --steps 500 --state runs/x/training-state-000040-000040.safetensors
    """
    # Before torch loads OpenMP: idle workers sleep instead of spinning. On a busy machine
    # spinning threads wait for each other, and a step took 3-11 s instead of 0.2-0.4 s (as
    # visualizer.show.configure_threads does for a show). A value the user set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from training.projection import ProjectSettings, project_to_keyframe
    from training.projection_loss import describe_terms
    from visualizer.core.paths import model_path

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if threads:
        torch.set_num_threads(threads)
    settings = ProjectSettings(steps=steps, space=space, learning_rate=learning_rate, seed=seed)
    path = model_path(model)
    with Progress(TextColumn("projecting"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]:.4f} {task.fields[terms]}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("project", total=steps, loss=float("nan"), terms="")
        result = project_to_keyframe(
            image, model=path, out=out if out is not None else Path(image.stem),
            settings=settings, state=state, features=features, device=device,
            on_step=lambda step, loss, terms: bar.update(task, completed=step, loss=loss,
                                                         terms=describe_terms(terms)))
    found = result.projection
    click.echo(f"{image} -> {result.keyframe} ({found.space}, {found.steps} steps, "
               f"{found.seconds:.1f} s): loss {found.loss:.4f}, mean abs error "
               f"{found.mean_abs_error:.2f}/255, PSNR {found.psnr_db:.2f} dB; "
               f"side by side: {result.comparison}")
