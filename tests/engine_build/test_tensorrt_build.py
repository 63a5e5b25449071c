"""TensorRT engine builds (need tensorrt 10 and a CUDA GPU: marked gpu, they skip with the
reason elsewhere): fp32 parity with ONNX Runtime, fp16 closeness, profile limits, timing cache
and engine cache reuse."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engines import exported, random_ws
from training.checkpoint import save_generator
from visualizer.backends.onnxruntime_backend import OnnxRuntimeGenerator
from visualizer.core.errors import GansmaniaError

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def trt_env(tmp_path_factory):
    pytest.importorskip("tensorrt", reason="tensorrt is not installed (the gansmania trt extra)")
    from visualizer.backends.tensorrt_backend import availability

    status = availability()
    if not status.ok:
        pytest.skip(status.reason)
    folder = tmp_path_factory.mktemp("trt")
    generator, onnx_path = exported("cpu", folder, seed=8)
    return generator, onnx_path, folder


def _reference(onnx_path, ws, gains) -> np.ndarray:
    return OnnxRuntimeGenerator(onnx_path).run_batch(ws, gains)


def test_fp32_engine_matches_onnxruntime(trt_env):
    from engine_build.tensorrt_build import build_engine
    from visualizer.backends.tensorrt_backend import TensorRTGenerator

    generator, onnx_path, folder = trt_env
    timing = folder / "timing.cache"
    plan = build_engine(onnx_path, folder / "fp32.plan", fp16=False, max_batch=2,
                        timing_cache=timing)
    assert plan.stat().st_size > 0 and timing.stat().st_size > 0
    engine = TensorRTGenerator(plan, precision="fp32")
    ws = random_ws(generator, 2, seed=1)
    gains = np.array([0.0, 2.0], dtype=np.float32)
    got = engine.run_batch(ws, gains)
    assert got.is_cuda and tuple(got.shape) == (2, 3, 256, 256)
    assert np.abs(got.cpu().numpy() - _reference(onnx_path, ws, gains)).max() < 1e-3
    with pytest.raises(GansmaniaError, match="built for 1-2"):
        engine.run_batch(np.repeat(ws, 2, axis=0), np.ones(4, np.float32))
    engine.close()
    # The timing cache from the first build is read by the next one.
    build_engine(onnx_path, folder / "fp32-again.plan", fp16=False, max_batch=2,
                 timing_cache=timing)


def test_an_engine_without_noise_inputs_matches_onnxruntime(trt_env):
    """A generator trained with its noise inputs off: an engine with ws as its only input."""
    from engine_build.tensorrt_build import build_engine
    from visualizer.backends.tensorrt_backend import TensorRTGenerator

    folder = trt_env[2]
    generator, onnx_path = exported("cpu", folder, seed=9, use_noise=False)
    engine = TensorRTGenerator(build_engine(onnx_path, folder / "noise-free.plan", fp16=False,
                                            max_batch=2), precision="fp32")
    ws = random_ws(generator, 2, seed=4)
    gains = np.array([0.0, 2.0], dtype=np.float32)
    got = engine.run_batch(ws, gains).cpu().numpy()
    assert np.abs(got - _reference(onnx_path, ws, gains)).max() < 1e-3
    engine.close()


def test_fp16_engine_is_close_to_fp32(trt_env):
    from engine_build.tensorrt_build import build_engine
    from visualizer.backends.tensorrt_backend import TensorRTGenerator

    generator, onnx_path, folder = trt_env
    engine = TensorRTGenerator(build_engine(onnx_path, folder / "fp16.plan", fp16=True,
                                            max_batch=1), precision="fp16")
    ws = random_ws(generator, 1, seed=2)
    gains = np.ones(1, np.float32)
    got = engine.run_batch(ws, gains).cpu().numpy()
    want = _reference(onnx_path, ws, gains)
    assert np.isfinite(got).all()
    assert np.abs(got - want).mean() < 0.02 * np.abs(want).mean()


def test_engine_cache_builds_once(trt_env, tmp_path, monkeypatch):
    from engine_build.cache import ensure_engine

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    generator, _, _ = trt_env
    model = save_generator(tmp_path / "m.safetensors", generator)
    messages: list[str] = []
    plan = ensure_engine(model, precision="fp16", progress=messages.append)
    stamp = plan.stat().st_mtime_ns
    assert ensure_engine(model, precision="fp16", progress=messages.append) == plan
    assert plan.stat().st_mtime_ns == stamp
    assert sum("building a TensorRT fp16 engine" in m for m in messages) == 1
