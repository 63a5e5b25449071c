"""The tensorrt backend: importable and self-explaining without TensorRT or a GPU; on a GPU
(marked gpu) it follows the ImageBackend protocol and keeps the frame on the GPU."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tests.engines import exported, random_ws, torch_images
from visualizer.backends import tensorrt_backend
from visualizer.backends.base import ImageBackend
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.frames import LatentFrame

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


@pytest.mark.skipif(HAS_TENSORRT, reason="checks an install without tensorrt")
def test_without_tensorrt_the_backend_says_why_and_never_breaks_imports():
    status = tensorrt_backend.availability()
    assert not status.ok and "tensorrt is not installed" in status.reason
    with pytest.raises(GansmaniaError, match="TensorRT is not installed"):
        tensorrt_backend.TensorRTGenerator("missing.plan")


@pytest.mark.gpu
def test_tensorrt_generator_keeps_the_frame_on_the_gpu(tmp_path):
    pytest.importorskip("tensorrt", reason="tensorrt is not installed (the gansmania trt extra)")
    status = tensorrt_backend.availability()
    if not status.ok:
        pytest.skip(status.reason)
    from engine_build.tensorrt_build import build_engine

    generator, onnx_path = exported("cpu", tmp_path, seed=4)
    plan = build_engine(onnx_path, tmp_path / "fp32.plan", fp16=False, max_batch=1)
    backend = tensorrt_backend.TensorRTGenerator(plan, precision="fp32")
    assert isinstance(backend, ImageBackend) and backend.name == "tensorrt-fp32"
    assert (backend.resolution, backend.num_ws, backend.w_dim) == (256, 14, 256)
    ws = random_ws(generator, 1, seed=3)
    image = backend.synthesize(LatentFrame(seq=1, t_audio=0.0, ws=ws[0], noise_gain=0.5))
    assert image.is_cuda and tuple(image.shape) == (1, 3, 256, 256)
    want = torch_images(generator, ws, np.array([0.5], np.float32))
    assert np.abs(image.cpu().numpy() - want).max() < 1e-3
    backend.close()
