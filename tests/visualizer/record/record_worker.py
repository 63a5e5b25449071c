"""A stand-in show for the crash tests: records synthetic frames and audio in real time.

Run as ``python -m tests.visualizer.record.record_worker OUT [--seconds S] [--fsize-limit BYTES]``.
It prints ``recording`` once the file is open, then feeds 30 fps frames and 10 ms audio chunks
paced by the clock, like a live show, until killed or done. ``--fsize-limit`` makes the kernel
refuse writes past that size (RLIMIT_FSIZE): a real full-disk error without root or a tmpfs.
"""

from __future__ import annotations

import argparse
import resource
import signal
import sys
import time
from pathlib import Path

import numpy as np

SR = 48000
FPS = 30.0
SIZE = (256, 144)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fsize-limit", type=int, default=0)
    args = parser.parse_args()
    if args.fsize_limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))

    from visualizer.record.recorder import Recorder
    from visualizer.record.writer import StreamSpec
    from visualizer.settings import RecordSettings

    failures: list[str] = []
    origin = time.monotonic()
    recorder = Recorder(args.out, StreamSpec(size=SIZE, fps=FPS, sample_rate=SR, channels=2),
                        origin_s=origin, settings=RecordSettings(),
                        on_failure=failures.append).start()
    print("recording", flush=True)
    rng = np.random.default_rng(0)
    sent_samples, frame = 0, 0
    while (now := time.monotonic()) - origin < args.seconds and recorder.recording:
        due = int((now - origin) * SR)
        if due > sent_samples:
            noise = rng.normal(0, 0.05, (due - sent_samples, 2)).astype(np.float32)
            recorder.add_audio(noise, t_s=origin + sent_samples / SR)
            sent_samples = due
        if now - origin >= frame / FPS:
            # Random pixels: a realistic bit rate (about 2 Mbit/s), so fragments are not tiny.
            image = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
            recorder.add_frame(image, t_s=now)
            frame += 1
        time.sleep(0.005)
    status = recorder.stop()
    print(f"{status.state} {status.duration_s:.2f} {status.message or '-'}", flush=True)
    print(f"callback {failures[0] if failures else '-'}", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
