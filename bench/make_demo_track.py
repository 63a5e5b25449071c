"""Render the bundled demo track: visualizer/audio/data/demo_track.ogg.

    python -m bench.make_demo_track [--out PATH]

Reproducible: the arrangement (`bench.rigs.musicgen.DEMO_SONG`) is fixed and seeded;
fluidsynth renders it with Debian's General MIDI soundfont (fluid-soundfont-gm, MIT licence).
Needs `make bench-packages` (fluidsynth, fluid-soundfont-gm) and the dev extra (mido).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import soundfile

from bench.rigs.musicgen import DEMO_SONG, synthesize_song

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "visualizer/audio/data/demo_track.ogg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--quality", type=float, default=0.5,
                        help="Vorbis compression level 0 (best) .. 1 (smallest)")
    args = parser.parse_args()
    rendered = synthesize_song(DEMO_SONG, sr=44100)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(args.out), rendered.audio, rendered.sr, format="OGG", subtype="VORBIS",
                    compression_level=args.quality)
    size_kb = args.out.stat().st_size / 1024
    print(f"{args.out}: {rendered.audio.shape[0] / rendered.sr:.1f} s, {size_kb:.0f} KiB, "
          f"{DEMO_SONG.sections[0].bpm:g} BPM, {len(rendered.beats_s)} beats")


if __name__ == "__main__":
    main()
