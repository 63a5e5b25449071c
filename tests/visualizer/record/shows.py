"""Show configs and audio files for the render tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 48000


def show_config(model: Path, *, size: tuple[int, int] = (96, 64), fps: float = 24.0,
                sets: dict | None = None):
    """A ShowConfig for a quick render: the tiny model on torch, ``size`` at ``fps``, then
    ``sets`` ({dotted key: value})."""
    from visualizer.core.config import override
    from visualizer.settings import ShowConfig

    show = ShowConfig()
    values = {"model.path": model, "model.backend": "torch", "display.size": size,
              "display.fps": fps, "record.fps": fps, "display.headless": True, **(sets or {})}
    for key, value in values.items():
        show = override(show, key, value)
    return show


def write_wav(path: Path, audio: np.ndarray, *, sr: int = SR) -> Path:
    import soundfile

    soundfile.write(str(path), audio, sr, subtype="FLOAT")
    return path


def first_frame_seeing(t_s: float, *, fps: float, hop: int = 256) -> int:
    """The first frame whose analysed audio reaches ``t_s``: frame k shows the hops ending by
    the middle of its slot, k / fps + 0.5 / fps (see visualizer.offline)."""
    k = 0
    while (round((k / fps + 0.5 / fps) * SR) // hop) * hop / SR < t_s:
        k += 1
    return k
