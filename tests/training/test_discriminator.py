"""The residual discriminator: shapes, labels, minibatch statistics and R1's double backward."""

from __future__ import annotations

import torch

from training.discriminator import Discriminator, DiscriminatorConfig, MinibatchStdLayer

SMALL = DiscriminatorConfig(channel_base=256, channel_max=32, mbstd_group_size=4)


def test_logits_for_images_and_block_names():
    torch.manual_seed(0)
    d = Discriminator(SMALL, img_resolution=32)
    assert d.block_resolutions == [32, 16, 8]
    assert d(torch.randn(8, 3, 32, 32)).shape == (8, 1)
    names = dict(d.named_parameters())
    assert "b32.fromrgb.weight" in names and "b4.out.bias" in names and "b8.skip.weight" in names


def test_conditional_output_depends_on_the_label():
    torch.manual_seed(0)
    d = Discriminator(SMALL, img_resolution=16, c_dim=3)
    images = torch.randn(4, 3, 16, 16)
    a = d(images, torch.eye(3)[[0, 0, 0, 0]])
    b = d(images, torch.eye(3)[[1, 1, 1, 1]])
    assert a.shape == (4, 1) and not torch.allclose(a, b)


def test_minibatch_std_is_zero_for_identical_images_and_positive_otherwise():
    layer = MinibatchStdLayer(group_size=4)
    same = torch.ones(4, 2, 3, 3)
    out = layer(same)
    assert out.shape == (4, 3, 3, 3) and out[:, 2].abs().max() < 1e-3
    varied = torch.randn(4, 2, 3, 3)
    assert layer(varied)[:, 2].min() > 0.1


def test_r1_double_backward_reaches_every_parameter():
    torch.manual_seed(0)
    d = Discriminator(SMALL, img_resolution=16)
    real = torch.randn(4, 3, 16, 16, requires_grad=True)
    logits = d(real)
    grad, = torch.autograd.grad(logits.sum(), real, create_graph=True)
    (logits * 0 + grad.square().sum([1, 2, 3])).mean().backward()
    assert all(p.grad is not None for p in d.parameters())
    assert d.b16.conv0.weight.grad.abs().sum() > 0
