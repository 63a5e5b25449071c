"""The job kinds: ``render`` (a song to a video, `gansmania render`'s render_song) and ``grid``
(a seed grid from a model, `gansmania generate`'s render_seeds). Each checks its params when
the job is submitted, so a bad value is refused at once, not found by the worker later.

A render with ``"segments": N, "spread": true`` is N ``render_part`` jobs, which any workers
take (visualizer/segments.py: keyframe-aligned parts, each replaying the song from its start),
and the render job itself, which waits for them (queue.py) and joins their files by packet
copy: the very frames of a render on one worker."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visualizer.core.errors import GansmaniaError
from visualizer.jobs.queue import JobContext
from visualizer.jobs.records import Kind

MAX_SIZE = (3840, 2160)
MAX_GRID = 64
RENDER_FILE, GRID_FILE = "render.mp4", "grid.png"
PART_FILE = "part.mp4"  # MP4 whatever the joined file is (see segments.segment_path)


def check_render(params: Mapping[str, Any]) -> dict[str, Any]:
    """audio (a path the server chose), model (path or None: bundled), preset (name or None),
    size [W, H], fps, seed (or None), start_s, end_s (or None), segments (parts rendered apart,
    then joined: the same video; default 1), spread (true: each part a job of its own, for any
    worker; false, the default: the parts run in as many processes of one worker)."""
    _only(params, {"audio", "model", "preset", "size", "fps", "seed", "start_s", "end_s",
                   "segments", "spread"})
    audio = Path(_need(params, "audio", str))
    if not audio.is_file():
        raise GansmaniaError(f"audio {audio.name}: no such song")
    size = params.get("size", [640, 360])
    if not (isinstance(size, list | tuple) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
        raise GansmaniaError(f"size {size!r}: wants [width, height] in pixels")
    width, height = size
    if not (16 <= width <= MAX_SIZE[0] and 16 <= height <= MAX_SIZE[1]) or width % 2 or height % 2:
        raise GansmaniaError(f"size {width}x{height}: even numbers from 16x16 to "
                             f"{MAX_SIZE[0]}x{MAX_SIZE[1]}")
    fps = _number(params, "fps", 30.0, 1.0, 120.0)
    start_s = _number(params, "start_s", 0.0, 0.0, 24 * 3600.0)
    end_s = params.get("end_s")
    if end_s is not None:
        end_s = _number(params, "end_s", None, 0.0, 24 * 3600.0)
        if end_s <= start_s:
            raise GansmaniaError(f"end {end_s:g} s must be after start {start_s:g} s")
    segments = params.get("segments", 1)
    if isinstance(segments, bool) or not isinstance(segments, int) or not 1 <= segments <= 64:
        raise GansmaniaError(f"segments {segments!r}: a whole number from 1 to 64")
    spread = params.get("spread", False)
    if not isinstance(spread, bool):
        raise GansmaniaError(f"spread {spread!r}: wants true or false")
    return {"audio": str(audio), "model": _model(params), "preset": _preset(params),
            "size": [width, height], "fps": fps, "seed": _seed(params), "start_s": start_s,
            "end_s": end_s, "segments": segments, "spread": spread}


def render_parts(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A spread render's ``render_part`` jobs: one per segment of the plan (fewer than asked
    when the render has fewer keyframes); none when it is not spread."""
    from visualizer.segments import plan_record_segments

    if not params["spread"] or params["segments"] == 1:
        return []
    record = _config(params).record
    plan = plan_record_segments(record, _render_job(params, Path(RENDER_FILE)),
                                params["segments"])
    if len(plan) == 1:
        return []
    return [("render_part", {**params, "spread": False,
                             "segment": [part.index, part.count, part.first, part.stop]})
            for part in plan]


def check_part(params: Mapping[str, Any]) -> dict[str, Any]:
    """A render's params and its segment [index, count, first frame, stop frame]."""
    segment = params.get("segment") if isinstance(params, Mapping) else None
    if not (isinstance(segment, list | tuple) and len(segment) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) for v in segment)
            and 0 <= segment[0] < segment[1] and 0 <= segment[2] < segment[3]):
        raise GansmaniaError(f"segment {segment!r}: wants [index, count, first frame, stop "
                             "frame], index below count, first below stop")
    checked = check_render({key: value for key, value in params.items() if key != "segment"})
    return {**checked, "segment": list(segment)}


def run_part(params: dict[str, Any], context: JobContext) -> str:
    from visualizer.segments import Segment, render_segment

    render_segment(_show(params), _render_job(params, Path(RENDER_FILE)),
                   Segment(*params["segment"]), context.folder / PART_FILE,
                   progress=context.progress)
    return PART_FILE


def run_render(params: dict[str, Any], context: JobContext) -> str:
    from visualizer.offline import render_song

    show = _show(params)
    job = _render_job(params, context.folder / RENDER_FILE)
    segments = params.get("segments", 1)  # jobs queued before it existed have none
    if context.job.needs:  # a spread render: its parts are done, join them
        from visualizer.segments import Segment, join_segments

        parts = [(Segment(*part.params["segment"]), path) for part, path in context.inputs()]
        context.check_cancelled()
        join_segments(show, job, parts)
        context.progress(parts[-1][0].stop, parts[-1][0].stop)
    elif segments > 1:
        import os

        from visualizer.segments import render_segmented

        render_segmented(show, job, segments=segments, jobs=min(segments, os.cpu_count() or 1),
                         progress=context.progress)
    else:
        render_song(show, job, progress=context.progress)
    return RENDER_FILE


def _config(params: dict[str, Any]):
    """The show's config for a render job: the defaults, as `gansmania render` without
    --config, with the job's model, size and fps."""
    from visualizer.core.config import load_config, override
    from visualizer.settings import ShowConfig

    config = load_config(ShowConfig, None)
    if params["model"] is not None:
        config = override(config, "model.path", Path(params["model"]), origin="studio")
    config = override(config, "display.size", tuple(params["size"]), origin="studio")
    for key in ("record.fps", "display.fps"):
        config = override(config, key, params["fps"], origin="studio")
    return config


def _show(params: dict[str, Any]):
    from visualizer.show import prepare_show

    return prepare_show(_config(params), preset=params["preset"])


def _render_job(params: dict[str, Any], out: Path):
    from visualizer.offline import RenderJob

    return RenderJob(audio=Path(params["audio"]), out=out, seed=params["seed"],
                     start_s=params["start_s"], end_s=params["end_s"])


def check_grid(params: Mapping[str, Any]) -> dict[str, Any]:
    """model (path or None: bundled), seed (the first), count (images), truncation_psi."""
    _only(params, {"model", "seed", "count", "truncation_psi"})
    count = params.get("count", 16)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_GRID:
        raise GansmaniaError(f"count {count!r}: a whole number of images, 1..{MAX_GRID}")
    return {"model": _model(params), "seed": _seed(params) or 0, "count": count,
            "truncation_psi": _number(params, "truncation_psi", 1.0, 0.0, 2.0)}


def run_grid(params: dict[str, Any], context: JobContext) -> str:
    from training.generate import image_grid, load_model, render_seeds, save_png
    from visualizer.core.paths import model_path

    generator = load_model(model_path(params["model"]))
    seeds = range(params["seed"], params["seed"] + params["count"])
    images = []
    for _, image in render_seeds(generator, seeds, truncation_psi=params["truncation_psi"]):
        images.append(image)
        context.progress(len(images), len(seeds))
    save_png(image_grid(images), context.folder / GRID_FILE)
    return GRID_FILE


KINDS: dict[str, Kind] = {
    "render": Kind(check=check_render, run=run_render, parts=render_parts),
    "render_part": Kind(check=check_part, run=run_part, part_only=True),
    "grid": Kind(check=check_grid, run=run_grid),
}


# ---------------------------------------------------------------------------- param checks

def _only(params: Mapping[str, Any], known: set[str]) -> None:
    if not isinstance(params, Mapping):
        raise GansmaniaError(f"params {type(params).__name__}: wants an object of settings")
    unknown = sorted(set(params) - known)
    if unknown:
        raise GansmaniaError(f"unknown setting {unknown[0]!r}; allowed: {', '.join(sorted(known))}")


def _need(params: Mapping[str, Any], key: str, kind: type) -> Any:
    value = params.get(key)
    if not isinstance(value, kind):
        raise GansmaniaError(f"{key} {value!r}: wants a {kind.__name__}")
    return value


def _number(params: Mapping[str, Any], key: str, default: float | None, low: float,
            high: float) -> float:
    value = params.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise GansmaniaError(f"{key} {value!r}: wants a number from {low:g} to {high:g}")
    return float(value)


def _seed(params: Mapping[str, Any]) -> int | None:
    seed = params.get("seed")
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise GansmaniaError(f"seed {seed!r}: a whole number from 0 to {2**31 - 1}")
    return seed


def _model(params: Mapping[str, Any]) -> str | None:
    model = params.get("model")
    if model is None:
        return None
    if not isinstance(model, str) or not Path(model).is_file():
        raise GansmaniaError(f"model {Path(str(model)).name}: no such model")
    return model


def _preset(params: Mapping[str, Any]) -> str | None:
    preset = params.get("preset")
    if preset is None:
        return None
    from visualizer.presets.catalog import preset_paths

    names = preset_paths()
    if preset not in names:
        raise GansmaniaError(f"preset {preset!r} unknown; available: {', '.join(names)}")
    return preset
