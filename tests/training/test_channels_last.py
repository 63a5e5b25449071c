"""CPU training runs its networks channels-last (``training.loop.training_layout``): the same
gradients as the contiguous layout, R1's second derivative included, and checkpoints that load
as the weights they were."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from training.checkpoint import load_generator, save_generator
from training.discriminator import Discriminator, DiscriminatorConfig
from training.loop import training_layout
from training.loss import GeneratorStep, LossSettings, LossStats, StyleGAN2Loss

from .generators import TINY, randomised

D_SMALL = DiscriminatorConfig(channel_base=128, channel_max=16, mbstd_group_size=4)
CONFIG = dataclasses.replace(TINY, img_resolution=32)


CPU = torch.device("cpu")


def gradients(phase: str, *, as_trained: bool) -> dict[str, torch.Tensor]:
    """Every gradient of one ``phase`` of the StyleGAN2 loss, in contiguous copies; the networks
    in training's CPU layout or in the default contiguous one."""
    layout = (lambda m: training_layout(m, CPU)) if as_trained else (lambda m: m)
    g = layout(randomised(CONFIG).train().requires_grad_(False))
    torch.manual_seed(1)
    d = layout(Discriminator(D_SMALL, img_resolution=32).train().requires_grad_(False))
    trained = g if phase.startswith("G") else d
    trained.requires_grad_(True)
    loss = StyleGAN2Loss(settings=LossSettings(r1_gamma=1.0, pl_weight=0), augment=None,
                         pl_mean=torch.zeros([]))
    data = torch.Generator().manual_seed(2)
    real = torch.rand(4, 3, 32, 32, generator=data) * 2 - 1
    z, c = torch.randn(4, CONFIG.z_dim, generator=data), torch.zeros(4, 0)
    torch.manual_seed(3)  # the noise inputs
    loss.accumulate(phase, g=GeneratorStep(g, style_mixing=0.0, force_fp32=True), d=d, real=real,
                    real_c=c, gen_z=z, gen_c=c, gain=1.0, stats=LossStats())
    return {name: p.grad.contiguous() for name, p in trained.named_parameters()}


@pytest.mark.parametrize("phase", ["Gmain", "Dmain", "Dreg"])
def test_channels_last_training_step_gives_the_contiguous_gradients(phase):
    plain = gradients(phase, as_trained=False)
    last = gradients(phase, as_trained=True)
    assert plain.keys() == last.keys()
    # Summation order differs between the layouts, so compare the whole gradient, not bits.
    a, b = (torch.cat([t.flatten() for t in grads.values()]) for grads in (plain, last))
    assert a.norm() > 0 and float((a - b).norm() / a.norm()) < 1e-5


def test_a_channels_last_generator_saves_and_loads_as_the_same_weights(tmp_path):
    g = training_layout(randomised(CONFIG), CPU)
    assert g.synthesis.b32.conv0.weight.is_contiguous(memory_format=torch.channels_last)
    d = training_layout(Discriminator(D_SMALL, img_resolution=32), CPU)
    path = save_generator(tmp_path / "g.safetensors", g, discriminator=d)
    loaded = load_generator(path)
    for name, tensor in g.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    z = torch.randn(2, CONFIG.z_dim)
    torch.testing.assert_close(loaded(z, None, noise_mode="const"), g(z, None, noise_mode="const"))
