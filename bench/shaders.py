"""Shader pass, upload/upscale and whole-frame costs on headless EGL (llvmpipe without a GPU).

    .venv/bin/python bench/shaders.py --json bench/results/shaders.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from visualizer.core.bench import report
from visualizer.render import benchmark
from visualizer.render.headless import egl_context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--frames", type=int, default=30, help="timed calls per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the lowest median is kept")
    args = parser.parse_args()
    ctx = egl_context()
    try:
        rows = benchmark.run(frames=args.frames, repeats=args.repeats, ctx=ctx)
        report("shaders", benchmark.COLUMNS, rows, json_path=args.json,
               extra=benchmark.renderer_info(ctx))
    finally:
        ctx.release()


if __name__ == "__main__":
    main()
