"""The twice-differentiable bilinear grid_sample that ADA's geometric transform uses (R1 takes the
gradient of a gradient through it; PyTorch's CUDA build cannot)."""

import pytest
import torch
import torch.nn.functional as F

from training.grid_sample_grad import grid_sample_bilinear


def _inputs(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    images = torch.randn(2, 3, 5, 6, dtype=dtype, generator=g, requires_grad=True)
    grid = (torch.rand(2, 4, 7, 2, dtype=dtype, generator=g) * 2.4 - 1.2)  # some points outside
    return images, grid


def test_forward_is_torchs_bilinear_zero_padded_sampling():
    images, grid = _inputs(torch.float32)
    expected = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    assert torch.equal(grid_sample_bilinear(images, grid), expected)


def test_first_and_second_derivatives_are_right():
    images, grid = _inputs()
    assert torch.autograd.gradcheck(lambda x: grid_sample_bilinear(x, grid), (images,))
    assert torch.autograd.gradgradcheck(lambda x: grid_sample_bilinear(x, grid), (images,))


def test_an_r1_style_penalty_gets_the_same_gradient_as_torchs_own_cpu_path():
    # R1: |d score / d images|^2, then its gradient with respect to the weights of what follows.
    images, grid = _inputs()
    weight = torch.randn(2, 3, 4, 7, dtype=torch.float64, requires_grad=True)

    def penalty_grad(sample):
        score = (sample(images, grid) * weight).square().sum()
        (grad_images,) = torch.autograd.grad(score, images, create_graph=True)
        return torch.autograd.grad(grad_images.square().sum(), weight)[0]

    ours = penalty_grad(grid_sample_bilinear)
    torchs = penalty_grad(lambda x, g: F.grid_sample(x, g, mode="bilinear", padding_mode="zeros",
                                                     align_corners=False))
    torch.testing.assert_close(ours, torchs)


def test_a_grid_that_needs_a_gradient_is_refused():
    images, grid = _inputs()
    with pytest.raises(ValueError, match="grid must not require a gradient"):
        grid_sample_bilinear(images, grid.requires_grad_(True))
