"""The procedural abstract-image source: deterministic, varied, and written as a dataset."""

from __future__ import annotations

import json

import numpy as np

from training.procedural import BACKGROUNDS, LAYERS, hsv_to_rgb, render, write_dataset


def test_an_image_is_a_pure_function_of_seed_and_index():
    a = render(seed=3, index=7, resolution=32)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render(seed=3, index=7, resolution=32))
    assert not np.array_equal(a, render(seed=3, index=8, resolution=32))
    assert not np.array_equal(a, render(seed=4, index=7, resolution=32))


def test_images_are_varied_in_colour_and_structure():
    images = np.stack([render(seed=0, index=i, resolution=32) for i in range(24)]).astype(float)
    means = images.mean(axis=(1, 2))  # [24, 3] mean colour per image
    assert means.std(axis=0).min() > 15  # palettes differ between images
    assert (images.std(axis=(1, 2)).mean(axis=1) > 3).sum() >= 18  # most are not flat fields


def test_hsv_to_rgb_known_colours():
    hsv = np.array([[0, 1, 1], [1 / 3, 1, 1], [2 / 3, 1, 1], [0, 0, 0.5]])
    expected = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5]])
    assert np.allclose(hsv_to_rgb(hsv), expected)


def test_every_background_and_layer_paints_within_range():
    rng = np.random.default_rng(0)
    palette = np.array([[1, 0, 0], [0, 0, 1], [1, 1, 1]], np.float32)
    for paint in BACKGROUNDS.values():
        canvas = paint(rng, 32, palette)
        assert canvas.shape == (32, 32, 3) and canvas.min() >= 0 and canvas.max() <= 1
    base = np.zeros((32, 32, 3), np.float32)
    for name, paint in LAYERS.items():
        canvas = paint(rng, base.copy(), palette)
        assert canvas.shape == (32, 32, 3) and canvas.max() > 0, name


def test_write_dataset_layout(tmp_path):
    out = write_dataset(tmp_path / "data", count=5, resolution=16, seed=1)
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert pngs == [f"00000/img0000000{i}.png" for i in range(5)]
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] is None and meta["resolution"] == 16 and meta["count"] == 5
    assert meta["recipe"]["seed"] == 1
    assert "no third-party work" in (out / "ATTRIBUTION.md").read_text()


def test_parallel_writing_gives_the_same_images(tmp_path):
    one = write_dataset(tmp_path / "one", count=4, resolution=16, seed=2, workers=1)
    two = write_dataset(tmp_path / "two", count=4, resolution=16, seed=2, workers=2)
    for path in one.rglob("*.png"):
        assert path.read_bytes() == (two / path.relative_to(one)).read_bytes()
