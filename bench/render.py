"""`gansmania render` speed as a multiple of real time, at 256x256 and 1280x720 output.

    .venv/bin/python bench/render.py --json bench/results/render.json
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--seconds", type=float, default=60.0, help="song length rendered (s)")
    parser.add_argument("--fps", type=float, default=30.0, help="video frame rate")
    parser.add_argument("--generator-fps", type=float, default=0.0,
                        help="generator frames per second (0 = one per video frame)")
    parser.add_argument("--backend", default="auto", help="generator backend (model.backend)")
    parser.add_argument("--model", type=Path, help="checkpoint (default: bundled, else random cpu)")
    parser.add_argument("--size", action="append", metavar="WxH",
                        help="output size (repeatable; default 256x256 and 1280x720)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="another config key, e.g. model.threads=2 (repeatable)")
    args = parser.parse_args()

    from visualizer.show import configure_threads
    from visualizer.core.config import override, parse_assignment
    from visualizer.settings import ModelSettings

    sets = dict(parse_assignment(text) for text in args.sets)
    model = ModelSettings()
    for key, value in sets.items():
        if key.startswith("model."):
            model = override(model, key.removeprefix("model."), value)
    configure_threads(model)  # as `gansmania render` does, before torch loads
    from visualizer.core.bench import report
    from visualizer.core.logs import setup_logging
    from visualizer.record import benchmark

    setup_logging(-1)  # warnings only: the table is the output
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.size] if args.size \
        else benchmark.SIZES
    rows, extra = benchmark.run(seconds=args.seconds, sizes=sizes, fps=args.fps,
                                generator_fps=args.generator_fps, backend=args.backend,
                                model=args.model, sets=sets)
    report("render", benchmark.COLUMNS, rows, json_path=args.json, extra=extra)


if __name__ == "__main__":
    main()
