"""Adaptive discriminator augmentation (ADA, Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data"): the 'bgc' pipeline and the controller of its probability ``p``.

Every augmentation is applied to each image independently with probability ``p`` (times its own
multiplier), to reals and fakes alike, so D never sees an un-augmented distribution it could
leak into G. Geometric transforms are done at 2x resolution between orthogonal low-pass filters
(sym6 wavelet), on a reflection-padded image, so they add no aliasing nor border artefacts. The
whole pipeline is differentiable (R1 and G's loss go through it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from training.grid_sample_grad import grid_sample_bilinear

# The sym6 wavelet's low-pass decomposition filter (orthogonal: upsampling then downsampling with
# it and its mirror reconstructs a band-limited image).
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)

LUMA_AXIS = (1 / math.sqrt(3), 1 / math.sqrt(3), 1 / math.sqrt(3))


@dataclass(frozen=True)
class AugmentSpec:
    """Probability multipliers (0 = off) and strengths; defaults are ADA's 'bgc' pipeline."""

    xflip: float = 1.0  # mirror left-right
    rotate90: float = 1.0  # rotate by a multiple of 90 degrees
    xint: float = 1.0  # integer translation
    xint_max: float = 0.125  # ... by up to this fraction of the image size
    scale: float = 1.0  # isotropic scaling
    scale_std: float = 0.2  # ... log2 standard deviation
    rotate: float = 1.0  # arbitrary rotation (pre and post anisotropic scaling)
    rotate_max: float = 1.0  # ... range, 1 = full circle
    aniso: float = 1.0  # anisotropic scaling
    aniso_std: float = 0.2  # ... log2 standard deviation
    xfrac: float = 1.0  # fractional translation
    xfrac_std: float = 0.125  # ... standard deviation, fraction of the image size
    brightness: float = 1.0  # add a constant
    brightness_std: float = 0.2
    contrast: float = 1.0  # scale around zero
    contrast_std: float = 0.5  # ... log2 standard deviation
    lumaflip: float = 1.0  # mirror the luma axis
    hue: float = 1.0  # rotate around the luma axis
    hue_max: float = 1.0  # ... range, 1 = full circle
    saturation: float = 1.0  # scale chroma
    saturation_std: float = 1.0  # ... log2 standard deviation


PIPELINES: dict[str, AugmentSpec] = {
    "bgc": AugmentSpec(),
    "bg": AugmentSpec(brightness=0, contrast=0, lumaflip=0, hue=0, saturation=0),
    "c": AugmentSpec(xflip=0, rotate90=0, xint=0, scale=0, rotate=0, aniso=0, xfrac=0),
}


# ------------------------------------------------------------------------- matrix helpers

def _stack_matrix(rows: list[list[torch.Tensor | float]], batch: int, device: torch.device) -> torch.Tensor:
    """Build (batch, R, C) from rows whose entries are scalars or (batch,) tensors."""
    def full(value: torch.Tensor | float) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            return value.to(device=device, dtype=torch.float32).expand(batch)
        return torch.full((batch,), float(value), device=device)
    return torch.stack([torch.stack([full(v) for v in row], -1) for row in rows], -2)


def translate2d(tx, ty, batch, device):
    return _stack_matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], batch, device)


def scale2d(sx, sy, batch, device):
    return _stack_matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], batch, device)


def rotate2d(theta, batch, device):
    c, s = torch.cos(theta), torch.sin(theta)
    return _stack_matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]], batch, device)


def translate3d(t, batch, device):
    return _stack_matrix([[1, 0, 0, t], [0, 1, 0, t], [0, 0, 1, t], [0, 0, 0, 1]], batch, device)


def scale3d(s, batch, device):
    return _stack_matrix([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], batch, device)


def rotate_around(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(batch, 4, 4) homogeneous rotation by ``theta`` (batch,) around unit ``axis`` (3,) (Rodrigues)."""
    batch = theta.shape[0]
    x, y, z = axis.tolist()
    k = torch.tensor([[0, -z, y], [z, 0, -x], [-y, x, 0]], device=theta.device)
    s, c = torch.sin(theta)[:, None, None], torch.cos(theta)[:, None, None]
    r = torch.eye(3, device=theta.device) + s * k + (1 - c) * (k @ k)
    out = torch.eye(4, device=theta.device).repeat(batch, 1, 1)
    out[:, :3, :3] = r
    return out


# ------------------------------------------------------------------------- FIR resampling

def _fir(x: torch.Tensor, taps: torch.Tensor, *, up: int = 1, down: int = 1,
         pad: tuple[int, int] = (0, 0), gain: float = 1.0) -> torch.Tensor:
    """Separable upsample -> pad (negative crops) -> correlate with ``taps`` -> downsample, on H and W.

    x: (N, C, H, W); taps: (T,); ``gain`` is the per-axis gain. On a CPU each axis is one matrix
    product: BLAS does it 5x (up) to 8x (down) faster than depthwise convolutions, which multiply
    the upsampling's zeros and compute the samples the downsampling drops (forward and backward
    of 16 x 3 x 280^2 images on one core: up 2.0 -> 0.41 s, down 0.41 -> 0.05 s). On a GPU the
    convolutions stay: the dense matrices grow with the square of the (padded) size.
    """
    if x.device.type != "cpu":
        return _fir_by_convolution(x, taps, up=up, down=down, pad=pad, gain=gain)
    h, w = x.shape[-2:]
    along_w = _fir_matrix(w, taps, up=up, down=down, pad=pad, gain=gain).to(x.dtype)
    along_h = along_w if h == w else _fir_matrix(h, taps, up=up, down=down, pad=pad,
                                                 gain=gain).to(x.dtype)
    return along_h.t() @ (x @ along_w)


def _fir_by_convolution(x: torch.Tensor, taps: torch.Tensor, *, up: int, down: int,
                        pad: tuple[int, int], gain: float) -> torch.Tensor:
    """:func:`_fir` as zero insertion and two depthwise convolutions."""
    n, c, h, w = x.shape
    if up > 1:  # insert up-1 zeros after every sample
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    x = x[:, :, max(-p0, 0):x.shape[2] - max(-p1, 0), max(-p0, 0):x.shape[3] - max(-p1, 0)]
    kernel = (taps * gain).to(x.dtype)
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down]


def _fir_matrix(length: int, taps: torch.Tensor, *, up: int, down: int, pad: tuple[int, int],
                gain: float) -> torch.Tensor:
    """The (length, out) matrix of one axis of :func:`_fir`: row i is what sample i becomes."""
    impulses = torch.eye(length, dtype=torch.float64).view(length, 1, length, 1)
    impulses = F.pad(impulses, [0, up - 1]).view(length, 1, length * up)  # up-1 zeros after each
    p0, p1 = pad
    impulses = F.pad(impulses, [max(p0, 0), max(p1, 0)])
    impulses = impulses[:, :, max(-p0, 0):impulses.shape[2] - max(-p1, 0)]
    kernel = (taps.detach().double() * gain).view(1, 1, -1)
    return F.conv1d(impulses, kernel)[:, 0, ::down]


# ---------------------------------------------------------------------------- the pipeline

class AugmentPipe(torch.nn.Module):
    """Differentiable ADA augmentation of images (N, 3 or 1, H, W) in [-1, 1] (any range works).

    ``p`` (a buffer, so it is saved and broadcast with the module) is the overall probability.
    Random numbers come from torch's global generator (seeded by the training loop), so runs
    are reproducible and resumable.
    """

    def __init__(self, spec: AugmentSpec = AugmentSpec()) -> None:
        super().__init__()
        self.spec = spec
        self.register_buffer("p", torch.zeros([]))
        taps = torch.tensor(SYM6, dtype=torch.float64)
        self.register_buffer("taps", (taps / taps.sum()).float())  # unit DC gain

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = self._geometric(images)
        return self._colour(images)

    def _chance(self, multiplier: float, shape: tuple[int, ...], device) -> torch.Tensor:
        return torch.rand(shape, device=device) < multiplier * self.p

    # -- geometry: an inverse transform G_inv (output pixel -> input pixel), then one resampling
    def _geometric(self, images: torch.Tensor) -> torch.Tensor:
        spec, (n, _, h, w), dev = self.spec, images.shape, images.device
        g_inv = torch.eye(3, device=dev).repeat(n, 1, 1)
        if spec.xflip > 0:
            flip = torch.floor(torch.rand(n, device=dev) * 2) * self._chance(spec.xflip, (n,), dev)
            g_inv = g_inv @ scale2d(1 - 2 * flip, 1, n, dev)
        if spec.rotate90 > 0:
            quarter = torch.floor(torch.rand(n, device=dev) * 4) * self._chance(spec.rotate90, (n,), dev)
            g_inv = g_inv @ rotate2d(math.pi / 2 * quarter, n, dev)
        if spec.xint > 0:
            shift = (torch.rand(n, 2, device=dev) * 2 - 1) * spec.xint_max
            shift = shift * self._chance(spec.xint, (n, 1), dev)
            g_inv = g_inv @ translate2d(-torch.round(shift[:, 0] * w), -torch.round(shift[:, 1] * h), n, dev)
        if spec.scale > 0:
            s = torch.exp2(torch.randn(n, device=dev) * spec.scale_std)
            s = torch.where(self._chance(spec.scale, (n,), dev), s, torch.ones_like(s))
            g_inv = g_inv @ scale2d(1 / s, 1 / s, n, dev)
        # Rotation happens before and after the anisotropic scaling, each with p_rot, so that
        # P(any rotation) = rotate * p.
        p_rot = 1 - torch.sqrt((1 - spec.rotate * self.p).clamp(0, 1))
        if spec.rotate > 0:
            theta = (torch.rand(n, device=dev) * 2 - 1) * math.pi * spec.rotate_max
            theta = theta * (torch.rand(n, device=dev) < p_rot)
            g_inv = g_inv @ rotate2d(theta, n, dev)
        if spec.aniso > 0:
            s = torch.exp2(torch.randn(n, device=dev) * spec.aniso_std)
            s = torch.where(self._chance(spec.aniso, (n,), dev), s, torch.ones_like(s))
            g_inv = g_inv @ scale2d(1 / s, s, n, dev)
        if spec.rotate > 0:
            theta = (torch.rand(n, device=dev) * 2 - 1) * math.pi * spec.rotate_max
            theta = theta * (torch.rand(n, device=dev) < p_rot)
            g_inv = g_inv @ rotate2d(theta, n, dev)
        if spec.xfrac > 0:
            shift = torch.randn(n, 2, device=dev) * spec.xfrac_std * self._chance(spec.xfrac, (n, 1), dev)
            g_inv = g_inv @ translate2d(-shift[:, 0] * w, -shift[:, 1] * h, n, dev)
        # Resample (and filter) only the images that were transformed: at the small p a run
        # spends most of its time at, that is a few of the batch, and the resampling costs as
        # much as a generator pass per image it touches.
        moved = (g_inv != torch.eye(3, device=dev)).flatten(1).any(1).nonzero().flatten()
        if len(moved) == 0:
            return images
        if len(moved) == n:
            return self._resample(images, g_inv)
        return images.index_put((moved,), self._resample(images[moved], g_inv[moved]))

    def _resample(self, images: torch.Tensor, g_inv: torch.Tensor) -> torch.Tensor:
        """Apply G_inv (pixel coordinates centred on the image) with anti-aliased resampling."""
        n, c, h, w = images.shape
        dev = images.device
        taps = self.taps.to(images.dtype)
        border = len(SYM6) // 4  # filter support at 2x, in input pixels

        # Reflection-pad just enough that every sampled point lies inside real (mirrored) content.
        cx, cy = (w - 1) / 2, (h - 1) / 2
        corners = torch.tensor([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], device=dev)
        reach = (g_inv @ corners.t())[:, :2, :]  # (n, xy, corner)
        extent = reach.permute(1, 0, 2).flatten(1)  # (xy, n*corner)
        margin = torch.cat([-extent, extent]).amax(1)  # x0, y0, x1, y1
        margin = margin + torch.tensor([border * 2 - cx, border * 2 - cy] * 2, device=dev)
        margin = margin.clamp(min=0).minimum(torch.tensor([w - 1, h - 1] * 2, device=dev))
        mx0, my0, mx1, my1 = (int(v) for v in margin.ceil().tolist())
        images = F.pad(images, [mx0, mx1, my0, my1], mode="reflect")
        g_inv = translate2d((mx0 - mx1) / 2, (my0 - my1) / 2, n, dev) @ g_inv

        # Upsample 2x (a true convolution, hence the flipped taps for F.conv2d's correlation);
        # express G_inv in the upsampled pixel grid (centres at half pixels).
        images = _fir(images, taps.flip(0), up=2, pad=((len(SYM6) + 1) // 2, (len(SYM6) - 2) // 2), gain=2.0)
        g_inv = scale2d(2, 2, n, dev) @ g_inv @ scale2d(0.5, 0.5, n, dev)
        g_inv = translate2d(-0.5, -0.5, n, dev) @ g_inv @ translate2d(0.5, 0.5, n, dev)

        # Sample an output grid with a border for the downsampling filter, in normalised units.
        out_h, out_w = (h + border * 2) * 2, (w + border * 2) * 2
        in_h, in_w = images.shape[2:]
        theta = (scale2d(2 / in_w, 2 / in_h, n, dev) @ g_inv
                 @ scale2d(out_w / 2, out_h / 2, n, dev))
        grid = F.affine_grid(theta[:, :2, :], [n, c, out_h, out_w], align_corners=False)
        images = grid_sample_bilinear(images, grid.to(images.dtype))  # R1 differentiates twice

        # Downsample 2x with the mirrored filter (the adjoint of the upsampling) and crop the border.
        pad = -border * 2 + (len(SYM6) - 1) // 2
        return _fir(images, taps, down=2, pad=(pad, pad))

    # -- colour: one 4x4 homogeneous matrix C (colour_out = C @ colour_in) per image
    def _colour(self, images: torch.Tensor) -> torch.Tensor:
        spec, (n, c, h, w), dev = self.spec, images.shape, images.device
        eye = torch.eye(4, device=dev)
        m = eye.repeat(n, 1, 1)
        v = torch.tensor([*LUMA_AXIS, 0.0], device=dev)
        if spec.brightness > 0:
            b = torch.randn(n, device=dev) * spec.brightness_std * self._chance(spec.brightness, (n,), dev)
            m = translate3d(b, n, dev) @ m
        if spec.contrast > 0:
            k = torch.exp2(torch.randn(n, device=dev) * spec.contrast_std)
            k = torch.where(self._chance(spec.contrast, (n,), dev), k, torch.ones_like(k))
            m = scale3d(k, n, dev) @ m
        if spec.lumaflip > 0:
            flip = torch.floor(torch.rand(n, 1, 1, device=dev) * 2) * self._chance(spec.lumaflip, (n, 1, 1), dev)
            m = (eye - 2 * torch.outer(v, v) * flip) @ m  # Householder reflection of the luma axis
        if spec.hue > 0 and c > 1:
            theta = (torch.rand(n, device=dev) * 2 - 1) * math.pi * spec.hue_max
            theta = theta * self._chance(spec.hue, (n,), dev)
            m = rotate_around(v[:3], theta) @ m
        if spec.saturation > 0 and c > 1:
            s = torch.exp2(torch.randn(n, 1, 1, device=dev) * spec.saturation_std)
            s = torch.where(self._chance(spec.saturation, (n, 1, 1), dev), s, torch.ones_like(s))
            vv = torch.outer(v, v)
            m = (vv + (eye - vv) * s) @ m
        if bool((m == eye).all()):  # no image of the batch was recoloured
            return images
        m = m.to(images.dtype)
        flat = images.reshape(n, c, h * w)
        if c == 3:
            flat = m[:, :3, :3] @ flat + m[:, :3, 3:]
        elif c == 1:
            row = m[:, :3, :].mean(1, keepdim=True)
            flat = flat * row[:, :, :3].sum(2, keepdim=True) + row[:, :, 3:]
        else:
            raise ValueError(f"augment: images must have 1 or 3 channels, got {c}")
        return flat.reshape(n, c, h, w)


# --------------------------------------------------------------------------- ADA controller

@dataclass(frozen=True)
class AdaController:
    """Adjusts ``p`` so that E[sign(D(real))] (the overfitting heuristic r_t) approaches ``target``.

    Every ``interval`` D steps the mean sign over the images seen since the last adjustment moves
    ``p`` by ``batch * interval / (speed_kimg * 1000)`` in the direction of (r_t - target): from 0
    to 1 in ``speed_kimg`` thousand images when D overfits maximally.
    """

    target: float = 0.6
    interval: int = 4  # D steps between adjustments
    speed_kimg: float = 500.0

    def adjust(self, p: float, *, sign_sum: float, count: int, batch: int) -> float:
        """New p from the sum of sign(D(real)) over ``count`` images since the last adjustment."""
        if count == 0:
            return p
        r_t = sign_sum / count
        step = np.sign(r_t - self.target) * (batch * self.interval) / (self.speed_kimg * 1000)
        return float(min(max(p + step, 0.0), 1.0))
