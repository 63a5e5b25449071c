"""`gansmania bench`: one table of what limits a show on this machine — every generator backend
per config, the audio analysis cost and the live loop (headless, fixed duration) — and the same
JSON shape every run."""

from __future__ import annotations

import os
from pathlib import Path

# The columns of the one table (and of every JSON row; a value that does not apply is null).
# generator rows: ms per batch-1 frame, fps at batch 1, throughput at the best batch;
# audio rows: ms per analysis hop; live rows: ms = audio->photon latency, fps_b1 = generator
# fps inside the loop, display_fps = presented frames per second.
COLUMNS = ("part", "backend", "config", "res", "n", "ms_med", "ms_p95", "fps_b1", "best_batch",
           "fps_best", "display_fps", "note")
SCHEMA = 2  # bump when COLUMNS or the meaning of a column changes
AUDIO_SECONDS = 20.0  # of the demo track: ~3500 hops, a stable median and p95
LIVE_SECONDS = {False: 15.0, True: 5.0}  # per live case, full / --quick


def run(*, quick: bool, json_path: Path | None, threads: int | None = None) -> dict:
    """Run every part, print the table, write the JSON; returns the report dict. ``quick``:
    the `cpu` config, fewer frames and batch sizes, and the first (default) live case only."""
    from rich.console import Console

    from visualizer.benchmarks import audio, generator, live
    from visualizer.benchmarks.report import report

    cases = live.CASES[:1] if quick else live.CASES
    rows = generator.generator_rows(configs=generator.QUICK_CONFIGS if quick
                                    else generator.CONFIG_NAMES, quick=quick, threads=threads)
    rows += audio.rows(seconds=AUDIO_SECONDS)
    rows += live.bench_rows(live.run(seconds=LIVE_SECONDS[quick], cases=cases))
    rows = [{**dict.fromkeys(COLUMNS), **row} for row in rows]
    ratio = generator.paired_speedup(config="cpu", threads=threads, rounds=4 if quick else 8)
    extra = {"schema": SCHEMA, "quick": quick, "threads": threads or os.cpu_count(),
             "onnxruntime_over_torch_cpu": ratio}
    return report("gansmania bench" + (" (quick)" if quick else ""), COLUMNS, rows,
                  json_path=json_path, extra=extra, console=Console(width=200))
