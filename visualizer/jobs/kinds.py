"""The job kinds: ``render`` (a song to a video, `gansmania render`'s render_song) and ``grid``
(a seed grid from a model, `gansmania generate`'s render_seeds). Each checks its params when
the job is submitted, so a bad value is refused at once, not found by the worker later."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from visualizer.core.errors import GansmaniaError
from visualizer.jobs.queue import JobContext, Kind

MAX_SIZE = (3840, 2160)
MAX_GRID = 64
RENDER_FILE, GRID_FILE = "render.mp4", "grid.png"


def check_render(params: Mapping[str, Any]) -> dict[str, Any]:
    """audio (a path the server chose), model (path or None: bundled), preset (name or None),
    size [W, H], fps, seed (or None), start_s, end_s (or None), segments (parts rendered by
    as many processes of the worker, then joined: the same video; default 1)."""
    _only(params, {"audio", "model", "preset", "size", "fps", "seed", "start_s", "end_s",
                   "segments"})
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
    return {"audio": str(audio), "model": _model(params), "preset": _preset(params),
            "size": [width, height], "fps": fps, "seed": _seed(params), "start_s": start_s,
            "end_s": end_s, "segments": segments}


def run_render(params: dict[str, Any], context: JobContext) -> str:
    from visualizer.core.config import load_config, override
    from visualizer.offline import RenderJob, render_song
    from visualizer.settings import ShowConfig
    from visualizer.show import prepare_show

    show = load_config(ShowConfig, None)  # the defaults, as `gansmania render` without --config
    if params["model"] is not None:
        show = override(show, "model.path", Path(params["model"]), origin="studio")
    show = override(show, "display.size", tuple(params["size"]), origin="studio")
    for key in ("record.fps", "display.fps"):
        show = override(show, key, params["fps"], origin="studio")
    show = prepare_show(show, preset=params["preset"])
    job = RenderJob(audio=Path(params["audio"]), out=context.folder / RENDER_FILE,
                    seed=params["seed"], start_s=params["start_s"], end_s=params["end_s"])
    segments = params.get("segments", 1)  # jobs queued before it existed have none
    if segments > 1:
        import os

        from visualizer.segments import render_segmented

        render_segmented(show, job, segments=segments, jobs=min(segments, os.cpu_count() or 1),
                         progress=context.progress)
    else:
        render_song(show, job, progress=context.progress)
    return RENDER_FILE


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
    "render": Kind(check=check_render, run=run_render),
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
