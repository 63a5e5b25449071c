"""Reading recordings back for the record tests: ffprobe's view, and decoded frames and audio."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON (streams + format) for ``path``; fails the test when it cannot read it."""
    binary = shutil.which("ffprobe")
    if binary is None:  # the Makefile installs ffmpeg: a missing one is an install bug
        pytest.fail("ffprobe is not installed; run `make test`, which installs ffmpeg")
    result = subprocess.run([binary, "-v", "error", "-of", "json", "-show_streams", "-show_format",
                             str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"ffprobe cannot read {path}: {result.stderr.strip()}"
    return json.loads(result.stdout)


def stream(info: dict, kind: str) -> dict:
    found = [s for s in info["streams"] if s["codec_type"] == kind]
    assert len(found) == 1, f"expected one {kind} stream, got {len(found)}"
    return found[0]


def playable_seconds(path: Path) -> float:
    """How many seconds of video a player gets out of ``path``: decode every frame."""
    import av

    last = 0.0
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        rate = float(video.average_rate or video.base_rate)
        for packet in container.demux(video):
            for frame in packet.decode():
                last = max(last, float(frame.time) + 1 / rate)
    return last


@dataclass(frozen=True)
class Decoded:
    times_s: np.ndarray  # (n,) presentation time of each video frame
    frames: np.ndarray  # (n, H, W, 3) uint8
    audio: np.ndarray  # (samples,) mono mix float32, from the file's time 0
    sample_rate: int


def decode(path: Path, *, audio: bool = True) -> Decoded:
    """Every video frame and the whole audio track of ``path``."""
    import av

    times, frames = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            times.append(float(frame.time))
            frames.append(frame.to_ndarray(format="rgb24"))
    chunks, sample_rate, first = [], 0, None
    if audio:
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                if first is None:
                    first = float(frame.time)
                sample_rate = frame.sample_rate
                chunks.append(frame.to_ndarray().astype(np.float32).mean(axis=0))
        assert first is not None and abs(first) < 1e-3, f"audio starts at {first} s, not 0"
    return Decoded(times_s=np.array(times), frames=np.stack(frames),
                   audio=np.concatenate(chunks) if chunks else np.zeros(0, np.float32),
                   sample_rate=sample_rate)


def click_times(audio: np.ndarray, *, sample_rate: int, threshold: float = 0.1,
                refractory_s: float = 0.1) -> np.ndarray:
    """Start times (s) of the clicks in ``audio``: where |x| first crosses ``threshold``."""
    above = np.flatnonzero(np.abs(audio) > threshold)
    starts, last = [], -np.inf
    for index in above:
        if index - last > refractory_s * sample_rate:
            starts.append(index)
        last = index
    return np.array(starts) / sample_rate


def flash_times(decoded: Decoded, *, jump: float = 25.0) -> np.ndarray:
    """Times of frames whose mean brightness jumps by more than ``jump`` over the previous one."""
    brightness = decoded.frames.reshape(decoded.frames.shape[0], -1).mean(axis=1)
    rises = np.flatnonzero(np.diff(brightness) > jump) + 1
    return decoded.times_s[rises]
