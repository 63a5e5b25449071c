"""A feature extractor for FID/KID on abstract art that needs no downloaded weights.

NVlabs' Inception features are the standard, but they must be downloaded, are trained on
photographs of objects, and are slow on a CPU. For comparing training recipes on abstract art we
measure what a person looks at in such a picture instead, with fixed formulas (nothing is fitted,
so no data can be tuned into it):

- colour layout: the mean CIELAB colour of each cell of a 4x4 grid (where which colour sits);
- colour spread: CIELAB standard deviations, Hasler-Suesstrunk colourfulness, and a
  chroma-weighted hue histogram (12 bins) - how many distinct colours, how saturated;
- edges and shapes: the share of pixels on an edge and the mean edge strength at three scales
  (128, 64 and 32 px), a 4x4 grid of edge strength and an 8-bin edge-orientation histogram;
- scale of structure: how the picture's energy splits over 8 octave-spaced spatial-frequency
  bands, so a picture whose variance is fine grain differs from one with composition.

The result is a 102-dimensional vector per image, each entry of order 0..1, so the polynomial
kernel of KID weighs the groups alike. It is cheap: about a millisecond per image on a CPU.
`picture_readings` turns a set's features back into a few numbers a person can check against
the grid (how sharp, how colourful, how much composition, how many flat pictures).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

SIDE_PX = 128            # images are compared at this size, whatever their resolution
GRID = 4                 # cells per side of the layout grids
HUE_BINS = 12
ORIENTATION_BINS = 8
BANDS = 8
EDGE_THRESHOLD = 0.08    # Sobel magnitude of L/100 that counts as an edge (a one-pixel step of 16 L)
FEATURES = GRID * GRID * 3 + 3 + 1 + HUE_BINS + 6 + ORIENTATION_BINS + GRID * GRID + BANDS
# Where art_features puts what picture_readings reads.
_COLOURFULNESS = GRID * GRID * 3 + 3
_EDGE_SHARES = slice(_COLOURFULNESS + 1 + HUE_BINS, _COLOURFULNESS + 4 + HUE_BINS)  # 128/64/32 px
_COARSE_BANDS = slice(FEATURES - BANDS, FEATURES - BANDS // 2)  # 1-8 cycles per picture
FLAT_EDGE_SHARE = 0.01   # a picture with fewer edge pixels than this at every scale is flat

# sRGB (D65) -> XYZ, and the D65 white point.
_RGB_TO_XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                            [0.2126729, 0.7151522, 0.0721750],
                            [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def art_features(images: torch.Tensor) -> torch.Tensor:
    """Features [N, FEATURES] (float64) of uint8 RGB images [N, 3, H, W] of any size."""
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"art_features takes uint8 [N, 3, H, W]; got {images.dtype} "
                         f"{list(images.shape)}")
    rgb = images.to(torch.float64) / 255.0
    rgb = F.interpolate(rgb, size=(SIDE_PX, SIDE_PX), mode="bilinear", antialias=True,
                        align_corners=False).clamp(0.0, 1.0)
    lab = srgb_to_lab(rgb)
    lightness = lab[:, :1] / 100.0
    return torch.cat([_colour(rgb, lab), _edges(lightness), _spectrum(lightness[:, 0])], dim=1)


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB [N, 3, H, W] in 0..1 -> CIELAB [N, 3, H, W] (L 0..100, a/b about -110..110)."""
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = (torch.einsum("ij,njhw->nihw", _RGB_TO_XYZ.to(linear.device), linear)
           / _WHITE.to(linear.device).view(1, 3, 1, 1))
    epsilon, kappa = 216 / 24389, 24389 / 27
    f = torch.where(xyz > epsilon, xyz.clamp_min(1e-12) ** (1 / 3), (kappa * xyz + 16) / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]),
                        200 * (f[:, 1] - f[:, 2])], dim=1)


def _colour(rgb: torch.Tensor, lab: torch.Tensor) -> torch.Tensor:
    n = rgb.shape[0]
    layout = F.adaptive_avg_pool2d(lab / 100.0, GRID).reshape(n, -1)
    spread = lab.reshape(n, 3, -1).std(dim=2) / 100.0
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    rg, yb = (red - green).reshape(n, -1), (0.5 * (red + green) - blue).reshape(n, -1)
    colourfulness = (torch.sqrt(rg.var(dim=1) + yb.var(dim=1))
                     + 0.3 * torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2))
    chroma = torch.sqrt(lab[:, 1] ** 2 + lab[:, 2] ** 2).reshape(n, -1) / 100.0
    hue = torch.atan2(lab[:, 2], lab[:, 1]).reshape(n, -1)
    hues = _angle_histogram(hue, chroma, bins=HUE_BINS, period=2 * math.pi) / hue.shape[1]
    return torch.cat([layout, spread, colourfulness[:, None], hues], dim=1)


def _edges(lightness: torch.Tensor) -> torch.Tensor:
    n = lightness.shape[0]
    density, strength = [], []
    for scale in (1, 2, 4):
        level = F.avg_pool2d(lightness, scale) if scale > 1 else lightness
        magnitude, angle = _sobel(level)
        density.append((magnitude > EDGE_THRESHOLD).to(torch.float64).mean(dim=(1, 2, 3)))
        strength.append(magnitude.mean(dim=(1, 2, 3)))
        if scale == 2:
            layout = F.adaptive_avg_pool2d(magnitude, GRID).reshape(n, -1)
            weights = magnitude.reshape(n, -1)
            orientation = _angle_histogram(angle.reshape(n, -1), weights, bins=ORIENTATION_BINS,
                                           period=math.pi)
            orientation = orientation / weights.sum(dim=1, keepdim=True).clamp_min(1e-9)
    return torch.cat([torch.stack(density + strength, dim=1), orientation, layout], dim=1)


def _sobel(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient magnitude and direction of [N, 1, H, W] (edges replicated at the border)."""
    kx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=image.dtype,
                      device=image.device) / 8.0
    padded = F.pad(image, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, kx.view(1, 1, 3, 3))
    gy = F.conv2d(padded, kx.t().reshape(1, 1, 3, 3))
    return torch.sqrt(gx ** 2 + gy ** 2), torch.atan2(gy, gx)


def _angle_histogram(angle: torch.Tensor, weight: torch.Tensor, *, bins: int,
                     period: float) -> torch.Tensor:
    """Weighted histogram [N, bins] of angles [N, P], linearly shared between neighbour bins
    (so a small rotation moves weight smoothly instead of jumping between bins)."""
    position = (angle % period) / period * bins
    low = position.floor().long() % bins
    share = position - position.floor()
    histogram = torch.zeros(angle.shape[0], bins, dtype=torch.float64, device=angle.device)
    histogram.scatter_add_(1, low, weight * (1 - share))
    histogram.scatter_add_(1, (low + 1) % bins, weight * share)
    return histogram


def _spectrum(lightness: torch.Tensor) -> torch.Tensor:
    """Share of the (windowed, mean-removed) power in each octave band [N, BANDS]."""
    side = lightness.shape[-1]
    window = torch.hann_window(side, periodic=False, dtype=torch.float64, device=lightness.device)
    centred = lightness - lightness.mean(dim=(1, 2), keepdim=True)
    power = torch.fft.fft2(centred * window[:, None] * window[None, :]).abs() ** 2
    # cycles per picture
    frequency = torch.fft.fftfreq(side, dtype=torch.float64, device=lightness.device) * side
    radius = torch.sqrt(frequency[:, None] ** 2 + frequency[None, :] ** 2)
    # Octaves from 1 cycle per picture up to the Nyquist limit (side / 2).
    edges = torch.logspace(0, math.log2(side / 2), BANDS + 1, base=2.0, dtype=torch.float64)
    # Masks rather than boolean indexing: no data-dependent shapes (no GPU sync, meta-testable).
    bands = torch.stack([(power * ((radius >= lo) & (radius < hi))).sum(dim=(1, 2))
                         for lo, hi in zip(edges[:-1], edges[1:], strict=True)], dim=1)
    return bands / bands.sum(dim=1, keepdim=True).clamp_min(1e-12)


# How `gansmania kid` and the model card head and explain the readings.
READING_COLUMNS = ("sharp edges", "soft edges", "colourful", "composition", "flat")
READINGS_LEGEND = ("medians over the set; sharp and soft edges: the shares of pixels on an edge "
                   "at 128 and 32 px; colourful: Hasler-Suesstrunk colourfulness (33 moderately, "
                   "59 quite colourful); composition: the share of lightness power below 8 "
                   "cycles a picture; flat: the share of pictures with no edge at any scale")


@dataclass(frozen=True)
class PictureReadings:
    """What a set of pictures looks like, read from their art features (medians over the set)."""

    sharp_edges: float    # share of pixels on an edge at 128 px: only a crisp edge counts
    soft_edges: float     # the same at 32 px, where a blurred edge counts too
    colourfulness: float  # Hasler-Suesstrunk on the 0-255 scale (33 moderately, 59 quite)
    composition: float    # share of the lightness power below 8 cycles per picture
    flat: float           # share of the pictures with no edge at any scale (FLAT_EDGE_SHARE)

    def cells(self) -> tuple[str, ...]:
        """The readings as tables print them, in the order of READING_COLUMNS."""
        return (f"{self.sharp_edges:.2%}", f"{self.soft_edges:.2%}", f"{self.colourfulness:.1f}",
                f"{self.composition:.0%}", f"{self.flat:.0%}")


def picture_readings(features: np.ndarray) -> PictureReadings:
    """Readings of a set of art features [N, FEATURES] (from `art_features`)."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[1] != FEATURES or not len(features):
        raise ValueError(f"picture_readings takes art features [N, {FEATURES}]; got "
                         f"{list(features.shape)}")
    edges = features[:, _EDGE_SHARES]
    return PictureReadings(
        sharp_edges=float(np.median(edges[:, 0])), soft_edges=float(np.median(edges[:, 2])),
        colourfulness=float(np.median(features[:, _COLOURFULNESS]) * 255),
        composition=float(np.median(features[:, _COARSE_BANDS].sum(axis=1))),
        flat=float(np.mean(edges.max(axis=1) < FLAT_EDGE_SHARE)))
