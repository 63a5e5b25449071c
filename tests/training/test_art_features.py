"""The built-in art statistics: known colours, edges and spatial scales give known features, and
KID over them ranks sets the way a person would (same art < blurred art < one soft colour)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training import procedural
from training.art_features import FEATURES, art_features, picture_readings, srgb_to_lab
from training.metrics import kid


def _batch(*images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def _halves(left, right, side: int = 64) -> np.ndarray:
    image = np.zeros((side, side, 3), np.uint8)
    image[:, : side // 2], image[:, side // 2:] = left, right
    return image


def test_lab_of_known_colours():
    rgb = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    lab = srgb_to_lab(rgb.view(3, 3, 1, 1)).view(3, 3)
    assert torch.allclose(lab[0], torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=0.01)
    assert torch.allclose(lab[1], torch.tensor([53.24, 80.09, 67.20], dtype=torch.float64), atol=0.05)
    assert torch.allclose(lab[2], torch.zeros(3, dtype=torch.float64), atol=0.01)


def test_features_have_the_documented_size_and_any_input_size():
    out = art_features(_batch(_halves(0, 255, 64), _halves(0, 255, 64)))
    assert out.shape == (2, FEATURES) == (2, 102) and out.dtype == torch.float64
    assert art_features(_batch(_halves(0, 255, 300))).shape == (1, FEATURES)
    with pytest.raises(ValueError, match="uint8"):
        art_features(torch.zeros(1, 3, 8, 8))


def test_layout_edges_and_orientation_of_a_vertical_split():
    red_blue = art_features(_batch(_halves((255, 0, 0), (0, 0, 255))))[0]
    layout = red_blue[:48].view(3, 4, 4)  # (L, a, b) / 100 over a 4x4 grid (channel, row, col)
    # CIELAB b of red is +67, of blue -108: the left column is red, the right one blue.
    assert (layout[2, :, 0] > 0.5).all() and (layout[2, :, 3] < -0.9).all()
    flat = art_features(_batch(_halves((0, 128, 0), (0, 128, 0))))[0]
    edges = slice(48 + 3 + 1 + 12, 48 + 3 + 1 + 12 + 6)
    assert (flat[edges] < 1e-12).all() and (red_blue[edges][:3] > 0).all()
    orientation = red_blue[48 + 16 + 6:48 + 16 + 6 + 8]
    # The edge is vertical: its gradient points along x (angle 0), so bin 0 holds all weight.
    assert orientation[0] > 0.95


def test_grain_puts_its_energy_in_the_high_bands_and_composition_in_the_low():
    rng = np.random.default_rng(0)
    grain = (128 + rng.normal(0, 40, (128, 128, 1))).clip(0, 255).astype(np.uint8).repeat(3, 2)
    split = _halves(30, 220, 128)
    bands_grain, bands_split = art_features(_batch(grain, split))[:, -8:]
    assert bands_grain[-3:].sum() > 0.6 and bands_split[:3].sum() > 0.8
    assert torch.allclose(bands_grain.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_kid_ranks_the_same_art_then_blurred_art_then_one_soft_colour():
    images = np.stack([procedural.render(seed=0, index=i, resolution=64) for i in range(96)])
    features = art_features(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()).numpy()
    reference, same = features[:48], features[48:]
    blurred = torch.nn.functional.avg_pool2d(
        torch.from_numpy(images[48:]).permute(0, 3, 1, 2).double(), 5, stride=1, padding=2)
    blurred = art_features(blurred.round().clamp(0, 255).to(torch.uint8)).numpy()
    rng = np.random.default_rng(1)
    soft = [(rng.uniform(60, 200, 3) + rng.normal(0, 12, (64, 64, 3))).clip(0, 255)
            for _ in range(48)]
    soft = art_features(_batch(*np.array(soft, np.uint8))).numpy()
    score = {name: kid(reference, other, subsets=20, subset_size=48)
             for name, other in (("same", same), ("blurred", blurred), ("soft", soft))}
    assert score["same"] < score["blurred"] < score["soft"]
    assert score["soft"] > 10 * max(score["same"], 1e-4)


def test_readings_tell_crisp_from_blurred_edges_colour_from_grey_and_flat_from_shaped():
    crisp = _halves((240, 200, 40), (20, 40, 160), 128)  # yellow | navy: a 60 L step
    blurred = torch.nn.functional.avg_pool2d(
        _batch(crisp).double(), 15, stride=1, padding=7, count_include_pad=False)
    blurred = blurred.round().to(torch.uint8).permute(0, 2, 3, 1).numpy()[0]
    grey_split = _halves(40, 200, 128)
    flat = np.full((128, 128, 3), (90, 140, 200), np.uint8)
    rng = np.random.default_rng(0)
    grain = (128 + rng.normal(0, 40, (128, 128, 1))).clip(0, 255).astype(np.uint8).repeat(3, 2)

    def read(image):
        return picture_readings(art_features(_batch(image)).numpy())

    assert read(crisp).sharp_edges > 0.005 and read(blurred).sharp_edges == 0
    assert read(blurred).soft_edges > 0.005  # a blurred edge is still an edge at 32 px
    assert read(crisp).colourfulness > 59 > read(grey_split).colourfulness == pytest.approx(0, abs=1)
    assert read(flat).flat == 1 and read(crisp).flat == read(blurred).flat == 0
    assert read(crisp).composition > 0.8 > 0.2 > read(grain).composition
    both = picture_readings(art_features(_batch(flat, crisp, crisp)).numpy())
    assert both.flat == pytest.approx(1 / 3) and both.sharp_edges == read(crisp).sharp_edges
    with pytest.raises(ValueError, match=r"art features \[N, 102\]"):
        picture_readings(np.zeros((3, 5)))


def test_every_tensor_follows_the_images_device():
    # A CUDA training run scores KID on the GPU: no constant may stay on the CPU. The meta device
    # checks that here without a GPU (it fails on any CPU tensor met on the way).
    images = torch.zeros(2, 3, 64, 64, dtype=torch.uint8, device="meta")
    features = art_features(images)
    assert features.device.type == "meta" and features.shape == (2, FEATURES)
