"""Small random-weight generators and checkpoints for backend and live tests (nothing downloaded)."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from training.checkpoint import save_generator
from training.configs import CONFIGS
from training.networks import Generator
from visualizer.mapping.frames import LatentFrame

# The `cpu` architecture shrunk to 64 px: same layers and routes, a few ms a frame.
SMALL = CONFIGS["cpu"].replace(z_dim=64, w_dim=64, img_resolution=64, channel_base=512,
                               channel_max=64, mapping_layers=2)


def small_generator(*, seed: int = 0, noise_strength: float = 0.0) -> Generator:
    """A random-weight SMALL generator (eval); ``noise_strength`` sets every layer's learned
    noise strength (a fresh network's is 0, which would make noise_gain invisible)."""
    torch.manual_seed(seed)
    generator = Generator(SMALL).eval().requires_grad_(False)
    if noise_strength:
        for name, parameter in generator.synthesis.named_parameters():
            if name.endswith("noise_strength"):
                parameter.fill_(noise_strength)
    return generator


def small_checkpoint(path: Path, **kwargs) -> Path:
    return save_generator(path, small_generator(**kwargs))


class SlowGenerator:
    """Wraps a Generator backend, taking at least ``period_s`` per frame (a slow GPU)."""

    def __init__(self, inner, *, period_s: float) -> None:
        self.inner, self.period_s = inner, period_s
        self.name, self.device, self.resolution = f"slow-{inner.name}", inner.device, inner.resolution
        self.num_ws, self.w_dim = inner.num_ws, inner.w_dim

    def synthesize(self, frame: LatentFrame):
        started = time.perf_counter()
        image = self.inner.synthesize(frame)
        time.sleep(max(0.0, self.period_s - (time.perf_counter() - started)))
        return image

    def close(self) -> None:
        self.inner.close()


class FailingGenerator:
    """Paints normally for ``good_frames`` frames, then raises on every call (or, with
    ``recover_after``, only for that many calls)."""

    def __init__(self, inner, *, good_frames: int, recover_after: int | None = None) -> None:
        self.inner, self.good_frames, self.recover_after = inner, good_frames, recover_after
        self.name, self.device, self.resolution = inner.name, inner.device, inner.resolution
        self.num_ws, self.w_dim = inner.num_ws, inner.w_dim
        self.calls = 0

    def synthesize(self, frame: LatentFrame):
        self.calls += 1
        failing = self.calls > self.good_frames and (
            self.recover_after is None or self.calls <= self.good_frames + self.recover_after)
        if failing:
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        return self.inner.synthesize(frame)

    def close(self) -> None:
        self.inner.close()


class PatternGenerator:
    """Paints one fixed picture whatever the latent (``image``: uint8 (H, W, 3)), in the shape of
    ``inner``: a test pattern whose copies elsewhere (NDI, streams) can be checked."""

    def __init__(self, inner, image) -> None:
        self.inner, self.image = inner, image
        self.name, self.device, self.resolution = "pattern", inner.device, inner.resolution
        self.num_ws, self.w_dim = inner.num_ws, inner.w_dim

    def synthesize(self, frame: LatentFrame):
        return self.image

    def close(self) -> None:
        self.inner.close()
