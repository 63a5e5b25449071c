"""ADA: each augmentation does what it says on images whose answer is known; p steers it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from training.augment import (SYM6, AdaController, AugmentPipe, AugmentSpec, _fir,
                              _fir_by_convolution)

ALL_OFF = AugmentSpec(**{f.name: 0.0 for f in dataclasses.fields(AugmentSpec)
                         if not f.name.endswith(("_max", "_std"))})


def pipe(p: float = 1.0, **enabled: float) -> AugmentPipe:
    augment = AugmentPipe(dataclasses.replace(ALL_OFF, **enabled))
    augment.p.fill_(p)
    return augment


def smooth_images(n: int = 16, size: int = 32) -> torch.Tensor:
    """Band-limited test images (the resampling filters pass them almost unchanged)."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    img = torch.stack([torch.sin(2.5 * x + 0.7 * y), torch.cos(1.5 * y) * x, 0.8 * x * y])
    return img.unsqueeze(0).repeat(n, 1, 1, 1)


def test_p_zero_changes_nothing():
    torch.manual_seed(0)
    images = smooth_images()
    assert torch.equal(AugmentPipe()(images), images)


def test_xflip_mirrors_about_half_of_the_images():
    torch.manual_seed(0)
    images = smooth_images(64)
    out = pipe(xflip=1)(images)
    flipped = [(o - i.flip(-1)).abs().max() < 0.05 for o, i in zip(out, images)]
    kept = [(o - i).abs().max() < 1e-4 for o, i in zip(out, images)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 16 < sum(flipped) < 48


def test_rotate90_gives_quarter_turns():
    torch.manual_seed(1)
    images = smooth_images(32)
    out = pipe(rotate90=1)(images)
    turns = []
    for o, i in zip(out, images):
        errors = [(o - torch.rot90(i, k, (1, 2))).abs().max().item() for k in range(4)]
        assert min(errors) < 0.05
        turns.append(min(range(4), key=errors.__getitem__))
    assert len(set(turns)) == 4


def test_integer_translation_moves_by_whole_pixels():
    torch.manual_seed(2)
    images = torch.rand(8, 3, 32, 32)
    out = pipe(xint=1)(images)
    for o, i in zip(out, images):
        # the interior equals the input rolled by some whole-pixel shift (max 4 px = 0.125 * 32)
        best = min((o[:, 8:24, 8:24] - torch.roll(i, (dy, dx), (1, 2))[:, 8:24, 8:24]).abs().max()
                   for dy in range(-4, 5) for dx in range(-4, 5))
        assert best < 1e-4


def test_isotropic_scaling_keeps_the_centre_and_changes_the_rest():
    torch.manual_seed(3)
    images = smooth_images(8)
    out = pipe(scale=1)(images)
    centre = (out[:, :, 15:17, 15:17] - images[:, :, 15:17, 15:17]).abs().max()
    assert centre < 0.1
    assert (out - images).abs().amax(dim=(1, 2, 3)).min() > 0.01


def test_brightness_shifts_every_pixel_by_one_constant():
    torch.manual_seed(4)
    images = torch.rand(8, 3, 16, 16)
    delta = pipe(brightness=1)(images) - images
    assert torch.allclose(delta, delta[:, :1, :1, :1].expand_as(delta), atol=1e-5)
    assert delta[:, 0, 0, 0].abs().min() > 0


def test_colour_transforms_keep_grey_grey_except_brightness_contrast_and_luma():
    torch.manual_seed(5)
    grey = torch.full((8, 3, 4, 4), 0.3)
    out = pipe(hue=1, saturation=1)(grey)
    assert torch.allclose(out, grey, atol=1e-5)  # hue and saturation leave the luma axis alone
    flipped = pipe(lumaflip=1)(grey)
    assert {round(v, 4) for v in flipped[:, 0, 0, 0].tolist()} <= {0.3, -0.3}


def test_hue_rotation_keeps_luma_and_moves_colour():
    torch.manual_seed(6)
    red = torch.zeros(8, 3, 4, 4)
    red[:, 0] = 1
    out = pipe(hue=1)(red)
    assert torch.allclose(out.mean(1), red.mean(1), atol=1e-5)
    assert (out - red).abs().amax(dim=(1, 2, 3)).min() > 0.01


def test_gradients_flow_through_the_full_pipeline_twice():
    torch.manual_seed(7)
    images = smooth_images(4).requires_grad_(True)
    weight = torch.randn(3, 3, 3, 3, requires_grad=True)
    augment = AugmentPipe()
    augment.p.fill_(1.0)
    out = torch.nn.functional.conv2d(augment(images), weight)
    grad, = torch.autograd.grad(out.square().sum(), images, create_graph=True)  # R1 needs this
    grad.square().sum().backward()
    assert weight.grad is not None and torch.isfinite(weight.grad).all() and weight.grad.abs().sum() > 0


def test_only_the_transformed_images_are_resampled_and_they_match_the_whole_batch_path():
    torch.manual_seed(3)
    images = smooth_images(16) + 0.05 * torch.randn(16, 3, 32, 32)  # not band-limited: any filtering shows
    augment = pipe(0.3, xflip=1.0, rotate=1.0, scale=1.0, xfrac=1.0)
    calls = []
    resample = augment._resample
    augment._resample = lambda x, g_inv: calls.append((x, g_inv)) or resample(x, g_inv)
    out = augment._geometric(images)
    (passed, g_inv), = calls
    moved = torch.tensor([any(torch.equal(image, x) for x in passed) for image in images])
    assert 0 < len(passed) == int(moved.sum()) < 16
    assert not (g_inv == torch.eye(3)).flatten(1).all(1).any()  # each one passed was transformed
    assert torch.equal(out[~moved], images[~moved])
    # The same transforms with every image resampled, as before (identity rows included).
    everything = torch.eye(3).repeat(16, 1, 1)
    everything[moved] = g_inv
    whole = resample(images, everything)[moved]
    assert torch.allclose(out[moved], whole, atol=1e-5)
    assert (out[moved] - images[moved]).abs().amax() > 0.01


def test_gradients_flow_twice_when_only_part_of_the_batch_is_transformed():
    torch.manual_seed(11)
    images = smooth_images(8).requires_grad_(True)
    out = pipe(0.2, rotate=1.0, scale=1.0)(images)
    grad, = torch.autograd.grad(out.square().sum(), images, create_graph=True)
    second, = torch.autograd.grad(grad.square().sum(), images)
    assert torch.isfinite(second).all() and second.abs().sum() > 0


def _fir_by_hand(x: np.ndarray, taps: np.ndarray, *, up: int, down: int, pad: tuple[int, int],
                 gain: float) -> np.ndarray:
    """The resampling written out on one axis at a time: zeros in, pad or crop, correlate, drop."""
    def one_axis(row: np.ndarray) -> np.ndarray:
        stretched = np.zeros(len(row) * up)
        stretched[::up] = row
        padded = np.pad(stretched, (max(pad[0], 0), max(pad[1], 0)))
        padded = padded[max(-pad[0], 0):len(padded) - max(-pad[1], 0)]
        return np.correlate(padded, taps * gain, mode="valid")[::down]
    return np.apply_along_axis(one_axis, 2, np.apply_along_axis(one_axis, 3, x))


@pytest.mark.parametrize("resample", [_fir, _fir_by_convolution], ids=["matrix", "convolution"])
@pytest.mark.parametrize("up, down, pad, gain", [(2, 1, (6, 5), 2.0), (2, 1, (-3, 2), 1.0),
                                                 (1, 2, (-1, -1), 1.0), (1, 2, (5, 6), 1.0)])
def test_fir_resampling_is_upsample_pad_correlate_downsample(resample, up, down, pad, gain):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 3, 15, 21))
    taps = np.array(SYM6)
    out = resample(torch.from_numpy(images), torch.from_numpy(taps), up=up, down=down, pad=pad,
                   gain=gain)
    expected = _fir_by_hand(images, taps, up=up, down=down, pad=pad, gain=gain)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("sign_mean, direction", [(0.9, 1), (0.2, -1)])
def test_ada_controller_moves_p_towards_the_target(sign_mean, direction):
    ada = AdaController(target=0.6, interval=4, speed_kimg=500)
    p = ada.adjust(0.5, sign_sum=sign_mean * 64, count=64, batch=16)
    assert p == pytest.approx(0.5 + direction * 16 * 4 / 500_000)
    assert ada.adjust(0.0, sign_sum=-64, count=64, batch=16) == 0.0  # never below 0
    assert ada.adjust(1.0, sign_sum=64, count=64, batch=16) == 1.0  # never above 1
