"""The engine_build package's subcommands (registered by visualizer.cli). Heavy imports stay inside the
command functions so `gansmania --help` stays fast."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("build-engine")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint (.safetensors) or NVlabs pickle (.pkl); default: the bundled model.")
@click.option("--format", "fmt", type=click.Choice(["onnx", "tensorrt"]), default="tensorrt",
              show_default=True, help="onnx: the graph (ONNX Runtime, any machine); tensorrt: "
                                      "an engine for this GPU (needs tensorrt 10 and CUDA).")
@click.option("--fp16/--fp32", default=True, show_default=True,
              help="TensorRT precision (fp16: the fast one; fp32: matches torch to 1e-3).")
@click.option("--max-batch", type=click.IntRange(1, 64), default=1, show_default=True,
              help="TensorRT: largest batch the engine accepts (the live loop uses 1).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write into this folder instead of the engine cache (created).")
def build_engine(model: Path | None, fmt: str, fp16: bool, max_batch: int,
                 out_dir: Path | None) -> None:
    """Export the generator to ONNX, or build a TensorRT engine, ahead of a show.

    `live` and `render` build what they need on first use and cache it (keyed by the
    model's hash, precision, GPU and TensorRT version); run this beforehand so the first
    show does not wait minutes for an engine build. The ONNX graph takes ws [B, num_ws,
    w_dim] and noise_gain [B] (truncation is applied to ws before the generator runs; a
    model trained with generator.use_noise=false has no noise_gain input).

    \b
    Example:
      gansmania build-engine --model models/abstract.safetensors --format onnx --out engines/
      gansmania build-engine --model models/abstract.safetensors --fp16 --max-batch 4
    """
    from engine_build.cache import ensure_engine, ensure_onnx, engines_dir
    from visualizer.core.paths import model_path as resolve

    model_path = resolve(model)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "onnx":
        out = out_dir / f"{model_path.stem}.onnx" if out_dir is not None else None
        path = ensure_onnx(model_path, progress=click.echo, out=out)
    else:
        precision = "fp16" if fp16 else "fp32"
        out = (out_dir / f"{model_path.stem}-{precision}-b{max_batch}.plan"
               if out_dir is not None else None)
        path = ensure_engine(model_path, precision=precision, max_batch=max_batch,
                             progress=click.echo, out=out)
    size_mb = path.stat().st_size / 1e6
    where = "" if out_dir is not None else f" (engine cache: {engines_dir()})"
    click.echo(f"ready: {path} ({size_mb:.1f} MB){where}")


COMMANDS: tuple = (build_engine,)
