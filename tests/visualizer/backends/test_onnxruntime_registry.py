"""`--backend auto`: tensorrt > onnxruntime-cuda > torch-cuda > onnxruntime-cpu > torch-cpu,
from what is installed and working (fakes stand in for the GPU parts), with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.training.generators import randomised
from training.checkpoint import save_generator
from training.configs import named_config
from visualizer.backends import onnxruntime_backend, tensorrt_backend
from visualizer.backends.base import Availability, BackendRequest
from visualizer.backends.onnxruntime_backend import OnnxRuntimeGenerator
from visualizer.backends.registry import create_backend, resolve_backend
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.frames import LatentFrame

NO = Availability(False, "missing here")
YES = Availability(True, "works")


def _machine(monkeypatch, *, trt: bool, ort_cuda: bool, ort_cpu: bool = True,
             cuda: bool) -> None:
    """Pretend this machine has (or lacks) each part."""
    monkeypatch.setattr(tensorrt_backend, "availability", lambda: YES if trt else NO)
    monkeypatch.setattr(onnxruntime_backend, "availability",
                        lambda device: YES if (ort_cuda if device == "cuda" else ort_cpu) else NO)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)


def _request(device: str = "auto", precision: str = "auto") -> BackendRequest:
    return BackendRequest(model_path=Path("unused.safetensors"), generator=None, device=device,
                          precision=precision)


@pytest.mark.parametrize("machine, want", [
    (dict(trt=True, ort_cuda=True, cuda=True), "tensorrt-cuda"),
    (dict(trt=False, ort_cuda=True, cuda=True), "onnxruntime-cuda"),
    (dict(trt=False, ort_cuda=False, cuda=True), "torch-cuda"),
    (dict(trt=False, ort_cuda=False, cuda=False), "onnxruntime-cpu"),
    (dict(trt=False, ort_cuda=True, cuda=False), "onnxruntime-cpu"),  # provider, but no GPU
    (dict(trt=False, ort_cuda=False, ort_cpu=False, cuda=False), "torch-cpu"),
])
def test_auto_takes_the_first_usable_in_preference_order(monkeypatch, machine, want):
    _machine(monkeypatch, **machine)
    name, reason = resolve_backend("auto", _request())
    assert name == want.split("-")[0]
    assert reason.startswith(f"auto: {want}, the first usable")


def test_auto_says_why_it_skipped_the_faster_backends(monkeypatch):
    _machine(monkeypatch, trt=False, ort_cuda=False, cuda=False)
    _, reason = resolve_backend("auto", _request())
    assert "tensorrt-cuda: missing here" in reason
    assert "onnxruntime-cuda: missing here" in reason
    assert "torch-cuda: no CUDA GPU visible to torch" in reason


def test_model_device_cpu_keeps_auto_off_the_gpu(monkeypatch):
    _machine(monkeypatch, trt=True, ort_cuda=True, cuda=True)
    name, reason = resolve_backend("auto", _request(device="cpu"))
    assert (name, reason.split(",")[0]) == ("onnxruntime", "auto: onnxruntime-cpu")
    assert "tensorrt-cuda: model.device = cpu" in reason


def test_a_named_backend_that_cannot_run_is_one_line(monkeypatch):
    _machine(monkeypatch, trt=False, ort_cuda=False, cuda=False)
    with pytest.raises(GansmaniaError, match="backend 'tensorrt' cannot run here: missing here"):
        resolve_backend("tensorrt", _request())
    assert resolve_backend("onnxruntime", _request()) == ("onnxruntime", "asked for")


def test_tensorrt_is_never_picked_for_a_cpu_request(monkeypatch):
    _machine(monkeypatch, trt=True, ort_cuda=True, cuda=True)
    assert tensorrt_backend.unavailable(_request(device="cpu")) == "model.device = cpu"
    assert tensorrt_backend.unavailable(_request(device="cuda")) is None


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")
def test_auto_builds_onnxruntime_on_this_cpu_with_torchs_thread_count(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    generator = randomised(named_config("cpu"), seed=2).requires_grad_(False)
    model = save_generator(tmp_path / "model.safetensors", generator)
    threads = torch.get_num_threads()
    backend, reason = create_backend("auto", BackendRequest(model_path=model,
                                                            generator=generator))
    try:
        assert isinstance(backend, OnnxRuntimeGenerator) and backend.name == "onnxruntime-cpu"
        assert reason.startswith("auto: onnxruntime-cpu")
        assert backend.threads == threads
        image = backend.synthesize(LatentFrame(seq=1, t_audio=0.0, noise_gain=1.0,
                                               ws=np.zeros((14, 256), np.float32)))
        assert image.shape == (256, 256, 3)
    finally:
        backend.close()
