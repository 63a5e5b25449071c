"""Encodes the same moving picture through `MediaWriter` and prints the file's SHA-256.

Run as ``python -m tests.visualizer.record.encode_worker OUT``. The repeatability test runs it
in processes whose heaps hold different bytes (glibc's MALLOC_PERTURB_): an encoder that reads
uninitialised memory then writes different files from the same frames.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from visualizer.record.writer import MediaWriter, StreamSpec
from visualizer.settings import RecordSettings

# 96 px = 6 macroblocks, not a multiple of 8: the width at which x264's AVX-512 lookahead read
# past its scratch row (see visualizer.record.encoders.x264_asm_without_avx512).
SIZE = (96, 64)
FPS = 24.0
FRAMES = 48  # two keyframe intervals: B-frames and the lookahead's macroblock tree both run


def moving_blobs(index: int) -> np.ndarray:
    """Three soft coloured blobs circling at different speeds: motion in every direction."""
    y, x = np.mgrid[0:SIZE[1], 0:SIZE[0]].astype(np.float32)
    t = index / FPS
    image = np.zeros((SIZE[1], SIZE[0], 3), np.float32)
    for channel, (cx, cy, radius) in enumerate([(30, 20, 12), (60, 40, 18), (80, 15, 9)]):
        px = cx + 20 * np.sin(t * (1 + channel) + channel)
        py = cy + 10 * np.cos(t * (1.3 + channel))
        image[..., channel] = 255 * np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * radius ** 2))
    return image.clip(0, 255).astype(np.uint8)


def main() -> None:
    out = Path(sys.argv[1])
    writer = MediaWriter(out, StreamSpec(size=SIZE, fps=FPS, channels=0), RecordSettings())
    for index in range(FRAMES):
        writer.write_video(moving_blobs(index))
    writer.close()
    print(hashlib.sha256(out.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
