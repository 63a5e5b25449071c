"""`gansmania bench`: parses its options and runs visualizer.benchmarks.suite."""

from __future__ import annotations

from pathlib import Path

import click

from visualizer.benchmarks import suite


@click.command()
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the results as JSON (same keys every run).")
@click.option("--quick", is_flag=True,
              help="Only the `cpu` config, fewer frames and batch sizes (about a minute).")
@click.option("--threads", type=click.IntRange(0, 256), default=0, show_default=True,
              help="CPU threads for torch and ONNX Runtime; 0 = one per core.")
def bench(json_path: Path | None, quick: bool, threads: int) -> None:
    """Benchmark this machine: generator backends per config, audio analysis, the live loop.

    Generator rows: ms per frame (median, p95) and fps at batch 1, and the throughput at the
    best batch size, for torch, ONNX Runtime and TensorRT on CPU and GPU; a backend that
    cannot run here gets a row saying why. Live rows run `gansmania live --headless` on the
    demo track: ms = audio->photon latency, fps_b1 = generator fps, display_fps. The big
    configs take seconds per frame on a CPU (the full run takes minutes; --quick runs the
    `cpu` config and one live case only).

    \b
    Example:
      gansmania bench --quick
      gansmania bench --json bench/results/latest.json
    """
    result = suite.run(quick=quick, json_path=json_path, threads=threads or None)
    ratio = result["onnxruntime_over_torch_cpu"]
    if ratio["median"] is not None:
        click.echo(f"ONNX Runtime vs torch eager, `cpu` config, batch 1, {ratio['rounds']} "
                   f"paired rounds: {ratio['median']:.2f}x fps (range {ratio['min']:.2f}-"
                   f"{ratio['max']:.2f})")
    if json_path is not None:
        click.echo(f"wrote {json_path}")
