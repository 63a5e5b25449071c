"""Render a preset offline through the real pipeline, deterministically: click-track features ->
LatentController -> tiny random-weight generator -> Renderer with the preset's chain (PresetDeck:
bindings, beat clock) and FxController uniforms. Display frames and generator frames run on a
fixed clock, so two runs give the same pictures."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.signals import SR, click_train
from visualizer.audio.features import ExtractorSettings, FeatureExtractor
from visualizer.audio.frames import FeatureFrame

BPM = 120.0
FPS = 30.0
GENERATOR_EVERY = 2  # a generator frame every 2nd display frame: the display does not wait for it


@dataclass(frozen=True)
class Clip:
    times_s: np.ndarray  # display frame times, shape (n,)
    images: np.ndarray  # uint8 (n, H, W, 3)
    clicks_s: np.ndarray  # click (onset) times of the track


def click_features(*, duration_s: float, first_s: float = 0.25) -> tuple[list[FeatureFrame], np.ndarray]:
    """The live extractor's frames for a 120 BPM click track (file time as capture time)."""
    audio, clicks = click_train(bpm=BPM, duration_s=duration_s, first_s=first_s)
    settings = ExtractorSettings(sr=SR)
    extractor = FeatureExtractor(settings)
    hop = settings.hop
    frames = [extractor.process(audio[i * hop:(i + 1) * hop], t_audio=(i + 1) * hop / SR)
              for i in range(len(audio) // hop)]
    return frames, clicks


def tiny_generator(path: Path):
    """A random-weight generator saved and loaded through the checkpoint format (seeded)."""
    import torch

    from training.checkpoint import load_generator, save_generator
    from training.configs import CONFIGS
    from training.networks import Generator

    config = CONFIGS["cpu"].replace(z_dim=64, w_dim=64, img_resolution=32, channel_base=256,
                                    channel_max=64, mapping_layers=2)
    torch.manual_seed(0)
    save_generator(path, Generator(config).eval())
    return load_generator(path)


def render_clip(preset: str, *, renderer, generator, space, frames: list[FeatureFrame],
                clicks: np.ndarray, start_s: float, end_s: float, preset_dirs) -> Clip:
    """Frames of ``preset`` from 0 to ``end_s``; those from ``start_s`` on are kept."""
    from visualizer.mapping.fx import FxController
    from visualizer.mapping.latent import LatentController
    from visualizer.presets.deck import PresetDeck
    from visualizer.settings import PresetSettings

    deck = PresetDeck(renderer, settings=PresetSettings(watch=False), preset_dirs=preset_dirs)
    controller = LatentController(space)
    fx = FxController()
    settings = deck.start(preset).controller
    stamps = [f.t_audio for f in frames]
    dt = 1.0 / FPS
    kept_t, kept = [], []
    for index in range(int(round(end_s * FPS))):
        t = index * dt
        newest = bisect.bisect_right(stamps, t) - 1
        frame = frames[newest] if newest >= 0 else None
        if index % GENERATOR_EVERY == 0:
            latent = controller.step(frame, settings, dt * GENERATOR_EVERY)
            renderer.submit(generator.synthesize(latent), capture_s=latent.t_audio)
        uniforms = fx.step(frame, settings, dt, time_s=t)
        progress = deck.update(frame, now_s=t)
        presented = renderer.render(uniforms, transition=progress, capture=t >= start_s - 1e-9)
        if presented.image is not None:
            kept_t.append(t)
            kept.append(presented.image)
    return Clip(np.asarray(kept_t), np.stack(kept), clicks)
