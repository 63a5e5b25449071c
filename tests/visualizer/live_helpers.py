"""Helpers for the live-show tests: a click track on disk, a small model, a headless LiveApp."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.signals import clicks_at, write_wav
from tests.visualizer.backends.models import small_generator
from visualizer.core.config import load_config
from visualizer.settings import ShowConfig


def click_track(path: Path, *, bpm: float = 100.0, duration_s: float = 6.0,
                first_s: float = 0.6) -> tuple[Path, np.ndarray]:
    """A metronome WAV at ``bpm`` (loud clicks over faint noise); returns (path, click times s)."""
    times = np.arange(first_s, duration_s - 0.1, 60.0 / bpm)
    write_wav(path, clicks_at(times, duration_s=duration_s, amplitude=0.8))
    return path, times


def show_config(audio: Path, **overrides) -> ShowConfig:
    """A small headless show on ``audio``: 256x144 output at 60 fps."""
    values = {"audio.input": str(audio), "display.headless": True, "display.size": (256, 144),
              "display.fps": 60.0, **overrides}
    return load_config(ShowConfig, None, overrides=values)


def headless_app(show: ShowConfig, *, model=None, backend=None, generator=None):
    """A LiveApp with injected parts and no preset: ``model`` (a ShowModel; default the SMALL
    random generator, or ``backend`` wrapping it), the show's analyzer, a headless output and a
    generator thread."""
    from visualizer.app import LiveApp
    from visualizer.audio.analyzer import analyzer_for
    from visualizer.backends.worker import threaded_worker
    from visualizer.render.headless import HeadlessOutput

    return LiveApp(show, model=model or small_model(generator=generator, backend=backend),
                   features=analyzer_for(show.audio), output=HeadlessOutput(show.display.size),
                   worker=threaded_worker)


def small_model(*, generator=None, backend=None):
    """A ShowModel of the SMALL random generator (or ``generator``; ``backend`` wrapping it)."""
    from visualizer.backends.torch_backend import TorchGenerator, TorchLatentSpace
    from visualizer.app import ShowModel

    generator = generator or small_generator(seed=1)
    return ShowModel(backend=backend or TorchGenerator(generator),
                     space=TorchLatentSpace(generator), path=Path("small.safetensors"),
                     reason="test")


def frame_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 images, 0..255 levels."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())

