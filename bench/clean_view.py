"""Clean view benchmark: what the performer view's second window costs a display frame.

    xvfb-run -a -s "-screen 0 1920x1080x24 +extension GLX -noreset" python -m bench.clean_view \\
        --json bench/results/clean_view.json

Whole display frames (a new generator frame, blend + upscale, the typical chain at the live
default FX scale, present): headless (EGL), in a window, and in a window with the clean view
beside it, as a window of the same size and fullscreen on the display's monitor (1920x1080); and
the rig's comparison: one fullscreen window (the projector alone, no performer view) against a
small performer window plus the clean view fullscreen. Under Xvfb nothing waits for a refresh,
so the figures are the frame's cost: wall ms (the lowest of ``repeats`` medians) and the CPU ms
of this process (llvmpipe's threads included, the X server's copies not), steadier than wall
time on a shared machine. Needs a display (DISPLAY): an X server or Xvfb
(-noreset: without it Xvfb resets when a case closes its windows, and the next may not connect).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import parser
from bench.shaders import _UNIFORMS, TYPICAL_CHAIN, _test_image
from visualizer.benchmarks.report import report

COLUMNS = ("case", "output", "clean", "frame_ms", "frame_p95_ms", "cpu_ms", "fps", "fx_scale")
SIZE = (1280, 720)
SMALL = (640, 360)  # a performer window on the laptop beside the projector's fullscreen view
GENERATOR_PX = 256  # the cpu config's frames: what the auto FX scale follows


def _case(name: str, open_output: Callable[[], Any], *, frames: int, repeats: int) -> dict[str, Any]:
    from visualizer.app import resolve_fx_scale
    from visualizer.render.library import ShaderLibrary
    from visualizer.render.renderer import Renderer

    output = open_output()
    try:
        fx_scale = resolve_fx_scale(0.0, output=output, generator_px=GENERATOR_PX)
        renderer = Renderer(output, ShaderLibrary(output.ctx), fx_scale=fx_scale)
        renderer.set_chain(TYPICAL_CHAIN)
        image = _test_image(GENERATOR_PX)
        for _ in range(10):  # warm-up: llvmpipe compiles shader variants on first use
            renderer.submit(image)
            renderer.render(_UNIFORMS, blend=0.5)
        best: list[float] | None = None
        cpu_s, timed = time.process_time(), 0
        for _ in range(repeats):
            samples = []
            for _ in range(frames):
                start = time.perf_counter()
                renderer.submit(image)  # a new generator frame every display frame: the worst case
                renderer.render(_UNIFORMS, blend=0.5)
                output.poll()
                samples.append((time.perf_counter() - start) * 1e3)
                timed += 1
            if best is None or statistics.median(samples) < statistics.median(best):
                best = samples
        cpu_ms = (time.process_time() - cpu_s) / timed * 1e3
        assert best is not None
        ordered = sorted(best)
        clean = output.clean
        renderer.release()
        return {"case": name, "output": f"{output.size[0]}x{output.size[1]}",
                "clean": "-" if clean is None else f"{clean.size[0]}x{clean.size[1]}",
                "frame_ms": statistics.median(ordered),
                "frame_p95_ms": ordered[round(0.95 * (len(ordered) - 1))], "cpu_ms": cpu_ms,
                "fps": 1e3 / statistics.median(ordered), "fx_scale": round(fx_scale, 3)}
    finally:
        output.release()


def run(*, frames: int = 120, repeats: int = 3) -> list[dict[str, Any]]:
    from visualizer.render.headless import HeadlessOutput
    from visualizer.render.window import WindowOutput

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("headless (EGL)", lambda: HeadlessOutput(SIZE)),
        ("window", lambda: WindowOutput(SIZE, vsync=False)),
        ("window + clean window", lambda: WindowOutput(SIZE, vsync=False, clean_monitor=0,
                                                       clean_size=SIZE)),
        ("window + clean fullscreen", lambda: WindowOutput(SIZE, vsync=False, clean_monitor=0)),
        ("fullscreen, no clean view", lambda: WindowOutput(SIZE, vsync=False, fullscreen=True)),
        ("small window + clean fullscreen",
         lambda: WindowOutput(SMALL, vsync=False, clean_monitor=0)),
    ]
    return [_case(name, opener, frames=frames, repeats=repeats) for name, opener in cases]


def main() -> None:
    from visualizer.render.monitors import has_display

    options = parser(__doc__)
    options.add_argument("--frames", type=int, default=120, help="timed frames per repeat")
    options.add_argument("--repeats", type=int, default=3, help="repeats; the lowest median is kept")
    args = options.parse_args()
    if not has_display():
        sys.exit("bench.clean_view needs a display: run it under xvfb-run (see --help)")
    load = os.getloadavg()[0]
    rows = run(frames=args.frames, repeats=args.repeats)
    report("clean view: the typical chain, llvmpipe without a GPU", COLUMNS, rows,
           json_path=args.json, extra={"frames": args.frames, "repeats": args.repeats,
                                       "load_1m": [round(load, 2), round(os.getloadavg()[0], 2)]})


if __name__ == "__main__":
    main()
