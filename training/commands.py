"""The training package's subcommands (registered by visualizer.cli). Heavy imports stay inside the
command functions so `gansmania --help` stays fast."""

from pathlib import Path

import click

from training.configs import LAYER_GROUPS
from training.projection_command import project_command
from training.train_commands import synth_dataset, train, train_lineage


@click.command()
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint (.safetensors) or NVlabs pickle (.pkl); default: the bundled model.")
@click.option("--seeds", default="0-15", show_default=True,
              help="Seeds: a range 0-15, a list 1,5,9, or both 0-3,10.")
@click.option("--trunc", "truncation_psi", type=click.FloatRange(0.0, 2.0), default=1.0,
              show_default=True, help="Truncation psi: 1 = none, 0.5-0.8 = more typical images.")
@click.option("--trunc-cutoff", type=click.IntRange(min=1), default=None,
              help="Truncate only the first N w layers (coarse structure); default all.")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const",
              show_default=True, help="Per-layer noise: stored, random (seeded per image) or none.")
@click.option("--class", "class_idx", type=click.IntRange(min=0), default=None,
              help="Class label for conditional models.")
@click.option("--grid", is_flag=True, help="Also write grid.png with all seeds.")
@click.option("--non-fused", is_flag=True,
              help="Use the non-fused modulated conv (the ONNX/TensorRT form; same images).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Torch device.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (created).")
def generate(model: Path | None, seeds: str, truncation_psi: float, trunc_cutoff: int | None,
             noise_mode: str, class_idx: int | None, grid: bool, non_fused: bool, device: str,
             out_dir: Path) -> None:
    """Generate images from seeds: one PNG per seed (seedNNNN.png), optionally a grid.

    The same seed gives the same image on every run and machine (z from NumPy's seeded
    generator, as NVlabs' generate.py). The settings used go to OUT/generate.json.

    \b
    Example:
      gansmania generate --seeds 0-15 --trunc 0.7 --grid --out out/seeds
      gansmania generate --model network-snapshot.pkl --seeds 1,5,9 --out out/pkl
    """
    from training.generate import GenerateSettings, generate as run_generate
    from visualizer.core.paths import model_path
    from training.latents import parse_seeds

    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    settings = GenerateSettings(
        model=str(model_path(model)), seeds=tuple(parse_seeds(seeds)),
        truncation_psi=truncation_psi, truncation_cutoff=trunc_cutoff, noise_mode=noise_mode,
        class_idx=class_idx, fused_modconv=not non_fused, device=device, grid=grid)
    written = run_generate(settings, out_dir)
    click.echo(f"wrote {len(written)} images to {out_dir}")


@click.command("import-pkl")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "destination", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Checkpoint to write (.safetensors).")
@click.option("--network", default="G_ema", show_default=True,
              help="Which network of the snapshot to import.")
def import_pkl(source: Path, destination: Path, network: str) -> None:
    """Convert an NVlabs stylegan2-ada-pytorch or stylegan3 (T, R) pickle into a gansmania
    checkpoint.

    Nothing from the pickle is executed: a restricted unpickler reads only tensors and plain
    data (torch_utils and dnnlib are not needed).

    \b
    Example:
      gansmania import-pkl network-snapshot-000800.pkl --out models/abstract.safetensors
    """
    from training.checkpoint import load_generator
    from training.nvlabs_import import import_pickle

    path = import_pickle(source, destination, key=network)
    config = load_generator(path).config
    label = f", {config.c_dim} classes" if config.c_dim else ""
    click.echo(f"wrote {path}: {config.architecture}, {config.img_resolution}x"
               f"{config.img_resolution}, z {config.z_dim}, "
               f"w {config.w_dim}, channels {config.channel_base}/{config.channel_max}{label}")


@click.command("kid")
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.argument("candidates", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--images", type=click.IntRange(min=4), default=2000, show_default=True,
              help="Images per set (the reference takes every other one of its first 2x).")
@click.option("--res", "resolution", type=click.IntRange(8, 4096), default=256, show_default=True,
              help="Size folders are loaded at.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the table as JSON.")
def kid_command(data: Path, candidates: tuple[Path, ...], images: int, resolution: int,
                json_out: Path | None) -> None:
    """KID and FID of models and image folders against a dataset, in built-in art statistics.

    The features (training.art_features) need no download: colour layout, colour spread,
    edges at three scales, and how the energy splits over spatial scales. A model (.safetensors
    or .pkl) is sampled from seeds 0..N-1 at truncation 1; a folder is read as a dataset. The
    first row scores the other half of DATA itself: the floor that sampling noise leaves. A
    second table reads each set back as sharpness, colourfulness, composition and its share of
    flat pictures.

    \b
    Example:
      gansmania kid data/art models/default.safetensors runs/art/network-snapshot-000040.safetensors
      gansmania kid data/art data/procedural --images 1000 --json kid.json
    """
    from training.art_features import READING_COLUMNS, READINGS_LEGEND
    from training.kid_sets import compare_sets

    rows = compare_sets(data, candidates, images=images, resolution=resolution)
    click.echo(f"{'set':<48} {'images':>6} {'KID x1e3':>14} {'FID':>8}")
    for row in rows:
        click.echo(f"{row.name:<48} {row.images:>6} {row.kid * 1e3:>8.3f} ±{row.kid_std * 1e3:<5.3f}"
                   f" {row.fid:>8.3f}")
    click.echo(f"\n{'set':<48} {' '.join(READING_COLUMNS)}")
    for row in rows:
        cells = zip(row.readings.cells(), READING_COLUMNS, strict=True)
        click.echo(f"{row.name:<48} {' '.join(f'{cell:>{len(title)}}' for cell, title in cells)}")
    click.echo(f"({READINGS_LEGEND})")
    if json_out is not None:
        import dataclasses
        import json

        json_out.write_text(json.dumps({"reference": str(data), "extractor": "art",
                                        "rows": [dataclasses.asdict(r) for r in rows]}, indent=2)
                            + "\n", encoding="utf-8")


@click.command("curves")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw KID against CPU-hours to this PNG.")
@click.option("--points", type=click.IntRange(min=1), default=4, show_default=True,
              help="Common CPU times at which the runs are compared.")
def curves_command(runs: tuple[Path, ...], png: Path | None, points: int) -> None:
    """Compare training runs at equal CPU time by the KID their snapshots logged.

    Reads RUN/metrics.jsonl of runs trained with `--set metrics.art=true` (or
    --metrics-weights) and prints each run's KID at common CPU times, read between its
    snapshots, up to where the shortest run has got.

    \b
    Example:
      gansmania curves runs/cpu256 runs/cpu128 --png kid.png
    """
    from training.curves import at_equal_cpu, plot, read_curve

    curves = [read_curve(run) for run in runs]
    hours, kids = at_equal_cpu(curves, points=points)
    click.echo(f"{'run':<28} {'kimg':>7} " + " ".join(f"{h:>9.2f}h" for h in hours)
               + "   (KID x1e3 at equal CPU-hours)")
    for curve in curves:
        click.echo(f"{curve.name:<28} {curve.kimg[-1]:>7g} "
                   + " ".join(f"{k * 1e3:>10.3f}" for k in kids[curve.name]))
    if png is not None:
        plot(curves, png)
        click.echo(f"curves: {png}")


@click.command("directions")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--method", type=click.Choice(["sefa", "pca", "both"]), default="both",
              show_default=True, help="SeFa (factorise the style weights), PCA of sampled w, or both.")
@click.option("--count", type=click.IntRange(1, 4096), default=16, show_default=True,
              help="Directions per method (at most w_dim).")
@click.option("--samples", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Random z mapped to w for the PCA and the scales.")
@click.option("--layers", type=click.Choice(LAYER_GROUPS), default="all", show_default=True,
              help="w layers whose style weights SeFa factorises and that the directions move.")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Contact sheet PNG; default MODEL.directions.png.")
@click.option("--force", is_flag=True, help="Forget the names given in MODEL.directions.toml.")
def directions_command(model: Path, method: str, count: int, samples: int, layers: str,
                       sheet: Path | None, force: bool) -> None:
    """Find interpretable directions in a model's w space and store them beside it.

    Writes MODEL.directions.safetensors (unit vectors in w, their variance/eigenvalue and
    scale), MODEL.directions.toml (a name per direction: edit them; a re-run keeps them) and
    a contact sheet (each direction from -3 to +3 std over a few seeds) to name them by. A
    show with this model then steers harmony along its first twelve PCA directions, and
    presets may name a direction (controller.pulse.direction = "warmth").

    \b
    Example:
      gansmania directions models/default.safetensors
      gansmania directions my.safetensors --method sefa --layers coarse --count 8
    """
    import time

    from training.direction_files import save_directions, sheet_file
    from training.direction_sheet import contact_sheet
    from training.directions import METHODS, find_directions
    from training.generate import load_model
    from visualizer.core.paths import model_path

    path = model_path(model)
    generator = load_model(path)
    started = time.perf_counter()
    found = find_directions(generator, methods=METHODS if method == "both" else (method,),
                            count=count, samples=samples, layers=layers)
    found_s = time.perf_counter() - started
    stored = save_directions(path, found, samples=samples, force=force)
    click.echo(f"{'name':<24} {'method':<6} {'index':>5} {'layers':<12} {'share':>7} {'scale':>8}")
    for d in stored.entries:
        click.echo(f"{d.name:<24} {d.method:<6} {d.index:>5} {d.layers:<12} {d.share:>7.2%} "
                   f"{d.scale:>8.4f}")
    started = time.perf_counter()
    sheet = sheet or sheet_file(path)
    contact_sheet(generator, stored.entries).save(sheet)
    click.echo(f"directions: {stored.path} (names: {stored.path.with_suffix('.toml')}), "
               f"found in {found_s:.2f} s from {samples} w; sheet: {sheet} "
               f"({time.perf_counter() - started:.1f} s)")


COMMANDS: tuple = (train, train_lineage, synth_dataset, generate, import_pkl, kid_command,
                   curves_command, directions_command, project_command)
