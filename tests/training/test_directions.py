"""SeFa finds a direction planted in the style weights; PCA finds the axis along which a known
mapping network spreads w; scales are the std of sampled w along each direction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.training.generators import TINY
from training.directions import find_directions, pca, sample_w, sefa, style_affines
from training.networks import Generator
from visualizer.core.errors import GansmaniaError


def unit(rng: np.random.Generator, size: int) -> np.ndarray:
    v = rng.standard_normal(size)
    return v / np.linalg.norm(v)


def planted_generator(v: np.ndarray, *, seed: int = 0) -> Generator:
    """Every style affine is u v^T plus small noise: w moves the styles almost only along v."""
    torch.manual_seed(seed)
    generator = Generator(TINY).eval().requires_grad_(False)
    rng = np.random.default_rng(seed)
    for _, affine in style_affines(generator.synthesis):
        out, w_dim = affine.weight.shape
        weight = np.outer(rng.standard_normal(out), v) + 0.01 * rng.standard_normal((out, w_dim))
        affine.weight.copy_(torch.from_numpy(weight))
    return generator


def test_style_affines_give_one_affine_per_w_layer():
    generator = Generator(TINY)
    indices = [index for index, _ in style_affines(generator.synthesis)]
    assert indices == list(range(generator.num_ws))


def test_sefa_finds_the_planted_direction():
    v = unit(np.random.default_rng(7), TINY.w_dim)
    values, vectors = sefa(planted_generator(v))
    assert abs(float(vectors[0] @ v)) > 0.99
    assert values[0] > 10 * values[1]  # it dominates, the rest is noise
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-9)
    # Without the plant the first direction is somewhere else.
    _, random_vectors = sefa(Generator(TINY).eval())
    assert abs(float(random_vectors[0] @ v)) < 0.9


def test_sefa_of_a_layer_group_reads_only_those_layers():
    v = unit(np.random.default_rng(7), TINY.w_dim)
    generator = planted_generator(v)
    middle_before = sefa(generator, layers="middle")[1]  # 16 px: w layers 4 and 5
    with torch.no_grad():  # scramble the coarse layers only: the middle directions stay
        for index, affine in style_affines(generator.synthesis):
            if index < 4:
                affine.weight.normal_()
    np.testing.assert_array_equal(sefa(generator, layers="middle")[1], middle_before)
    assert abs(float(sefa(generator, layers="coarse")[1][0] @ v)) < 0.9
    with pytest.raises(GansmaniaError, match="no 'fine' w layers"):
        sefa(generator, layers="fine")


def spread_generator(axis: np.ndarray, *, stretch: float) -> Generator:
    """A one-layer linear mapping w = R diag(s) z / rms(z) with s = ``stretch`` along ``axis``."""
    config = TINY.replace(mapping_layers=1, mapping_activation="linear")
    generator = Generator(config).eval().requires_grad_(False)
    rng = np.random.default_rng(3)
    others = np.linalg.qr(np.column_stack([axis, rng.standard_normal((len(axis), len(axis) - 1))]))[0]
    scales = np.ones(len(axis))
    scales[0] = stretch
    fc = generator.mapping.fc0
    fc.weight.copy_(torch.from_numpy(others @ np.diag(scales) / fc.weight_gain))
    fc.bias.zero_()
    return generator


def test_pca_finds_the_axis_of_largest_spread():
    axis = unit(np.random.default_rng(11), TINY.w_dim)
    ws = sample_w(spread_generator(axis, stretch=4.0), 4000)
    variances, vectors = pca(ws)
    assert abs(float(vectors[0] @ axis)) > 0.99
    assert variances[0] == pytest.approx(16 * variances[1:].mean(), rel=0.2)
    assert np.all(np.diff(variances) <= 0)


def test_found_directions_are_named_scaled_and_repeatable():
    axis = unit(np.random.default_rng(11), TINY.w_dim)
    generator = spread_generator(axis, stretch=4.0)
    found = find_directions(generator, count=3, samples=2000)
    assert [d.name for d in found] == ["sefa-0", "sefa-1", "sefa-2", "pca-0", "pca-1", "pca-2"]
    first = found[3]
    ws = sample_w(generator, 2000)
    assert first.scale == pytest.approx(float((ws @ first.vector).std(ddof=1)), rel=1e-4)
    assert 0.5 < first.share < 1.0 and first.vector.dtype == np.float32
    again = find_directions(generator, count=3, samples=2000)
    assert all(np.array_equal(a.vector, b.vector) for a, b in zip(found, again))
    assert len(find_directions(generator, methods=("pca",), count=99, samples=200)) == TINY.w_dim


def test_sefa_reads_every_style_layer_of_a_stylegan3_model():
    """StyleGAN3's layers each read their own w (w 0 turns the Fourier input, no styles): SeFa
    finds a direction planted in their affines as in StyleGAN2."""
    from training.configs import stylegan3_config
    from training.networks import StyleGAN3Generator

    config = stylegan3_config("stylegan3-t", z_dim=8, w_dim=8, img_resolution=16,
                              channel_base=128, channel_max=8, num_layers=4)
    torch.manual_seed(0)
    generator = StyleGAN3Generator(config).eval().requires_grad_(False)
    indices = [index for index, _ in style_affines(generator.synthesis)]
    assert indices == list(range(1, generator.num_ws))
    rng = np.random.default_rng(3)
    v = unit(rng, config.w_dim)
    for _, affine in style_affines(generator.synthesis):
        out, w_dim = affine.weight.shape
        affine.weight.copy_(torch.from_numpy(np.outer(rng.standard_normal(out), v)
                                             + 0.01 * rng.standard_normal((out, w_dim))))
    values, vectors = sefa(generator)
    assert abs(float(vectors[0] @ v)) > 0.99 and values[0] > 10 * values[1]
