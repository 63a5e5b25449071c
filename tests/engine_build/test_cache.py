"""The engine cache: keys, model hashes, exporting once, rebuilding what went stale."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import torch

from engine_build import cache
from engine_build.cache import EngineKey, ensure_onnx, model_hash, onnx_cache_path, plan_cache_path
from engine_build.export import read_graph_info
from tests.training.generators import TINY, randomised
from training.checkpoint import read_header, save_generator
from visualizer.core.errors import GansmaniaError

KEY = EngineKey(model_hash="ab" * 32, precision="fp16", max_batch=1,
                gpu="NVIDIA GeForce RTX 4090", tensorrt_version="10.13.0.35")


def test_every_key_field_gives_a_different_plan_file(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    variants = [KEY, dataclasses.replace(KEY, model_hash="cd" * 32),
                dataclasses.replace(KEY, precision="fp32"), dataclasses.replace(KEY, max_batch=8),
                dataclasses.replace(KEY, gpu="NVIDIA H100 80GB HBM3"),
                dataclasses.replace(KEY, tensorrt_version="10.0.1"),
                dataclasses.replace(KEY, export_version=KEY.export_version + 1)]
    paths = {plan_cache_path(k) for k in variants}
    assert len(paths) == len(variants)
    assert all(p.parent == tmp_path / "gansmania" / "engines" for p in paths)
    assert plan_cache_path(KEY).name == (
        "abababababababab-fp16-b1-nvidia_geforce_rtx_4090-trt10.13.0.35-x1.plan")


def test_bad_keys_are_refused():
    with pytest.raises(ValueError, match="precision 'int8'"):
        dataclasses.replace(KEY, precision="int8")
    with pytest.raises(ValueError, match="max_batch must be >= 1"):
        dataclasses.replace(KEY, max_batch=0)


def test_model_hash_is_the_checkpoints_generator_digest(tmp_path):
    path = save_generator(tmp_path / "a.safetensors", randomised(TINY, seed=1))
    assert model_hash(path) == read_header(path)["groups"]["G_ema"]["sha256"]
    other = save_generator(tmp_path / "b.safetensors", randomised(TINY, seed=2))
    assert model_hash(other) != model_hash(path)


def test_pickles_are_hashed_whole(tmp_path):
    path = tmp_path / "network.pkl"
    path.write_bytes(b"not really a pickle, but hashing does not unpickle")
    assert model_hash(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_ensure_onnx_exports_once_and_reuses(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = save_generator(tmp_path / "m.safetensors", randomised(TINY))
    messages: list[str] = []
    first = ensure_onnx(model, progress=messages.append)
    assert first == onnx_cache_path(model_hash(model))
    assert read_graph_info(first).model_hash == model_hash(model)
    assert ensure_onnx(model, progress=messages.append) == first
    assert len(messages) == 1 and "exporting m.safetensors to ONNX" in messages[0]


def test_a_cached_graph_of_other_weights_is_exported_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = save_generator(tmp_path / "m.safetensors", randomised(TINY))
    target = onnx_cache_path(model_hash(model))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated by a crash")
    messages: list[str] = []
    assert ensure_onnx(model, progress=messages.append) == target
    assert len(messages) == 1 and read_graph_info(target).model_hash == model_hash(model)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_ensure_engine_without_tensorrt_or_gpu_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = save_generator(tmp_path / "m.safetensors", randomised(TINY))
    with pytest.raises(GansmaniaError) as error:
        cache.ensure_engine(model)
    assert "\n" not in str(error.value)
    assert "TensorRT" in str(error.value) or "CUDA" in str(error.value)
