"""Palettes: the harmony generator, CIELAB, k-means, and palettes measured from images, with
pictures whose colours are known."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from training.procedural_palettes import (LUMA, MIN_LUMA_SPREAD, PaletteSet, extract_palettes,
                                          hsv_to_rgb, image_palette, kmeans, load_palettes,
                                          random_palette, save_palettes, srgb_to_lab)
from visualizer.core.errors import GansmaniaError

# Four blocks of known colour and known share of a 64x64 picture: 1/2, 1/4, 3/16, 1/16.
BLOCKS = np.array([[200, 30, 40], [20, 60, 180], [240, 210, 40], [10, 90, 50]], np.uint8)


def block_picture() -> np.ndarray:
    image = np.empty((64, 64, 3), np.uint8)
    image[:, :32] = BLOCKS[0]
    image[:32, 32:] = BLOCKS[1]
    image[32:, 32:] = BLOCKS[2]
    image[56:, 32:] = BLOCKS[3]
    return image


def test_hsv_to_rgb_known_colours():
    hsv = np.array([[0, 1, 1], [1 / 3, 1, 1], [2 / 3, 1, 1], [0, 0, 0.5]])
    expected = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5]])
    assert np.allclose(hsv_to_rgb(hsv), expected)


def test_random_palettes_are_in_range_and_never_one_soft_colour():
    for seed in range(200):
        palette = random_palette(np.random.default_rng(seed))
        assert palette.dtype == np.float32 and 4 <= len(palette) <= 7
        assert palette.min() >= 0 and palette.max() <= 1
        luma = palette @ LUMA
        assert luma.max() - luma.min() >= MIN_LUMA_SPREAD * 0.99, seed


def test_srgb_to_lab_known_colours():
    lab = srgb_to_lab(np.array([[1.0, 1, 1], [0, 0, 0], [1, 0, 0]]))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.1)
    assert np.allclose(lab[1], [0, 0, 0], atol=0.1)
    assert np.allclose(lab[2], [53.24, 80.09, 67.20], atol=0.2)  # sRGB red, D65


def test_kmeans_finds_separate_clusters_and_no_more_than_there_are():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(10, 0.1, (30, 2))])
    labels, count = kmeans(points, 2, rng=rng)
    assert count == 2 and len(set(labels[:50])) == 1 and len(set(labels[50:])) == 1
    assert labels[0] != labels[-1]
    _, count = kmeans(np.repeat([[1.0, 2.0], [3.0, 4.0]], 10, axis=0), 5, rng=rng)
    assert count == 2


def test_image_palette_recovers_known_blocks_largest_first():
    palette = image_palette(block_picture(), colours=4, rng=np.random.default_rng(0))
    assert np.allclose(palette * 255, BLOCKS, atol=0.5)
    # Asked for more colours than the picture has, it gives the four, not duplicates.
    assert len(image_palette(block_picture(), colours=6, rng=np.random.default_rng(0))) == 4


def test_extract_palettes_from_a_folder(tmp_path):
    Image.fromarray(block_picture()).save(tmp_path / "blocks.png")
    Image.fromarray(block_picture()[:, ::-1]).save(tmp_path / "mirrored.png")
    Image.new("RGB", (64, 64), (7, 7, 7)).save(tmp_path / "flat.png")  # one colour: no palette
    found = extract_palettes(tmp_path, colours=4)
    assert found.source == str(tmp_path) and len(found.palettes) == 2
    for palette in found.palettes:
        assert np.allclose(palette * 255, BLOCKS, atol=0.5)


def test_palette_file_round_trip(tmp_path):
    palettes = PaletteSet((BLOCKS[:3] / 255.0, BLOCKS[1:] / 255.0), "art/")
    path = save_palettes(palettes, tmp_path / "palettes.json")
    assert json.loads(path.read_text())["palettes"][0][0] == "#c81e28"
    again = load_palettes(path)
    assert again.source == "art/" and again.digest() == palettes.digest()
    assert all(np.allclose(a, b) for a, b in zip(again.palettes, palettes.palettes))


@pytest.mark.parametrize("text, message", [
    ("{", "not a readable palette file"),
    ('{"format": "other"}', "'format' must be"),
    ('{"format": "gansmania-palettes", "version": 9, "palettes": []}', "'version' 9"),
    ('{"format": "gansmania-palettes", "version": 1, "palettes": []}', "non-empty list"),
    ('{"format": "gansmania-palettes", "version": 1, "palettes": [["#000000"]]}', "'palettes'[0]"),
    ('{"format": "gansmania-palettes", "version": 1, "palettes": [["#000000", "#zz0000"]]}',
     "not \"#rrggbb\" hex"),
])
def test_malformed_palette_files_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(GansmaniaError, match=str(path)) as error:
        load_palettes(path)
    assert message in str(error.value)
