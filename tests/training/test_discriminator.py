"""The discriminator: shapes, labels, minibatch statistics, R1's double backward, and the skip
architecture's image input at every block."""

from __future__ import annotations

import dataclasses

import pytest
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


def test_skip_architecture_reads_the_image_at_every_block():
    """NVlabs' `skip`: a fromrgb per block and in the epilogue, no residual 1x1 convs; each
    block sees the image downsampled to its own size, so the logit still depends on the image
    when the top block is cut off."""
    torch.manual_seed(0)
    d = Discriminator(dataclasses.replace(SMALL, architecture="skip"), img_resolution=32)
    names = dict(d.named_parameters())
    assert {f"b{r}.fromrgb.weight" for r in (32, 16, 8, 4)} <= names.keys()
    assert not any(".skip." in name for name in names)
    _, half = d.b32(None, torch.full((2, 3, 32, 32), 0.5))
    assert half.shape == (2, 3, 16, 16)  # the image for b16, its level kept (away from the border)
    torch.testing.assert_close(half[..., 2:-2, 2:-2], torch.full((2, 3, 12, 12), 0.5))
    images = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        d.b32.conv1.weight.zero_()
        d.b32.conv1.bias.zero_()
    a, b = d(images), d(images.flip(2))  # the top block adds nothing now: only lower fromrgbs
    assert a.shape == (8, 1) and not torch.allclose(a, b)


@pytest.mark.parametrize("architecture", ["resnet", "skip"])
def test_r1_double_backward_reaches_every_parameter(architecture):
    torch.manual_seed(0)
    d = Discriminator(dataclasses.replace(SMALL, architecture=architecture),
                      img_resolution=16)
    real = torch.randn(4, 3, 16, 16, requires_grad=True)
    logits = d(real)
    grad, = torch.autograd.grad(logits.sum(), real, create_graph=True)
    (logits * 0 + grad.square().sum([1, 2, 3])).mean().backward()
    assert all(p.grad is not None for p in d.parameters())
    assert d.b16.conv0.weight.grad.abs().sum() > 0
    if architecture == "skip":  # the image's path into the lower blocks is trained too
        assert d.b8.fromrgb.weight.grad.abs().sum() > 0 and d.b4.fromrgb.weight.grad.abs().sum() > 0
