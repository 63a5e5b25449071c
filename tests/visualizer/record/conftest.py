"""Fixtures for the render tests: a tiny random-weight generator and a show config around it."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = dict(z_dim=32, w_dim=32, img_resolution=32, channel_base=256, channel_max=32,
            mapping_layers=2)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 32 px generator with random weights (seeded): fast, and its output is deterministic."""
    import torch

    from training.checkpoint import save_generator
    from training.configs import CONFIGS
    from training.networks import Generator

    torch.manual_seed(0)
    generator = Generator(CONFIGS["cpu"].replace(**TINY)).eval()
    return save_generator(tmp_path_factory.mktemp("model") / "tiny.safetensors", generator)
