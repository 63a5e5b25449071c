"""One assembly of a show, for every way one is played: `gansmania live`, `render`, `render
--replay`, the benchmarks and the tests.

1. :func:`prepare_show` resolves the settings once: the opening look (--preset, a set list's
   first look, or presets.default) is parsed, its model becomes the show's when none was given,
   and the process's thread settings are made before torch and GL load.
2. :func:`build_app` makes the parts and wires them into a `LiveApp` with the look on screen.
   What differs between live and offline is handed in: where features come from (the sound
   card, or the song stepped by the render clock), the worker (a thread, or painting on
   demand), the output (a window, or headless) and the clock.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from visualizer.app import LiveApp, ShowModel

if TYPE_CHECKING:
    from visualizer.audio.analyzer import FeatureSource
    from visualizer.backends.worker import WorkerFactory
    from visualizer.presets.schema import Preset
    from visualizer.render.output import Output
    from visualizer.settings import ModelSettings, ShowConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Show:
    """A show ready to build: its settings and the look it opens with, parsed once."""

    config: ShowConfig
    look: Preset


def prepare_show(config: ShowConfig, *, preset: str | None = None,
                 default: str | None = None) -> Show:
    """``config`` with its opening look: ``preset`` (name or .toml), else the set list's first
    look, else ``default`` (else presets.default). The look's model is the show's unless
    model.path is set. One-line GansmaniaError for a broken look."""
    from visualizer.core.config import override
    from visualizer.presets.catalog import find_preset
    from visualizer.presets.loader import load_preset
    from visualizer.presets.setlist import start_look
    from visualizer.render.library import ShaderLibrary

    ref = start_look(config.setlist, preset=preset, default=default or config.presets.default)
    look = load_preset(find_preset(ref), library=ShaderLibrary(None))  # no GL needed to read it
    if config.model.path is None and look.model is not None:
        config = override(config, "model.path", look.model, origin=f"preset {look.name}")
    configure_threads(config.model)  # before torch and GL load: they read it once
    return Show(config, look)


def offline(show: Show) -> Show:
    """``show`` for an offline render: headless, and no HUD (a render never shows one)."""
    from visualizer.core.config import override

    config = override(show.config, "display.headless", True, origin="render")
    return replace(show, config=override(config, "display.hud", False, origin="render"))


def build_app(show: Show, *, model: ShowModel | None = None,
              features: FeatureSource | None = None, worker: WorkerFactory | None = None,
              output: Output | None = None, clock: Callable[[], float] = time.monotonic,
              title: str = "GANsmania") -> LiveApp:
    """The show's `LiveApp` with its opening look installed (keys 1-9, hot reload, set list).

    Defaults are the live show's: the model of model.path (or the bundled one), the analyzer
    of [audio], a generator thread, the [display] window (or EGL when headless), the
    monotonic clock. Parts handed in are released with the app.
    """
    from visualizer.audio.analyzer import analyzer_for
    from visualizer.backends.worker import threaded_worker
    from visualizer.presets.live_presets import install_presets
    from visualizer.render.output import open_output

    config = show.config
    model = model or open_model(config.model)
    try:
        output = output or open_output(config.display, title=title)
    except Exception:
        model.backend.close()
        raise
    try:
        app = LiveApp(config, model=model, features=features or analyzer_for(config.audio),
                      output=output, worker=worker or threaded_worker, clock=clock)
    except Exception:
        output.release()
        model.backend.close()
        raise
    try:
        install_presets(app, show.look)
    except Exception:
        app.close()
        raise
    return app


def open_model(settings: ModelSettings) -> ShowModel:
    """Load the checkpoint ``settings`` names (or the bundled one), the named directions beside it
    (MODEL.directions.safetensors, if any) and create its backend.

    Call :func:`configure_threads` first (before torch is imported) in a fresh process.
    """
    import torch

    from training.direction_files import load_directions
    from training.generate import load_model
    from visualizer.backends.base import BackendRequest
    from visualizer.backends.registry import create_backend
    from visualizer.backends.torch_backend import TorchLatentSpace
    from visualizer.core.paths import model_path

    torch.set_num_threads(configure_threads(settings))
    path = model_path(settings.path)
    generator = load_model(path, device="cpu")
    directions = load_directions(path, w_dim=generator.w_dim)  # beside the model, if any
    backend, reason = create_backend(settings.backend, BackendRequest(
        model_path=path, generator=generator, device=settings.device,
        precision=settings.precision))
    log.info("generator %s (%s), %d px, from %s", backend.name, reason, backend.resolution, path)
    if directions is not None:
        log.info("%d named directions from %s", len(directions.entries), directions.path)
    return ShowModel(backend=backend, space=TorchLatentSpace(generator), path=path, reason=reason,
                     directions=directions)


def configure_threads(model: ModelSettings, *, cores: int | None = None) -> int:
    """Set thread environment for a CPU-bound show *before* torch and GL load; returns the
    generator's torch thread count.

    On a small CPU the generator (torch/OpenMP), the rasteriser (Mesa llvmpipe) and the audio
    thread share the cores. OpenMP workers spin-wait between ops by default, burning the time
    llvmpipe needs to draw: ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep. With 2 cores the
    generator gets 1 thread (2 threads collapse under load as they fight the display) and
    llvmpipe keeps its default (a thread per core). A variable the user set is left alone.
    """
    cores = cores or os.cpu_count() or 1
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    threads = model.threads or (1 if cores <= 2 else min(cores - 2, 8))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    return threads
