"""A long song on many workers: `gansmania render SONG --segments N [--jobs K]`.

The whole render's frames are cut into ``N`` segments, each starting on a keyframe of the
whole render (a multiple of the GOP, record.keyframe_s). A segment is a render of its frames
alone (`render_segment`, video only): it replays the song from its start without painting
(`visualizer.offline`), so its state at its first frame is the whole render's, and its file is
encoded with independent GOPs, so its frames decode as the whole render's do. `join_segments`
copies their packets one after the other into one file and adds the song's audio once
(`visualizer.record.concat`): nothing is encoded twice.

`render_segmented` runs the segments in ``K`` processes on this machine (spawned: each has its
own GL context and generator) and joins them; a distributed job calls `render_segment` on each
worker and `join_segments` once, with the same show and job.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visualizer.core.errors import GansmaniaError
from visualizer.offline import Progress, RenderJob, RenderResult

if TYPE_CHECKING:
    from visualizer.settings import RecordSettings
    from visualizer.show import Show

log = logging.getLogger(__name__)

MAX_SEGMENTS = 256
PROGRESS_POLL_S = 0.2  # how often the parent collects the segments' progress


@dataclass(frozen=True)
class Segment:
    """Frames [first, stop) of a render: segment ``index`` (0-based) of ``count``."""

    index: int
    count: int
    first: int
    stop: int

    @property
    def name(self) -> str:
        return f"segment {self.index + 1}/{self.count} (frames {self.first}..{self.stop - 1})"


def plan_segments(show: Show, job: RenderJob, count: int) -> list[Segment]:
    """``job``'s frames in up to ``count`` segments of whole GOPs (fewer when the render has
    fewer keyframes than that). GansmaniaError for a count out of range or a bad job."""
    return plan_record_segments(show.config.record, job, count)


def plan_record_segments(record: RecordSettings, job: RenderJob, count: int) -> list[Segment]:
    """`plan_segments` from the record settings alone (no look, no threads set up: for a
    process that only queues the segments)."""
    from visualizer.audio.filesource import load_audio
    from visualizer.offline import render_frames, render_span
    from visualizer.record.writer import keyframe_interval

    if not 1 <= count <= MAX_SEGMENTS:
        raise GansmaniaError(f"--segments {count}: allowed 1..{MAX_SEGMENTS}")
    audio, sr = load_audio(Path(job.audio))
    start_s, end_s = render_span(job, song_s=audio.shape[0] / sr)
    total = render_frames(start_s, end_s, record.fps)
    return split_frames(total, count, gop=keyframe_interval(record.fps, record.keyframe_s))


def split_frames(total: int, count: int, *, gop: int) -> list[Segment]:
    """Frames [0, total) in up to ``count`` near-equal segments, each starting on a multiple of
    ``gop`` (a keyframe)."""
    # Each cut at the keyframe nearest to its even share; cuts that meet are one.
    cuts = sorted({round(i * total / count / gop) * gop for i in range(count)})
    cuts = [cut for cut in cuts if cut < total] + [total]
    count = len(cuts) - 1
    return [Segment(i, count, cuts[i], cuts[i + 1]) for i in range(count)]


def segment_path(folder: Path, out: Path, segment: Segment) -> Path:
    # MP4 whatever the joined file is: its packets carry decode times, Matroska's B-frames don't.
    return folder / f"{out.stem}.{segment.index + 1:03d}-of-{segment.count:03d}.mp4"


def render_segment(show: Show, job: RenderJob, segment: Segment, out: Path, *,
                   progress: Progress | None = None) -> RenderResult:
    """Render ``segment``'s frames of ``job`` (video only) to ``out``."""
    from visualizer.offline import render_song

    part = dataclasses.replace(job, out=out, part=(segment.first, segment.stop), audio_track=False)
    return render_song(show, part, progress=progress)


def join_segments(show: Show, job: RenderJob, parts: Sequence[tuple[Segment, Path]]):
    """Join the rendered ``parts`` (every segment, in order) into ``job.out`` with the song's
    audio, and write the resolved config beside it. Returns a `JoinedVideo`."""
    from visualizer.core.config import write_resolved
    from visualizer.offline import render_audio
    from visualizer.record.concat import Part, join_parts
    from visualizer.show import offline

    segments = [segment for segment, _ in parts]
    expected = list(range(segments[0].count)) if segments else [0]
    if [segment.index for segment in segments] != expected:
        raise GansmaniaError(f"{job.out}: segments {[s.index + 1 for s in segments]} given; the "
                             f"join needs all of 1..{len(expected)} in order")
    config = offline(show).config
    audio, sr = render_audio(job, fps=config.record.fps)
    joined = join_parts([Part(path, segment.first) for segment, path in parts], Path(job.out),
                        fps=config.record.fps, audio=audio, sample_rate=sr,
                        settings=config.record)
    expected_frames = segments[-1].stop
    if joined.frames != expected_frames:
        raise GansmaniaError(f"{job.out}: the parts hold {joined.frames} frames, the render "
                             f"has {expected_frames}")
    write_resolved(config, Path(job.out))
    return joined


def render_segmented(show: Show, job: RenderJob, *, segments: int, jobs: int = 1,
                     progress: Progress | None = None) -> RenderResult:
    """Render ``job`` in ``segments`` parts on ``jobs`` processes and join them into job.out:
    the same frames as `render_song` (see the module docstring). The parts go to a folder
    beside job.out, removed afterwards. GansmaniaError names a failed segment."""
    if jobs < 1:
        raise GansmaniaError(f"--jobs {jobs}: at least 1")
    started = time.perf_counter()
    plan = plan_segments(show, job, segments)
    out = Path(job.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.segments-", dir=out.parent))
    try:
        paths = [segment_path(folder, out, segment) for segment in plan]
        total = plan[-1].stop
        done = [0] * len(plan)

        def report(index: int, frames: int) -> None:
            done[index] = frames
            if progress is not None:
                progress(sum(done), total)

        if jobs == 1 or len(plan) == 1:
            results = []
            for segment, path in zip(plan, paths, strict=True):
                results.append(_render_one(show, job, segment, path,
                                           lambda n, _t, i=segment.index: report(i, n)))
        else:
            results = _render_in_processes(show, job, plan, paths, jobs=jobs, report=report)
        render_s = time.perf_counter() - started
        encoders = {result.encoder for result in results}
        if len(encoders) > 1:  # e.g. a hardware encoder failed in one process only
            raise GansmaniaError(f"{out}: the segments were encoded by {', '.join(encoders)}; "
                                 f"set record.encoder to one of them")
        joined = join_segments(show, job, list(zip(plan, paths, strict=True)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("%s: %d segments joined (%d frames)", out, len(plan), joined.frames)
    return RenderResult(path=out, frames=joined.frames, duration_s=joined.duration_s,
                        wall_s=time.perf_counter() - started, render_s=render_s,
                        encoder=results[0].encoder, backend=results[0].backend)


def _render_one(show: Show, job: RenderJob, segment: Segment, path: Path,
                progress: Progress) -> RenderResult:
    try:
        return render_segment(show, job, segment, path, progress=progress)
    except GansmaniaError as exc:
        raise GansmaniaError(f"{segment.name}: {exc}") from None


def _render_in_processes(show: Show, job: RenderJob, plan: list[Segment], paths: list[Path], *,
                         jobs: int, report) -> list[RenderResult]:
    """Each segment in a spawned process of its own (a fresh GL context and generator), ``jobs``
    at a time. The first failure (or an exception from ``report``: a cancel) stops the others
    and is raised, naming its segment."""
    import multiprocessing
    import queue as queues

    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    level = logging.getLogger().getEffectiveLevel()
    waiting = list(zip(plan, paths, strict=True))
    running: dict[int, multiprocessing.process.BaseProcess] = {}
    results: dict[int, RenderResult] = {}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                segment, path = waiting.pop(0)
                process = context.Process(target=_worker_main, daemon=True,
                                          name=f"segment-{segment.index + 1}",
                                          args=(show, job, segment, path, messages, level))
                process.start()
                running[segment.index] = process
            try:
                kind, index, payload = messages.get(timeout=PROGRESS_POLL_S)
            except queues.Empty:
                _check_alive(running, messages, plan)
                continue
            if kind == "progress":
                report(index, payload)
            elif kind == "done":
                results[index] = payload
                running.pop(index).join()
            else:
                raise GansmaniaError(f"{plan[index].name}: {payload}")
    finally:
        for process in running.values():  # only after a failure or a cancel
            process.terminate()
            process.join(timeout=10)
    return [results[segment.index] for segment in plan]


def _check_alive(running: dict, messages, plan: list[Segment]) -> None:
    """A worker that ended without a word died (killed, out of memory, a crash in C code)."""
    for index, process in running.items():
        if process.is_alive():
            continue
        process.join()
        if process.exitcode == 0:  # it finished: its last messages are still in the pipe
            continue
        raise GansmaniaError(f"{plan[index].name}: its process died (exit code "
                             f"{process.exitcode}); out of memory? try fewer --jobs")


# ---------------------------------------------------------------- in the worker processes

def _worker_main(show: Show, job: RenderJob, segment: Segment, path: Path, messages,
                 level: int) -> None:
    """A spawned worker: render ``segment``, telling the parent its progress and outcome."""
    from visualizer.core.logs import setup_logging

    setup_logging(-1 if level >= logging.WARNING else 1 if level <= logging.DEBUG else 0)

    def progress(done: int, total: int) -> None:
        messages.put(("progress", segment.index, done))

    try:
        result = render_segment(show, job, segment, path, progress=progress)
    except GansmaniaError as exc:
        messages.put(("failed", segment.index, str(exc)))
    except Exception as exc:  # a bug: the parent names the segment, the log has the traceback
        log.exception("%s failed", segment.name)
        messages.put(("failed", segment.index, f"{type(exc).__name__}: {exc}"))
    else:
        messages.put(("done", segment.index, result))
