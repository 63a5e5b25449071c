"""Exported generators for the engine and backend tests: seeded, with every weight mattering
(non-zero biases and noise strengths, so noise_gain changes the image)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine_build.export import export_onnx
from tests.training.generators import randomised
from training.configs import named_config
from training.networks import Generator


def exported(config_name: str, directory: Path, *, seed: int = 0,
             use_noise: bool = True) -> tuple[Generator, Path]:
    """A randomised generator of named config ``config_name`` and its ONNX export;
    ``use_noise=False``: one trained with its noise inputs off (a graph without noise_gain)."""
    config = named_config(config_name).replace(use_noise=use_noise)
    generator = randomised(config, seed=seed).requires_grad_(False)
    name = f"{config_name}-{seed}" + ("" if use_noise else "-noise-free")
    return generator, export_onnx(generator, directory / f"{name}.onnx",
                                  model_hash=f"test-{name}")


def random_ws(generator: Generator, count: int, *, seed: int) -> np.ndarray:
    """float32 [count, num_ws, w_dim]: mapped from seeded z (the ws a show would use)."""
    z = np.random.default_rng(seed).standard_normal((count, generator.z_dim)).astype(np.float32)
    with torch.inference_mode():
        return generator.mapping(torch.from_numpy(z), None).numpy()


def torch_images(generator: Generator, ws: np.ndarray, noise_gain: np.ndarray) -> np.ndarray:
    """The reference: torch eager (NVlabs' fused modulated conv), float32 [N, 3, R, R]."""
    with torch.inference_mode():
        return generator.synthesis(torch.from_numpy(ws), noise_mode="const",
                                   noise_gain=torch.from_numpy(noise_gain)).numpy()
