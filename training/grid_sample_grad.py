"""Bilinear ``grid_sample`` that can be differentiated twice on every device.

R1 needs the gradient of D(augment(real)) with respect to the real images, and then the gradient
of that gradient's norm: a second derivative through ADA's geometric transform. PyTorch's CUDA
build has no derivative for ``grid_sampler_2d_backward`` ("derivative for
aten::grid_sampler_2d_backward is not implemented"), so training on a GPU with augmentation
failed at the first R1 step; the CPU build happened to work.

The sampling grid here never needs a gradient (it is made from random transform parameters), so
sampling is a linear map of the images: its gradient is the adjoint map (PyTorch's backward
kernel), and the adjoint's own gradient is the forward map again. Two small autograd functions
say exactly that, and any order of derivative works with the kernels PyTorch already has.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# aten's enums for grid_sampler_2d_backward: interpolation 0 = bilinear, padding 0 = zeros.
_BILINEAR, _ZEROS, _ALIGN_CORNERS = 0, 0, False


def grid_sample_bilinear(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """``F.grid_sample(images, grid, "bilinear", "zeros", align_corners=False)``, twice
    differentiable in ``images`` on CPU and CUDA. ``grid`` must not need a gradient."""
    if grid.requires_grad:
        raise ValueError("grid_sample_bilinear differentiates in the images only; "
                         "the grid must not require a gradient")
    return _Sample.apply(images, grid)


class _Sample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, images, grid):
        ctx.save_for_backward(images, grid)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=_ALIGN_CORNERS)

    @staticmethod
    def backward(ctx, grad_output):
        images, grid = ctx.saved_tensors
        grad_images = _Adjoint.apply(grad_output, images, grid) if ctx.needs_input_grad[0] else None
        return grad_images, None


class _Adjoint(torch.autograd.Function):
    """The gradient of sampling with respect to the images: linear in ``grad_output``."""

    @staticmethod
    def forward(ctx, grad_output, images, grid):
        ctx.save_for_backward(grid)
        # ``images`` only gives the kernel the input's shape, dtype and device.
        grad_images, _ = torch.ops.aten.grid_sampler_2d_backward(
            grad_output, images, grid, _BILINEAR, _ZEROS, _ALIGN_CORNERS, (True, False))
        return grad_images

    @staticmethod
    def backward(ctx, grad_grad_images):
        (grid,) = ctx.saved_tensors
        grad_grad_output = (_Sample.apply(grad_grad_images, grid)
                            if ctx.needs_input_grad[0] else None)
        # The adjoint does not depend on the images' values: no gradient for them.
        return grad_grad_output, None, None
