"""Beat, tempo and onset accuracy on rendered music: GANsmania's extractor vs plain aubio.

    .venv/bin/python bench/audio_accuracy.py --json bench/results/audio_accuracy.json

Needs fluidsynth and fluid-soundfont-gm (`make bench-packages`) and the dev extra (mido).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from visualizer.audio.bench import ACCURACY_COLUMNS, accuracy_rows
from rich.console import Console

from visualizer.core.bench import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--hop", type=int, default=256, choices=(64, 128, 256))
    args = parser.parse_args()
    rows, summary = accuracy_rows(hop=args.hop)
    report("audio accuracy: ours vs plain aubio (beat F 70 ms, onset F 50 ms, after 5 s)",
           ACCURACY_COLUMNS, rows, json_path=args.json, extra={"summary": summary},
           console=Console(width=200))


if __name__ == "__main__":
    main()
