"""The torch backend, the latent space the controller walks in, and the backend registry."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from tests.visualizer.backends.models import SMALL, small_generator
from training.latents import z_from_seeds
from training.networks import Generator
from visualizer.backends.base import ImageBackend
from visualizer.backends.base import BackendRequest
from visualizer.backends.registry import BACKENDS, create_backend, resolve_backend
from visualizer.backends.torch_backend import TorchGenerator, TorchLatentSpace
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.frames import LatentFrame


def frame_for(generator, *, seed: int = 3, noise_gain: float = 1.0, seq: int = 0) -> LatentFrame:
    with torch.no_grad():
        ws = generator.mapping(z_from_seeds([seed], generator.z_dim), None)[0]
    return LatentFrame(seq=seq, t_audio=1.0, ws=ws.numpy().astype(np.float32), noise_gain=noise_gain)


def test_torch_backend_paints_what_the_network_paints():
    generator = small_generator()
    backend = TorchGenerator(generator, device="cpu")
    assert isinstance(backend, ImageBackend)
    assert (backend.name, backend.resolution, backend.num_ws, backend.w_dim) == \
        ("torch-cpu", 64, SMALL.num_ws, 64)
    frame = frame_for(generator)
    image = backend.synthesize(frame)
    with torch.no_grad():
        expected = generator.synthesis(torch.from_numpy(frame.ws.copy())[None], noise_mode="const")
    assert image.shape == (1, 3, 64, 64)
    torch.testing.assert_close(image, expected)
    other = backend.synthesize(frame_for(generator, seed=4))
    assert (other - image).abs().mean() > 1e-3  # a different w paints a different picture
    with pytest.raises(ValueError, match="shape"):
        backend.synthesize(LatentFrame(seq=1, t_audio=0.0, ws=np.zeros((3, 64), np.float32),
                                       noise_gain=1.0))


def test_noise_gain_scales_the_learned_noise():
    generator = small_generator(noise_strength=0.5)
    backend = TorchGenerator(generator, device="cpu")
    calm = backend.synthesize(frame_for(generator, noise_gain=0.0))
    same = backend.synthesize(frame_for(generator, noise_gain=0.0))
    noisy = backend.synthesize(frame_for(generator, noise_gain=3.0))
    torch.testing.assert_close(calm, same)  # const noise: deterministic
    assert (noisy - calm).abs().mean() > 1e-3


def test_a_generator_without_noise_inputs_says_the_gain_changes_nothing(caplog):
    torch.manual_seed(0)
    generator = Generator(SMALL.replace(use_noise=False)).eval().requires_grad_(False)
    with caplog.at_level(logging.INFO, logger="visualizer.backends.base"):
        backend = TorchGenerator(generator, device="cpu")
    assert "no noise inputs" in caplog.text
    torch.testing.assert_close(backend.synthesize(frame_for(generator, noise_gain=0.0)),
                               backend.synthesize(frame_for(generator, noise_gain=3.0)))


def test_latent_space_maps_seeds_and_z_like_the_network():
    generator = small_generator()
    space = TorchLatentSpace(generator)
    assert (space.z_dim, space.w_dim, space.num_ws) == (64, 64, SMALL.num_ws)
    ws = space.ws_of_seeds([5, 6])
    with torch.no_grad():
        expected = generator.mapping(z_from_seeds([5, 6], 64), None).numpy()
    np.testing.assert_allclose(ws, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(space.ws_of_z(z_from_seeds([5], 64).numpy()), expected[:1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(space.w_avg, generator.mapping.w_avg.numpy())


def test_registry_picks_torch_on_this_machine_and_says_why():
    request = BackendRequest(model_path=None, generator=small_generator(), device="cpu")
    assert "torch" in BACKENDS
    name, reason = resolve_backend("auto", request)
    # On a machine without the compiled backends, auto falls through to torch and says so.
    assert name in BACKENDS and reason.startswith("auto")
    backend, _ = create_backend("torch", request)
    assert backend.name == "torch-cpu"
    with pytest.raises(GansmaniaError, match="backend 'vulkan' is not available.*available: auto, torch"):
        resolve_backend("vulkan", request)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_is_one_line():
    request = BackendRequest(model_path=None, generator=small_generator(), device="cuda")
    with pytest.raises(GansmaniaError, match="backend 'torch' cannot run here: no CUDA GPU"):
        resolve_backend("torch", request)


@pytest.mark.gpu
def test_cuda_backend_matches_the_cpu_picture():
    generator = small_generator()
    frame = frame_for(generator)
    cpu = TorchGenerator(small_generator(), device="cpu").synthesize(frame)
    cuda = TorchGenerator(generator, device="cuda").synthesize(frame)
    assert cuda.device == "cuda" and cuda.torch_device.type == "cuda"
    torch.testing.assert_close(cuda.cpu(), cpu, atol=1e-3, rtol=1e-3)
