"""Shader benchmark: the cost of each shader pass, of frame upload + upscale, and of whole frames,
on headless EGL (llvmpipe without a GPU).

    python -m bench.shaders --json bench/results/shaders.json

Times are per call with ``ctx.finish()`` inside the timed region (wall ms), plus GL timer-query
time where the driver has ``GL_ARB_timer_query`` (gpu ms: on a GPU the device's own time; on
llvmpipe, which rasterises on CPU threads at flush time, it is close to wall). Each figure is the
lowest of ``repeats`` medians: on a shared machine that is the one least disturbed by others.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import parser
from visualizer.benchmarks.report import report
from visualizer.render.chain import ShaderChain, make_target, release_target
from visualizer.render.frames import to_rgb8
from visualizer.render.headless import HeadlessOutput, egl_context
from visualizer.render.library import ShaderLibrary
from visualizer.render.renderer import Renderer
from visualizer.render.source import SourceStage
from visualizer.render.uniforms import AudioUniforms
from visualizer.render.upload import FrameUploader

COLUMNS = ("stage", "size", "wall_ms", "wall_p95_ms", "gpu_ms", "fps")
SIZES = ((1280, 720), (1920, 1080))
# A typical look for the whole-frame rows: motion, trails and colour on top of the generator.
TYPICAL_CHAIN = (("zoom", {"pulse": 0.2}), ("feedback", {}), ("grade", {"chroma_hue": 0.5}))

_UNIFORMS = AudioUniforms(time_s=1.0, beat_phase=0.25, tempo=1.0, onset=0.5, level=0.5, bass=0.5,
                          mid=0.4, high=0.3, chroma=tuple(float(k in (0, 4, 7)) for k in range(12)))


def _time(ctx: Any, work: Callable[[], object], *, frames: int, repeats: int) -> dict[str, float | None]:
    """Lowest median and its p95 of wall ms per ``work()`` (finished), and timer-query ms."""
    query = ctx.query(time=True) if "GL_ARB_timer_query" in ctx.extensions else None
    best: list[float] | None = None
    gpu: list[float] = []
    work()
    ctx.finish()  # warm-up: llvmpipe JIT-compiles shader variants on first use
    for _ in range(repeats):
        samples = []
        for _ in range(frames):
            start = time.perf_counter()
            if query is not None:
                # finish inside the query: llvmpipe defers drawing to the next flush, so a query
                # around the calls alone can time nothing (it read 0.08 ms for a 1080p pass).
                with query:
                    work()
                    ctx.finish()
            else:
                work()
                ctx.finish()
            samples.append((time.perf_counter() - start) * 1e3)
            if query is not None:
                gpu.append(query.elapsed / 1e6)
        if best is None or statistics.median(samples) < statistics.median(best):
            best = samples
    assert best is not None
    ordered = sorted(best)
    return {"wall_ms": statistics.median(ordered),
            "wall_p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "gpu_ms": statistics.median(gpu) if gpu else None}


def _test_image(size: int) -> np.ndarray:
    """A smooth colourful image with detail (what a generator makes), uint8 (size, size, 3)."""
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.stack([np.sin(7 * x + 3 * y), np.cos(5 * y - 2 * x), np.sin(11 * x * y)], axis=-1)
    return ((image * 0.5 + 0.5) * 255).astype(np.uint8)


def pass_rows(ctx: Any, library: ShaderLibrary, *, sizes: Sequence[tuple[int, int]] = SIZES,
              frames: int = 30, repeats: int = 3) -> list[dict[str, Any]]:
    """One row per shader pass and size: the pass alone on an image of that size."""
    rows = []
    for size in sizes:
        source = make_target(ctx, size)
        texture = source.color_attachments[0]
        texture.write(np.asarray(_resize(_test_image(512), size), dtype=np.uint8).tobytes())
        for name in library.names():
            chain = ShaderChain(ctx, [(library.load(name), {})], size=size)
            extra = {spec.name: texture for spec in library.load(name).source.textures}
            timing = _time(ctx, lambda c=chain, e=extra: c.render(source, _UNIFORMS, textures=e),
                           frames=frames, repeats=repeats)
            rows.append({"stage": f"pass {name}", "size": f"{size[0]}x{size[1]}", **timing})
            chain.release()
        release_target(source)
    return rows


def upload_rows(ctx: Any, *, frame_px: int = 256, sizes: Sequence[tuple[int, int]] = SIZES,
                frames: int = 30, repeats: int = 3) -> list[dict[str, Any]]:
    """Getting a generator frame on screen: conversion, PBO upload, blend + upscale."""
    import torch

    image = _test_image(frame_px)
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    uploader = FrameUploader(ctx)
    label = f"{frame_px}x{frame_px}"
    rows = [
        {"stage": "torch [-1,1] -> uint8 HWC", "size": label,
         **_time(ctx, lambda: to_rgb8(tensor), frames=frames, repeats=repeats)},
        {"stage": "upload (PBO -> texture)", "size": label,
         **_time(ctx, lambda: uploader.upload(image), frames=frames, repeats=repeats)},
    ]
    blends = itertools.cycle((0.25, 0.75))  # a new blend every call: the stage caches a held one
    for upscale in ("bicubic", "bilinear"):
        stage = SourceStage(ctx, upscale=upscale)
        for size in sizes:
            timing = _time(ctx, lambda s=stage, z=size: s.render(uploader, blend=next(blends), size=z),
                           frames=frames, repeats=repeats)
            rows.append({"stage": f"blend + {upscale} upscale from {label}",
                         "size": f"{size[0]}x{size[1]}", **timing})
        stage.release()
    uploader.release()
    return rows


def frame_rows(ctx: Any, library: ShaderLibrary, *, size: tuple[int, int] = (1280, 720),
               fx_scales: Sequence[float] = (1.0, 0.75, 0.5), frame_px: int = 256,
               frames: int = 30, repeats: int = 3) -> list[dict[str, Any]]:
    """Whole display frames (upload, blend + upscale, chain, present): the empty chain at full
    size as the floor, then the typical chain at each FX scale."""
    rows = []
    image = _test_image(frame_px)
    output = HeadlessOutput(size, ctx=ctx)
    cases = [((), 1.0), *((TYPICAL_CHAIN, fx_scale) for fx_scale in fx_scales)]
    for chain, fx_scale in cases:
        renderer = Renderer(output, library, fx_scale=fx_scale)
        renderer.set_chain(chain)

        def frame(r: Renderer = renderer) -> None:
            r.submit(image)  # a new generator frame every display frame: the worst case
            r.render(_UNIFORMS, blend=0.5)

        timing = _time(ctx, frame, frames=frames, repeats=repeats)
        names = "+".join(name for name, _ in chain) or "no FX"
        rows.append({"stage": f"frame: {names}, fx_scale {fx_scale:g}, {renderer.upscale}",
                     "size": f"{size[0]}x{size[1]}", **timing, "fps": 1e3 / timing["wall_ms"]})
        renderer.release()
    output.release()
    return rows


def run(*, frames: int = 30, repeats: int = 3, shader_dirs: Sequence[Path] | None = None,
        ctx: Any = None) -> list[dict[str, Any]]:
    """Every row of the shader benchmark, on ``ctx`` (a fresh EGL context when None)."""
    own = ctx is None
    ctx = egl_context() if own else ctx
    try:
        library = ShaderLibrary(ctx, search_dirs=shader_dirs)
        rows = pass_rows(ctx, library, frames=frames, repeats=repeats)
        rows += upload_rows(ctx, frames=frames, repeats=repeats)
        rows += frame_rows(ctx, library, frames=frames, repeats=repeats)
        return rows
    finally:
        if own:
            ctx.release()


def renderer_info(ctx: Any) -> dict[str, str]:
    return {"gl_renderer": ctx.info["GL_RENDERER"], "gl_version": ctx.info["GL_VERSION"]}


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to (W, H) ``size`` as RGBA, rows bottom-up as GL stores them."""
    from PIL import Image

    rgba = Image.fromarray(image).convert("RGBA").resize(size, Image.BICUBIC)
    return np.asarray(rgba)[::-1]


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--frames", type=int, default=30, help="timed calls per repeat")
    options.add_argument("--repeats", type=int, default=3,
                         help="repeats; the lowest median is kept")
    args = options.parse_args()
    ctx = egl_context()
    try:
        rows = run(frames=args.frames, repeats=args.repeats, ctx=ctx)
        report("shaders", COLUMNS, rows, json_path=args.json, extra=renderer_info(ctx))
    finally:
        ctx.release()


if __name__ == "__main__":
    main()
