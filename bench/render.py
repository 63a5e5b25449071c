"""Render benchmark: `gansmania render` speed as a multiple of real time, per output size.

    python -m bench.render --json bench/results/render.json
    python -m bench.render --segments 1 2 3 --seconds 30 --json bench/results/render_segments.json
    python -m bench.render --generator-batch 0 1 8 --seconds 20

A real song (the bundled demo track, looped to the requested length) rendered with the default
preset and the ``cpu`` model config — the bundled model when it exists, else random weights of
the same architecture (the same speed: the weights' values do not change the work). Two speeds
per row: the frame loop alone (what a long song approaches) and the whole command (model load,
backend start-up and encoder flush included). With ``--segments N``, the song is rendered in N
segments by N processes (`gansmania render --segments N`) and joined; its "loop" is the
segments' wall time (process start-up and each segment's replay of the song before it
included), the total adds the join. ``--generator-batch``: the generator painting ahead in
batches of that many frames on its own thread (the default, 1), or 0: in the render loop (the
frames are the same). ``cpu_ms``: the process's CPU time per frame in the frame loop (one
process), and in the JSON ``cpu_ms_by_thread``, split by thread: where a frame's work goes.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import parser
from visualizer.benchmarks.report import report
from visualizer.offline import GENERATOR_BATCH

COLUMNS = ("output", "segments", "batch", "fps", "gen_fps", "frames", "loop_s", "speed_x", "total_s",
           "total_x", "cpu_ms", "backend", "encoder")
SIZES = ((256, 256), (1280, 720))


def bench_song(folder: Path, *, seconds: float) -> Path:
    """The demo track looped to ``seconds`` (a WAV in ``folder``)."""
    import soundfile

    from visualizer.audio.demo import demo_track_path
    from visualizer.audio.filesource import load_audio

    audio, sr = load_audio(demo_track_path())
    repeats = int(np.ceil(seconds * sr / audio.shape[0]))
    song = np.concatenate([audio] * repeats)[:round(seconds * sr)]
    path = folder / "bench-song.wav"
    soundfile.write(str(path), song, sr)
    return path


class ThreadClock:
    """CPU time of this process's threads (Linux /proc) between two frames of a render, grouped
    by thread name: ms per frame. The render loop is the main thread; llvmpipe and the
    render's planner and generator name theirs; x264's and the recorder's inherit the main
    thread's name ("other"). Sampled ``margin`` frames inside the loop's ends: the planner and
    the generator end a few frames before the loop does."""

    def __init__(self, *, margin: int) -> None:
        self.margin = margin
        self._marks: list[tuple[int, dict[str, float]]] = []

    def progress(self, done: int, total: int) -> None:
        if done in (self.margin, total - self.margin):
            self._marks.append((done, _thread_seconds()))

    def per_frame_ms(self) -> dict[str, float] | None:
        if len(self._marks) != 2:
            return None  # a render too short for the margins
        (first, before), (last, after) = self._marks
        return {name: round((after[name] - before.get(name, 0.0)) * 1e3 / (last - first), 2)
                for name in sorted(after)}


def _thread_seconds() -> dict[str, float]:
    import os

    tick = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue  # ended since the listing
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()  # utime, stime: fields 14, 15 of stat(5)
        group = "render loop" if int(tid) == os.getpid() else "llvmpipe" \
            if name.startswith("llvmpipe") else name if name in ("planner", "generator") \
            else "other"
        seconds[group] = seconds.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return seconds


def run(*, seconds: float = 60.0, sizes: Sequence[tuple[int, int]] = SIZES, fps: float = 30.0,
        generator_fps: float = 0.0, backend: str = "auto", model: Path | None = None,
        preset: str | None = None, sets: Mapping[str, Any] | None = None,
        segments: Sequence[int] = (1,), batches: Sequence[int] = (GENERATOR_BATCH,),
        ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Render the song once per size, segment count (1: one process; N: N segments in N
    processes) and generator batch (0: painted in the render loop); (rows, extra facts for the
    report). ``sets``: more config keys ({dotted: value}), e.g. {"model.threads": 2}."""
    from visualizer.benchmarks.live import bench_model
    from visualizer.core.config import override
    from visualizer.offline import RenderJob, render_song
    from visualizer.segments import render_segmented
    from visualizer.settings import ShowConfig
    from visualizer.show import prepare_show

    rows = []
    with tempfile.TemporaryDirectory(prefix="gm-bench-render-") as tmp:
        folder = Path(tmp)
        model_path, model_kind = (model, str(model)) if model else bench_model(folder)
        song = bench_song(folder, seconds=seconds)
        for size in sizes:
            show = ShowConfig()
            for key, value in {"model.path": model_path, "model.backend": backend,
                               "display.size": tuple(size), "display.fps": fps,
                               "record.fps": fps, **(sets or {})}.items():
                show = override(show, key, value)
            for count, batch in itertools.product(segments, batches):
                job = RenderJob(audio=song, generator_fps=generator_fps, generator_batch=batch,
                                out=folder / f"render-{size[0]}x{size[1]}-{count}-{batch}.mp4")
                clock = ThreadClock(margin=10 + 3 * batch)
                if count > 1:
                    result = render_segmented(prepare_show(show, preset=preset), job,
                                              segments=count, jobs=count)
                else:
                    result = render_song(prepare_show(show, preset=preset), job,
                                         progress=clock.progress)
                by_thread = clock.per_frame_ms()
                rows.append({"output": f"{size[0]}x{size[1]}", "segments": count,
                             "batch": batch, "fps": fps,
                             "gen_fps": generator_fps or fps, "frames": result.frames,
                             "loop_s": result.render_s, "speed_x": result.loop_speed,
                             "total_s": result.wall_s, "total_x": result.speed,
                             "cpu_ms": sum(by_thread.values()) if by_thread else None,
                             "cpu_ms_by_thread": by_thread,
                             "backend": result.backend, "encoder": result.encoder})
    return rows, {"seconds": seconds, "model": model_kind, "preset": preset or "presets.default",
                  "sets": dict(sets or {})}


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--seconds", type=float, default=60.0, help="song length rendered (s)")
    options.add_argument("--fps", type=float, default=30.0, help="video frame rate")
    options.add_argument("--generator-fps", type=float, default=0.0,
                         help="generator frames per second (0 = one per video frame)")
    options.add_argument("--backend", default="auto", help="generator backend (model.backend)")
    options.add_argument("--model", type=Path,
                         help="checkpoint (default: bundled, else random cpu)")
    options.add_argument("--size", action="append", metavar="WxH",
                         help="output size (repeatable; default 256x256 and 1280x720)")
    options.add_argument("--segments", type=int, nargs="+", default=[1], metavar="N",
                         help="segment counts to render with, each by as many processes "
                              "(default 1: one process)")
    options.add_argument("--generator-batch", dest="batches", type=int, nargs="+",
                         default=[GENERATOR_BATCH], metavar="N",
                         help=f"generator batches to render with (default {GENERATOR_BATCH}; "
                              "0: painted in the render loop)")
    options.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                         help="another config key, e.g. model.threads=2 (repeatable)")
    args = options.parse_args()

    from visualizer.core.config import override, parse_assignment
    from visualizer.settings import ModelSettings
    from visualizer.show import configure_threads

    sets = dict(parse_assignment(text) for text in args.sets)
    model = ModelSettings()
    for key, value in sets.items():
        if key.startswith("model."):
            model = override(model, key.removeprefix("model."), value)
    configure_threads(model)  # as `gansmania render` does, before torch loads
    from visualizer.core.logs import setup_logging

    setup_logging(-1)  # warnings only: the table is the output
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.size] if args.size \
        else SIZES
    rows, extra = run(seconds=args.seconds, sizes=sizes, fps=args.fps,
                      generator_fps=args.generator_fps, backend=args.backend, model=args.model,
                      sets=sets, segments=args.segments, batches=args.batches)
    report("render", COLUMNS, rows, json_path=args.json, extra=extra)


if __name__ == "__main__":
    main()
