"""The onnxruntime backend behind the ImageBackend protocol: frames, noise gain, batches, the
cached export, session options and one-line errors."""

from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest
import torch

from tests.engines import exported, random_ws, torch_images
from tests.training.generators import randomised
from training.checkpoint import save_generator
from training.configs import named_config
from training.generate import to_uint8
from visualizer.backends.base import ImageBackend
from visualizer.backends.onnxruntime_backend import (
    OnnxRuntimeGenerator,
    availability,
    session_options,
)
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.frames import LatentFrame


@pytest.fixture(scope="module")
def cpu_model(tmp_path_factory):
    generator, path = exported("cpu", tmp_path_factory.mktemp("ort"), seed=5)
    backend = OnnxRuntimeGenerator(path)
    yield generator, backend
    backend.close()


def test_backend_follows_the_generator_protocol(cpu_model):
    generator, backend = cpu_model
    assert isinstance(backend, ImageBackend)
    assert backend.name == "onnxruntime-cpu"
    assert (backend.resolution, backend.num_ws, backend.w_dim) == (
        generator.img_resolution, generator.num_ws, generator.w_dim)


def test_synthesize_returns_the_torch_image_as_uint8(cpu_model):
    generator, backend = cpu_model
    ws = random_ws(generator, 1, seed=2)
    image = backend.synthesize(LatentFrame(seq=7, t_audio=1.5, ws=ws[0], noise_gain=0.8))
    want = to_uint8(torch.from_numpy(torch_images(generator, ws, np.array([0.8], np.float32))))
    assert image.dtype == np.uint8 and image.shape == (256, 256, 3)
    # float rounding can move a value across a uint8 step: at most 1 apart, and rarely.
    difference = np.abs(image.astype(int) - want[0].astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01


def test_noise_gain_is_a_graph_input(cpu_model):
    generator, backend = cpu_model
    ws = np.repeat(random_ws(generator, 1, seed=4), 3, axis=0)
    gains = np.array([0.0, 1.0, 3.0], dtype=np.float32)
    images = backend.run_batch(ws, gains)
    assert np.abs(images[0] - images[2]).max() > 0.1  # same w, different noise: different
    assert np.abs(images - torch_images(generator, ws, gains)).max() < 1e-3


def test_a_generator_without_noise_inputs_runs_and_says_so(tmp_path, caplog):
    """A model trained with generator.use_noise=false exports a graph that takes ws only: the
    backend feeds it no noise_gain, paints torch's image at any gain and says why once."""
    generator, path = exported("cpu", tmp_path, seed=6, use_noise=False)
    assert [node.name for node in onnx.load(str(path)).graph.input] == ["ws"]
    with caplog.at_level(logging.INFO, logger="visualizer.backends.base"):
        backend = OnnxRuntimeGenerator(path, threads=1)
    assert "no noise inputs" in caplog.text
    ws = random_ws(generator, 2, seed=3)
    gains = np.array([0.0, 2.0], dtype=np.float32)
    images = backend.run_batch(ws, gains)
    assert np.abs(images - torch_images(generator, ws, gains)).max() < 1e-3
    frame = backend.synthesize(LatentFrame(seq=1, t_audio=0.0, ws=ws[1], noise_gain=1.5))
    assert np.abs(frame.astype(int) - to_uint8(torch.from_numpy(images))[1].astype(int)).max() <= 1
    backend.close()


def test_batch_size_is_dynamic_and_rows_are_independent(cpu_model):
    generator, backend = cpu_model
    ws = random_ws(generator, 4, seed=9)
    gains = np.linspace(0, 2, 4).astype(np.float32)
    batch = backend.run_batch(ws, gains)
    singles = np.concatenate([backend.run_batch(ws[i:i + 1], gains[i:i + 1]) for i in range(4)])
    assert batch.shape == (4, 3, 256, 256)
    assert np.abs(batch - singles).max() < 1e-4


def test_wrong_ws_shape_is_refused(cpu_model):
    _, backend = cpu_model
    with pytest.raises(ValueError, match=r"ws must be \[14, 256\]"):
        backend.synthesize(LatentFrame(seq=0, t_audio=0.0, ws=np.zeros((14, 512), np.float32),
                                       noise_gain=1.0))


def test_session_options_are_set_for_batch_1_latency():
    import onnxruntime as ort

    options = session_options(threads=3)
    assert options.intra_op_num_threads == 3
    assert options.inter_op_num_threads == 1
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert session_options().intra_op_num_threads >= 1


def test_cpu_provider_is_available_and_cuda_says_why_not():
    assert availability("cpu").ok
    import onnxruntime as ort

    cuda = availability("cuda")
    assert cuda.ok == ("CUDAExecutionProvider" in ort.get_available_providers())
    if not cuda.ok:
        assert "CUDAExecutionProvider" in cuda.reason
        with pytest.raises(GansmaniaError, match="CUDAExecutionProvider"):
            OnnxRuntimeGenerator("unused.onnx", device="cuda")


def test_from_model_exports_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    generator = randomised(named_config("cpu"), seed=6)
    model = save_generator(tmp_path / "model.safetensors", generator)
    first = OnnxRuntimeGenerator.from_model(model)
    cached = first.onnx_path
    assert cached.is_relative_to(tmp_path / "cache")
    stamp = cached.stat().st_mtime_ns
    second = OnnxRuntimeGenerator.from_model(model)
    assert second.onnx_path == cached and cached.stat().st_mtime_ns == stamp
    ws = random_ws(generator, 1, seed=1)
    frame = LatentFrame(seq=0, t_audio=0.0, ws=ws[0], noise_gain=1.0)
    assert np.array_equal(first.synthesize(frame), second.synthesize(frame))


def test_a_graph_onnxruntime_cannot_load_is_one_line(tmp_path):
    import dataclasses

    import onnx
    from onnx import TensorProto, helper

    from engine_build.export import GraphInfo

    ws = helper.make_tensor_value_info("ws", TensorProto.FLOAT, [1, 2])
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 2])
    node = helper.make_node("Relu", ["ws"], ["image"], domain="not.a.domain")
    model = helper.make_model(helper.make_graph([node], "g", [ws], [image]), opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("not.a.domain", 1)])
    info = GraphInfo(num_ws=1, w_dim=2, resolution=1, img_channels=3, model_hash="",
                     export_version=1)
    for key, value in dataclasses.asdict(info).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = f"gansmania.{key}", str(value)
    path = tmp_path / "odd.onnx"
    onnx.save(model, str(path))
    with pytest.raises(GansmaniaError, match="odd.onnx: ONNX Runtime cannot load it") as error:
        OnnxRuntimeGenerator(path)
    assert "\n" not in str(error.value)
