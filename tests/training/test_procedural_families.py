"""The generative-art families: in range, deterministic, fast at tiny sizes, and each one shows
several colours, visible edges and structure at the scale of the whole picture, measured by
picture statistics whose answers on simple pictures are known."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training.procedural_families import (FAMILIES, contrasting, coords, ramp, sample,
                                          value_noise)

SIZE = 64  # measured at the size the tests use the dataset, painted at twice that
# Six clearly different colours: a family given them must show several.
PALETTE = np.array([[0.9, 0.1, 0.1], [0.1, 0.2, 0.8], [0.95, 0.85, 0.2], [0.05, 0.05, 0.08],
                    [0.95, 0.95, 0.92], [0.2, 0.6, 0.4]], np.float32)
SEEDS = range(6)

# Thresholds, at 64 px. An edge is a luma step of more than 24/255 (about a tenth of the range,
# plainly visible) between neighbouring pixels; 2% of pixels is more than one edge across the
# whole picture (that gives 1/63). The old clip-art painter failed this on half its images.
MIN_EDGES = 0.02
# The colour of 16x16-pixel blocks must vary by 8/255 RMS: a flat colour with grain gives ~0.
MIN_COARSE = 8.0
# Variance at wavelengths of a quarter picture or longer: white grain puts 48/4095 (1.2%) there.
MIN_LOW_FREQUENCY = 0.025


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def colour_count(image: np.ndarray, *, share: float = 0.02) -> int:
    """Colours (4 levels per channel, 64 bins) that each cover at least ``share`` of the picture."""
    q = image.reshape(-1, 3) // 64
    counts = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64)
    return int((counts >= share * len(q)).sum())


def edge_density(image: np.ndarray, *, step: float = 24.0) -> float:
    """Share of pixels whose luma differs from the right or lower neighbour by more than ``step``."""
    y = luma(image)
    dx, dy = np.abs(np.diff(y, axis=1))[:-1], np.abs(np.diff(y, axis=0))[:, :-1]
    return float((np.maximum(dx, dy) > step).mean())


def low_frequency_share(image: np.ndarray, *, cycles: float = 4.0) -> float:
    """Share of the picture's variance (all channels) at <= ``cycles`` cycles per picture."""
    x = image.astype(np.float64)
    power = (np.abs(np.fft.fft2(x - x.mean((0, 1)), axes=(0, 1))) ** 2).sum(-1)
    f = np.fft.fftfreq(image.shape[0]) * image.shape[0]
    radius = np.hypot(*np.meshgrid(f, f))
    return float(power[(radius > 0) & (radius <= cycles)].sum() / max(power.sum(), 1e-12))


def coarse_contrast(image: np.ndarray, *, blocks: int = 4) -> float:
    """RMS colour distance (0..255 units) of the picture's blocks x blocks block means from their mean."""
    n = image.shape[0] // blocks
    means = image.astype(np.float64).reshape(blocks, n, blocks, n, 3).mean((1, 3))
    return float(np.sqrt(((means - means.mean((0, 1))) ** 2).sum(-1).mean()))


def painted(name: str, seed: int, *, size: int = SIZE, palette: np.ndarray = PALETTE) -> np.ndarray:
    canvas = FAMILIES[name](np.random.default_rng([seed, 99]), size * 2, palette)
    image = Image.fromarray(np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8))
    return np.asarray(image.resize((size, size), Image.LANCZOS))


# ---------------------------------------------------------------- the measures' known answers

def test_measures_of_two_halves():
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :32] = (200, 40, 40)
    image[:, 32:] = (40, 40, 200)
    assert colour_count(image) == 2
    assert edge_density(image) == pytest.approx(1 / 63)  # one column of 63 rows of the 63x63
    assert coarse_contrast(image) == pytest.approx(np.linalg.norm([160, 0, 160]) / 2)
    # A square wave keeps (1 + 1/9) / (pi^2 / 8) = 90% of its variance in harmonics 1 and 3.
    assert low_frequency_share(image) == pytest.approx(0.90, abs=0.02)


def test_measures_of_one_soft_colour_with_grain():
    rng = np.random.default_rng(0)
    image = np.clip(np.array([96, 160, 160]) + rng.uniform(-20, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
    assert colour_count(image) == 1
    assert coarse_contrast(image) < 2
    assert low_frequency_share(image) == pytest.approx(48 / 4095, abs=0.01)  # white: spread evenly


# ---------------------------------------------------------------------------- the families

@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_family_paints_in_range_and_is_a_pure_function(name):
    a = FAMILIES[name](np.random.default_rng(5), 48, PALETTE)
    assert a.shape == (48, 48, 3) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    assert np.array_equal(a, FAMILIES[name](np.random.default_rng(5), 48, PALETTE))
    assert not np.array_equal(a, FAMILIES[name](np.random.default_rng(6), 48, PALETTE))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_family_paints_canvases_larger_than_its_field_grids(name):
    # Past FIELD_MAX and VORONOI_MAX fields are upsampled, and bicubic overshoot must not reach
    # a square root or a table index.
    for seed in range(3):
        canvas = FAMILIES[name](np.random.default_rng(seed), 400, PALETTE)
        assert np.isfinite(canvas).all() and 0 <= canvas.min() and canvas.max() <= 1, seed


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_family_paints_tiny_canvases_and_two_colour_palettes(name):
    two = np.array([[0.1, 0.1, 0.1], [0.9, 0.8, 0.2]], np.float32)
    canvas = FAMILIES[name](np.random.default_rng(1), 16, two)
    assert canvas.shape == (16, 16, 3) and np.isfinite(canvas).all()


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_family_has_colours_edges_and_large_scale_structure(name):
    images = [painted(name, seed) for seed in SEEDS]
    for seed, image in zip(SEEDS, images):
        where = f"{name} seed {seed}"
        assert colour_count(image) >= 2, where
        assert edge_density(image) >= MIN_EDGES, where
        assert coarse_contrast(image) >= MIN_COARSE, where
        assert low_frequency_share(image) >= MIN_LOW_FREQUENCY, where
    assert np.median([colour_count(image) for image in images]) >= 3, name


def test_palette_colours_are_the_only_hues():
    # Families shade and darken palette colours but invent no hue: with red and blue only,
    # no pixel of any family has green in it.
    red_blue = np.array([[0.9, 0.0, 0.1], [0.1, 0.0, 0.8]], np.float32)
    for name in FAMILIES:
        assert painted(name, 0, size=32, palette=red_blue)[..., 1].max() == 0, name


# ------------------------------------------------------------------------------- helpers

def test_value_noise_spans_the_unit_range_and_is_smooth():
    noise = value_noise(np.random.default_rng(0), 64, octaves=2, base_cells=2)
    assert noise.min() == 0 and noise.max() == 1
    assert np.abs(np.diff(noise, axis=1)).mean() < 0.05  # neighbours close: a field, not grain


def test_sample_interpolates_and_mirrors():
    field = np.arange(16, dtype=np.float32).reshape(4, 4)  # value = 4 * row + column
    x, y = np.array([-1.0, 1.0, -1 + 2 / 3, 1 + 2 / 3]), np.array([-1.0, 1.0, -1.0, -1.0])
    # Corners, one pixel along, and past the right edge mirrored back to column 2.
    assert np.allclose(sample(field, x, y), [0, 15, 1, 2])
    assert sample(field, np.array([-1 + 1 / 3]), np.array([-1.0]))[0] == pytest.approx(0.5)


def test_ramp_bands_and_blends():
    colours = np.array([[0, 0, 0], [1, 1, 1]], np.float32)
    assert np.allclose(ramp(np.array([0.2, 0.7]), colours, blend=0.01), [[0, 0, 0], [1, 1, 1]])
    # Smooth: halfway through each band it is halfway to the next colour (cycling past the last).
    assert np.allclose(ramp(np.array([0.25, 0.75]), colours, blend=1.0), 0.5)


def test_contrasting_holds_the_darkest_and_lightest():
    chosen = contrasting(np.random.default_rng(0), PALETTE, 3)
    assert any(np.array_equal(c, PALETTE[3]) for c in chosen)  # near-black
    assert any(np.array_equal(c, PALETTE[4]) for c in chosen)  # near-white


def test_coords_are_pixel_centres():
    x, y = coords(4)
    assert np.allclose(x[0], [-0.75, -0.25, 0.25, 0.75]) and np.allclose(y[:, 0], x[0])
