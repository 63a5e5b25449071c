"""`gansmania bench`: one table of what limits a show on this machine — every generator backend
per config, the audio analysis cost and the live loop (headless, fixed duration) — and the same
JSON shape every run."""

from __future__ import annotations

import os
from pathlib import Path

import click

# The columns of the one table (and of every JSON row; a value that does not apply is null).
# generator rows: ms per batch-1 frame, fps at batch 1, throughput at the best batch;
# audio rows: ms per analysis hop; live rows: ms = audio->photon latency, fps_b1 = generator
# fps inside the loop, display_fps = presented frames per second.
COLUMNS = ("part", "backend", "config", "res", "n", "ms_med", "ms_p95", "fps_b1", "best_batch",
           "fps_best", "display_fps", "note")
SCHEMA = 2  # bump when COLUMNS or the meaning of a column changes
AUDIO_SECONDS = 20.0  # of the demo track: ~3500 hops, a stable median and p95
LIVE_SECONDS = {False: 15.0, True: 5.0}  # per live case, full / --quick


def audio_rows(*, hop: int = 256) -> list[dict]:
    """Cost of the live feature extractor per hop on the bundled demo track (one thread)."""
    import soundfile

    from visualizer.audio.bench import hop_cost_us
    from visualizer.audio.demo import demo_track_path
    from visualizer.core.bench import percentiles

    audio, sr = soundfile.read(str(demo_track_path()), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)[: int(AUDIO_SECONDS * sr)]
    rows = []
    for detector in ("flux", "aubio"):
        wall_us, _ = hop_cost_us(audio, sr=sr, hop=hop, detector=detector)
        stats = percentiles(wall_us / 1000.0)
        hop_ms = hop / sr * 1000
        row = dict.fromkeys(COLUMNS)
        row.update(part="audio", backend=f"features ({detector} onsets)",
                   config=f"hop {hop} @ {sr} Hz", n=len(wall_us), ms_med=stats["median"],
                   ms_p95=stats["p95"],
                   note=f"{100 * stats['median'] / hop_ms:.1f}% of the {hop_ms:.2f} ms hop")
        rows.append(row)
    return rows


def live_rows(*, quick: bool) -> list[dict]:
    """`gansmania live --headless` on the demo track (visualizer.live_bench): every case in a
    full run, the first (default settings) with --quick."""
    from visualizer import live_bench

    cases = live_bench.CASES[:1] if quick else live_bench.CASES
    return live_bench.bench_rows(live_bench.run(seconds=LIVE_SECONDS[quick], cases=cases))


def run_bench(*, quick: bool, json_path: Path | None, threads: int | None = None) -> dict:
    """Run every part, print the table, write the JSON; returns the report dict."""
    from rich.console import Console

    from engine_build.benchmark import (CONFIG_NAMES, QUICK_CONFIGS, generator_rows,
                                        paired_speedup)
    from visualizer.core.bench import report

    rows = [{**dict.fromkeys(COLUMNS), **row} for row in generator_rows(
        configs=QUICK_CONFIGS if quick else CONFIG_NAMES, quick=quick, threads=threads)]
    rows += audio_rows()
    rows += [{**dict.fromkeys(COLUMNS), **row} for row in live_rows(quick=quick)]
    ratio = paired_speedup(config="cpu", threads=threads, rounds=4 if quick else 8)
    extra = {"schema": SCHEMA, "quick": quick, "threads": threads or os.cpu_count(),
             "onnxruntime_over_torch_cpu": ratio}
    return report("gansmania bench" + (" (quick)" if quick else ""), COLUMNS, rows,
                  json_path=json_path, extra=extra, console=Console(width=200))


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
    result = run_bench(quick=quick, json_path=json_path, threads=threads or None)
    ratio = result["onnxruntime_over_torch_cpu"]
    if ratio["median"] is not None:
        click.echo(f"ONNX Runtime vs torch eager, `cpu` config, batch 1, {ratio['rounds']} "
                   f"paired rounds: {ratio['median']:.2f}x fps (range {ratio['min']:.2f}-"
                   f"{ratio['max']:.2f})")
    if json_path is not None:
        click.echo(f"wrote {json_path}")
