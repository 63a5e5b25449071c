"""ONNX Runtime vs torch eager: within 1e-3 max abs (fp32) for each named config, random w
and noise gains. The 512/1024 exports take 10-30 s and GBs of memory on a CPU: marked slow."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engines import exported, random_ws, torch_images
from visualizer.backends.onnxruntime_backend import OnnxRuntimeGenerator

TOLERANCE = 1e-3  # max abs, images in about [-1, 1] (random weights reach +-20)


@pytest.mark.parametrize("config", [
    "cpu",
    pytest.param("256", marks=pytest.mark.slow),
    pytest.param("512", marks=pytest.mark.slow),
    pytest.param("1024", marks=pytest.mark.slow),
])
def test_onnxruntime_matches_torch(config, tmp_path):
    generator, path = exported(config, tmp_path, seed=3)
    backend = OnnxRuntimeGenerator(path)
    count = 3 if config == "cpu" else 2
    ws = random_ws(generator, count, seed=11)
    noise_gain = np.array([0.0, 1.0, 2.5][:count], dtype=np.float32)
    got = backend.run_batch(ws, noise_gain)
    want = torch_images(generator, ws, noise_gain)
    assert got.shape == want.shape == (count, 3, generator.img_resolution,
                                       generator.img_resolution)
    assert np.abs(got - want).max() < TOLERANCE
    # The check has teeth: the images differ from each other far more than the tolerance.
    assert np.abs(want[0] - want[1]).max() > 100 * TOLERANCE
    backend.close()
