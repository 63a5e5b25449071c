"""The procedural abstract-image source: deterministic, varied, composited, and written as a
dataset, with generated or measured palettes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from training.procedural import (BLENDS, MASKS, PALETTE_FILE, RECIPE_VERSION, composite, render,
                                 write_dataset)
from training.procedural_families import FAMILIES
from training.procedural_palettes import PaletteSet, save_palettes
from visualizer.cli import main

RED_BLUE = PaletteSet((np.array([[0.9, 0.0, 0.1], [0.1, 0.0, 0.8]], np.float32),
                       np.array([[0.5, 0.0, 0.5], [1.0, 0.0, 0.0], [0.0, 0.0, 0.2]], np.float32)),
                      "test palettes")


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
    assert (images.std(axis=(1, 2)).mean(axis=1) > 20).sum() >= 20  # nearly none is one colour


def test_composite_blend_modes_known_values():
    base, top = np.full((1, 1, 3), 0.5, np.float32), np.full((1, 1, 3), 0.25, np.float32)
    expected = {"normal": 0.25, "multiply": 0.125, "screen": 0.625, "overlay": 0.25,
                "difference": 0.25, "lighten": 0.5, "darken": 0.25}
    assert set(BLENDS) == set(expected)
    for name, value in expected.items():
        assert np.allclose(BLENDS[name](base, top), value), name


def test_composite_keeps_part_of_both_layers_with_a_crisp_edge():
    black, white = np.zeros((64, 64, 3), np.float32), np.ones((64, 64, 3), np.float32)
    shaped = 0
    for seed in range(40):
        mixed = composite(np.random.default_rng(seed), black, white)
        assert mixed.shape == black.shape and 0 <= mixed.min() and mixed.max() <= 1
        inside = mixed[..., 0] > 0.75
        if 0.05 < inside.mean() < 0.95:  # a shape: both layers show, with little in between
            shaped += 1
            assert ((mixed[..., 0] > 0.05) & (mixed[..., 0] < 0.75)).mean() < 0.1
    assert shaped >= 10  # most masks are shapes (the rest cover it all, translucent, or blend away)
    assert set(MASKS) >= {"full", "disc", "half"}


def test_write_dataset_layout_and_recipe(tmp_path):
    out = write_dataset(tmp_path / "data", count=5, resolution=16, seed=1)
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert pngs == [f"00000/img0000000{i}.png" for i in range(5)]
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] is None and meta["resolution"] == 16 and meta["count"] == 5
    recipe = meta["recipe"]
    assert recipe["seed"] == 1 and recipe["recipe_version"] == RECIPE_VERSION == 2
    assert recipe["families"] == list(FAMILIES) and len(FAMILIES) == 9
    assert "harmonies" in recipe["palettes"]["generated"]
    assert not (out / PALETTE_FILE).exists()
    assert "no third-party work" in (out / "ATTRIBUTION.md").read_text()


def test_parallel_writing_gives_the_same_images(tmp_path):
    one = write_dataset(tmp_path / "one", count=4, resolution=16, seed=2, workers=1)
    two = write_dataset(tmp_path / "two", count=4, resolution=16, seed=2, workers=2)
    for path in one.rglob("*.png"):
        assert path.read_bytes() == (two / path.relative_to(one)).read_bytes()


def test_images_take_their_colours_from_given_palettes(tmp_path):
    # Red, blue and purple hold no green, and nothing the painter does adds a hue: every image
    # painted from these palettes has none either, while generated palettes do.
    images = [render(seed=0, index=i, resolution=24, palettes=RED_BLUE) for i in range(12)]
    assert max(int(image[..., 1].max()) for image in images) == 0
    assert max(int(render(seed=0, index=i, resolution=24)[..., 1].max()) for i in range(12)) > 0
    assert np.array_equal(images[3], render(seed=0, index=3, resolution=24, palettes=RED_BLUE))


def test_synth_dataset_with_a_palette_file(tmp_path):
    palette_file = save_palettes(RED_BLUE, tmp_path / "mine.json")
    out = tmp_path / "data"
    with pytest.raises(SystemExit) as exit_info:
        main(["synth-dataset", str(out), "--count", "6", "--res", "16", "--palettes", str(palette_file)])
    assert exit_info.value.code == 0
    for path in out.rglob("*.png"):
        assert np.asarray(Image.open(path))[..., 1].max() == 0, path
    recipe = json.loads((out / "dataset.json").read_text())["recipe"]
    assert recipe["palettes"] == {"file": PALETTE_FILE, "count": 2, "source": "test palettes",
                                  "sha256": RED_BLUE.digest()}
    assert (out / PALETTE_FILE).read_text() == palette_file.read_text()  # the folder is complete
    assert "palettes measured" in (out / "ATTRIBUTION.md").read_text()


def test_synth_dataset_measures_palettes_from_a_folder_of_images(tmp_path):
    art = tmp_path / "art"
    art.mkdir()
    picture = np.zeros((64, 64, 3), np.uint8)  # measured at 64 px: no resampling, exact colours
    picture[:, :32] = (220, 0, 40)
    picture[:, 32:] = (30, 0, 200)
    Image.fromarray(picture).save(art / "two.png")
    out = tmp_path / "data"
    with pytest.raises(SystemExit) as exit_info:
        main(["synth-dataset", str(out), "--count", "3", "--res", "16", "--palettes", str(art)])
    assert exit_info.value.code == 0
    saved = json.loads((out / PALETTE_FILE).read_text())
    assert sorted(saved["palettes"][0]) == ["#1e00c8", "#dc0028"]
    assert saved["source"] == str(art)
    for path in out.rglob("*.png"):
        assert np.asarray(Image.open(path))[..., 1].max() == 0, path
