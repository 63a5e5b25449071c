"""`gansmania train` and `gansmania synth-dataset`. Only click is imported at module level so
`gansmania --help` stays fast; torch and the training code load inside the commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("synth-dataset")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", type=click.IntRange(1), default=5000, show_default=True,
              help="Number of images.")
@click.option("--res", "resolution", type=click.IntRange(8, 4096), default=256, show_default=True,
              help="Image size in pixels (square).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Dataset seed: the same seed paints the same images.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes painting in parallel.")
@click.option("--palettes", "palette_path", type=click.Path(exists=True, path_type=Path),
              help="Colours from real art: a palette JSON file (e.g. an earlier dataset's "
                   "palettes.json), or a folder or zip of images to measure one palette per image "
                   "from. Each painting draws one of them. Default: generated colour harmonies.")
def synth_dataset(out: Path, count: int, resolution: int, seed: int, workers: int,
                  palette_path: Path | None) -> None:
    """Paint a dataset of procedural abstract images: domain-warped noise, flow-field strokes,
    marbling, stained glass, hard-edge colour fields, circle packing, Truchet tiles, CPPNs and
    fractal flames, sometimes two composited through a shape with a blend mode.

    Writes OUT/00000/img00000000.png ... plus dataset.json and ATTRIBUTION.md, the layout
    `gansmania train` reads. Image i depends only on (seed, i) and the palettes: reruns are
    identical. With --palettes the palettes are saved as OUT/palettes.json.

    \b
    Example:
      gansmania synth-dataset data/abstract --count 5000 --res 256 --seed 0
      gansmania synth-dataset data/abstract-art --palettes data/art --count 5000
      gansmania train data/abstract --out runs/abstract --config cpu
    """
    from rich.progress import Progress

    from training.procedural import write_dataset
    from training.procedural_palettes import extract_palettes, load_palettes

    palettes = None
    if palette_path is not None:
        palettes = (load_palettes(palette_path) if palette_path.suffix.lower() == ".json"
                    else extract_palettes(palette_path))
    with Progress(transient=True) as bar:
        task = bar.add_task("painting", total=count)
        write_dataset(out, count=count, resolution=resolution, seed=seed, workers=workers,
                      palettes=palettes, progress=lambda done: bar.update(task, completed=done))
    click.echo(f"wrote {count} images ({resolution}x{resolution}) to {out}")


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder: snapshots, sample grids, TensorBoard logs, config.toml.")
@click.option("--config", "preset", default="cpu", show_default=True,
              help="Networks and recipe: cpu, 256, 512 or 1024.")
@click.option("--kimg", type=float, help="Train until this many thousand images were shown.")
@click.option("--batch", type=int, help="Total batch size (over all GPUs).")
@click.option("--gamma", type=float, help="R1 regularisation weight.")
@click.option("--aug", type=click.Choice(["ada", "fixed", "none"]), help="Augmentation mode.")
@click.option("--target", type=float, help="ADA target for E[sign(D(real))] (default 0.6).")
@click.option("--mirror/--no-mirror", default=None, help="Also train on x-flipped images.")
@click.option("--cond/--no-cond", default=None, help="Conditional on dataset.json labels.")
@click.option("--resume", help="'auto' = newest training state in --out, or a state file.")
@click.option("--transfer", type=click.Path(dir_okay=False, path_type=Path),
              help="Start from this checkpoint (ours or an imported NVlabs model).")
@click.option("--transfer-resolution", type=int,
              help="With --transfer: grow (or shrink) its networks to this output size; the "
                   "blocks both sizes have are loaded, the rest start fresh.")
@click.option("--transfer-top", type=click.Path(dir_okay=False, path_type=Path),
              help="With --transfer-resolution: the blocks the grown model lacks come from this "
                   "checkpoint at the new size (e.g. the model the transfer was shrunk from).")
@click.option("--snap", type=int, help="Ticks between snapshots.")
@click.option("--tick", "tick_kimg", type=float, help="Thousand images per tick.")
@click.option("--seed", type=int, help="Random seed.")
@click.option("--metrics-weights", type=click.Path(dir_okay=False, path_type=Path),
              help="Local TorchScript feature network (e.g. Inception) for FID/KID at snapshots.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train.")
@click.option("--threads", type=int, help="CPU threads for torch (0 = default).")
@click.option("--compile/--no-compile", "use_compile", default=None, help="torch.compile the main passes.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override any config key, e.g. --set loss.pl_weight=0 (repeatable).")
@click.option("--print-config", is_flag=True, help="Print the resolved config and exit.")
def train(data: Path, out: Path, preset: str, kimg, batch, gamma, aug, target, mirror, cond, resume,
          transfer, transfer_resolution, transfer_top, snap, tick_kimg, seed, metrics_weights, device, threads, use_compile,
          assignments: tuple[str, ...], print_config: bool) -> None:
    """Train a StyleGAN2-ADA generator on a folder or zip of images.

    Every --snap ticks it writes network-snapshot-*.safetensors (G_ema, for `gansmania generate`
    and `live --model`), a resumable training-state-*.safetensors, fakes-*.png from fixed seeds
    and TensorBoard scalars (`tensorboard --logdir OUT`). Several GPUs: run it under
    `torchrun --nproc_per_node=N -m visualizer.cli train ...`.

    \b
    Example:
      gansmania train data/abstract --out runs/abstract --config cpu --kimg 200
      gansmania train data/abstract --out runs/abstract --resume auto
      gansmania train data/art.zip --out runs/art --config 256 --mirror --transfer base.safetensors
      gansmania train data/art --out runs/art-128 --transfer runs/art-64/network-snapshot-X.safetensors --transfer-resolution 128
    """
    from training.loop import train as run_training
    from training.train_config import recipe
    from visualizer.core.config import override, parse_assignment, to_toml

    config = recipe(preset)
    options = {
        "data.path": str(data), "out": str(out), "schedule.kimg": kimg, "schedule.batch": batch,
        "loss.r1_gamma": gamma, "augment.mode": aug, "augment.target": target,
        "data.mirror": mirror, "data.labels": cond, "resume": resume,
        "transfer": str(transfer) if transfer else None,
        "transfer_resolution": transfer_resolution,
        "transfer_top": str(transfer_top) if transfer_top else None, "schedule.snap": snap,
        "schedule.tick_kimg": tick_kimg, "schedule.seed": seed,
        "metrics.weights": str(metrics_weights) if metrics_weights else None,
        "runtime.device": device, "runtime.threads": threads, "runtime.compile": use_compile,
    }
    for key, value in options.items():
        if value is not None:
            config = override(config, key, value, origin=f"--{key.split('.')[-1]}")
    for text in assignments:
        key, value = parse_assignment(text)
        config = override(config, key, value, origin="--set")
    if print_config:
        click.echo(to_toml(config), nl=False)
        return
    from training.snapshots import record_command

    record_command(config.out, ["gansmania", *sys.argv[1:]])
    run_dir = run_training(config)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only the first process says it
        click.echo(f"run folder: {run_dir}")


@click.command("train-lineage")
@click.argument("recipe_name", metavar="RECIPE")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Lineage folder: one run folder per stage, named as the stages are.")
@click.option("--until", help="Stop after this stage (e.g. to look at it before growing on).")
@click.option("--status", "show_status", is_flag=True,
              help="Print where each stage stands in OUT (kimg, CPU-hours, KID) and exit.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train.")
@click.option("--threads", type=int, help="CPU threads for torch (0 = default).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a train key in every stage, after the recipe (repeatable).")
def train_lineage(recipe_name: str, data: Path, out: Path, until: str | None, show_status: bool,
                  device: str | None, threads: int | None, assignments: tuple[str, ...]) -> None:
    """Grow a model through the stages of a lineage RECIPE (a .toml file, or a bundled name:
    `default`), each a `gansmania train` run in OUT/STAGE that starts from the stage before it.

    Run it again to go on: the newest stage that has begun resumes (--resume auto), and each
    later stage grows from the checkpoint the recipe picks (the previous stage's newest state,
    or its snapshot with the lowest in-training KID), carrying ADA's p over if it says so. Every
    stage's equivalent `gansmania train` command is written to its commands.txt.

    \b
    Example:
      gansmania train-lineage default data/mix-v2 --out ~/runs/lineage
      gansmania train-lineage default data/mix-v2 --out ~/runs/lineage --until 64px
      gansmania train-lineage default data/mix-v2 --out ~/runs/lineage --status
      gansmania train-lineage my-lineage.toml data/art --out runs/art --device cuda --set schedule.batch=32
    """
    from training.lineage import find_recipe, load_recipe, run_lineage, status
    from visualizer.core.config import parse_assignment

    recipe = load_recipe(find_recipe(recipe_name))
    if show_status:
        _echo_status(status(recipe, out))
        return
    extra = [parse_assignment(text) for text in assignments]
    extra += [(key, value) for key, value in (("runtime.device", device), ("runtime.threads", threads))
              if value is not None]
    run_dir = run_lineage(recipe, data=data, out=out, extra=extra, until=until)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only the first process says it
        click.echo(f"last stage: {run_dir}")


def _echo_status(rows) -> None:
    """training.lineage.status's rows as a table."""
    def cell(value: float | None, digits: int, scale: float = 1.0) -> str:
        return "-" if value is None else f"{value * scale:.{digits}f}"

    click.echo(f"{'stage':<12} {'px':>4} {'kimg':>15} {'CPU-h':>6} {'KID x1e3 now':>12} "
               f"{'best':>6}  grew from")
    for row in rows:
        kimg = f"{'-' if row.kimg_done is None else f'{row.kimg_done:g}'}/{row.kimg:g}" \
            + (" done" if row.done else "")
        click.echo(f"{row.name:<12} {row.resolution:>4} {kimg:>15} {cell(row.cpu_hours, 2):>6} "
                   f"{cell(row.kid_latest, 2, 1e3):>12} {cell(row.kid_best, 2, 1e3):>6}  "
                   f"{row.grown_from or '-'}")
