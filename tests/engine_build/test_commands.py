"""`gansmania build-engine`: ONNX into a folder or the cache; TensorRT errors are one line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from engine_build.export import read_graph_info
from tests.training.generators import randomised
from training.checkpoint import save_generator
from training.configs import named_config


def gansmania(*args: str, env_cache) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "XDG_CACHE_HOME": str(env_cache)}
    return subprocess.run([sys.executable, "-m", "visualizer.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    return save_generator(folder / "show.safetensors", randomised(named_config("cpu"), seed=4))


def test_build_engine_writes_the_onnx_graph_into_out(model, tmp_path):
    result = gansmania("build-engine", "--model", str(model), "--format", "onnx", "--out",
                       str(tmp_path / "engines"), env_cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    written = tmp_path / "engines" / "show.onnx"
    assert f"ready: {written}" in result.stdout
    assert read_graph_info(written).resolution == 256


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_build_engine_tensorrt_without_a_gpu_is_one_line_exit_2(model, tmp_path):
    result = gansmania("build-engine", "--model", str(model), env_cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gansmania: error: ")
    assert "--format onnx" in result.stderr or "CUDA" in result.stderr


def test_a_missing_model_is_one_line_exit_2(tmp_path):
    result = gansmania("build-engine", "--model", str(tmp_path / "nope.safetensors"),
                       "--format", "onnx", env_cache=tmp_path / "cache")
    assert result.returncode == 2 and "nope.safetensors: file not found" in result.stderr
