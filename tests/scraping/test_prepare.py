"""`prepare` turns a scrape into the dataset format `train` reads, with the attribution file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from bench.rigs.localsite import add_gallery, png_bytes
from scraping.crawl import scrape
from scraping.prepare import crop_boxes, crop_count, prepare_dataset, random_boxes
from scraping.settings import PrepareSettings
from tests.scraping.fakes import manifest_rows, settings_for
from visualizer.core.config import load_config
from visualizer.core.errors import GansmaniaError

RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)


def _stripes(colours: list[tuple[int, int, int]], *, vertical: bool, side: int = 64) -> Image.Image:
    """Squares of ``colours`` side by side (or stacked): each crop's answer is one colour."""
    blocks = [np.full((side, side, 3), c, np.uint8) for c in colours]
    return Image.fromarray(np.concatenate(blocks, axis=0 if vertical else 1))


IMAGES = {
    0: _stripes([RED, GREEN, BLUE], vertical=False),  # 192 x 64
    1: _stripes([BLUE, RED], vertical=True),          # 64 x 128
    2: _stripes([GREEN], vertical=False),             # 64 x 64
    3: _stripes([GREEN], vertical=False),             # the same bytes as 2: a duplicate
}


@pytest.fixture
def raw(site, tmp_path):
    first = add_gallery(site, count=4, per_page=10, image=lambda i: png_bytes(IMAGES[i]))
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__image_selector="img.art",
                            gallery__title_selector="h1.title", gallery__artist_selector=".artist",
                            gallery__licence="CC0 1.0", filter__near_duplicate_bits=0)
    summary = scrape(settings, tmp_path / "raw")
    assert summary.statuses == {"kept": 3, "duplicate": 1}
    return tmp_path / "raw"


def _pngs(data):
    return sorted(data.rglob("*.png"))


def _mean(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=float).mean(axis=(0, 1))


def test_centre_crops_make_the_dataset_train_reads(raw, tmp_path):
    data = tmp_path / "data"
    summary = prepare_dataset(raw, data, PrepareSettings(resolution=16, workers=1))

    files = _pngs(data)
    assert [f.relative_to(data).as_posix() for f in files] == \
        [f"00000/img{i:08d}.png" for i in range(3)]
    for f in files:
        with Image.open(f) as image:
            assert (image.size, image.mode) == ((16, 16), "RGB")
    meta = json.loads((data / "dataset.json").read_text())
    assert meta["labels"] is None and meta["resolution"] == 16 and meta["count"] == 3
    assert summary.images == 3 and summary.sources == 3
    # Sorted by item: 0 (red|green|blue -> green in the middle), 1 (blue over red: the centre
    # square straddles both), 2 (green).
    assert np.allclose(_mean(files[0]), GREEN, atol=2)
    assert np.allclose(_mean(files[2]), GREEN, atol=2)
    middle = _mean(files[1])
    assert middle[0] > 80 and middle[2] > 80 and middle[1] < 40
    assert load_config(PrepareSettings, data / "config.toml").resolution == 16


def test_attribution_lists_every_source_work(raw, tmp_path, site):
    data = tmp_path / "data"
    prepare_dataset(raw, data, PrepareSettings(resolution=16, workers=1))
    text = (data / "ATTRIBUTION.md").read_text()
    kept = [r for r in manifest_rows(raw) if r["status"] == "kept"]
    assert len(kept) == 3
    for row in kept:
        line = next(l for l in text.splitlines() if row["page_url"] in l)
        for value in (row["title"], row["artist"], row["licence"], row["image_url"]):
            assert value in line
    assert site.url("/gallery/item/3.html") not in text  # the duplicate is not in the set


def test_multi_crop_and_augmentation_multiply_the_set(raw, tmp_path):
    data = tmp_path / "data"
    settings = PrepareSettings(resolution=16, crop="multi", augment=2, workers=1)
    summary = prepare_dataset(raw, data, settings)
    # Crops: 3 from the 192x64 strip, 2 from the 64x128 one, 1 from the square; x (1 + 2).
    assert summary.images == (3 + 2 + 1) * 3 == len(_pngs(data))
    assert json.loads((data / "dataset.json").read_text())["count"] == 18
    files = _pngs(data)
    # The first strip's plain crops are red, green, blue in order (each followed by 2 variants).
    for crop, colour in enumerate((RED, GREEN, BLUE)):
        assert np.allclose(_mean(files[crop * 3]), colour, atol=2)
    base, variant = (np.asarray(Image.open(files[i]), dtype=float) for i in (9, 10))
    assert np.abs(base - variant).mean() > 1.0  # an augmented copy is not the original
    assert "00000/img00000000.png … 00000/img00000008.png" in \
        (data / "ATTRIBUTION.md").read_text()


def test_the_same_settings_give_the_same_dataset_with_any_worker_count(raw, tmp_path):
    settings = PrepareSettings(resolution=16, crop="multi", augment=1, seed=7)
    prepare_dataset(raw, tmp_path / "one", PrepareSettings(**{**settings.__dict__, "workers": 1}))
    prepare_dataset(raw, tmp_path / "two", PrepareSettings(**{**settings.__dict__, "workers": 2}))
    one, two = _pngs(tmp_path / "one"), _pngs(tmp_path / "two")
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    prepare_dataset(raw, tmp_path / "seed8", PrepareSettings(**{**settings.__dict__, "seed": 8,
                                                               "workers": 1}))
    assert [p.read_bytes() for p in one] != [p.read_bytes() for p in _pngs(tmp_path / "seed8")]


def test_an_existing_dataset_is_replaced_only_when_asked(raw, tmp_path):
    data = tmp_path / "data"
    prepare_dataset(raw, data, PrepareSettings(resolution=16, workers=1))
    (data / "notes.txt").write_text("mine")
    with pytest.raises(GansmaniaError, match="--overwrite"):
        prepare_dataset(raw, data, PrepareSettings(resolution=16, workers=1))
    prepare_dataset(raw, data, PrepareSettings(resolution=8, workers=1), overwrite=True)
    assert json.loads((data / "dataset.json").read_text())["resolution"] == 8
    assert (data / "notes.txt").read_text() == "mine"


def test_prepare_without_a_scrape_is_a_one_line_error(tmp_path):
    with pytest.raises(GansmaniaError, match="no manifest here"):
        prepare_dataset(tmp_path / "nothing", tmp_path / "data", PrepareSettings())


def test_crop_boxes_spread_squares_along_the_long_side():
    assert crop_boxes(300, 100, mode="center", max_crops=3) == [(100, 0, 200, 100)]
    assert crop_boxes(300, 100, mode="multi", max_crops=3) == \
        [(0, 0, 100, 100), (100, 0, 200, 100), (200, 0, 300, 100)]
    assert crop_boxes(100, 250, mode="multi", max_crops=2) == [(0, 0, 100, 100), (0, 150, 100, 250)]
    assert crop_boxes(110, 100, mode="multi", max_crops=3) == [(5, 0, 105, 100)]


def test_random_crops_at_several_scales_stay_inside_and_repeat_with_the_seed():
    boxes = random_boxes(3840, 2160, count=200, resolution=256, min_fraction=0.25,
                         rng=np.random.default_rng(3))
    sides = np.array([right - left for left, top, right, bottom in boxes])
    assert all(right - left == bottom - top for left, top, right, bottom in boxes)
    assert all(0 <= left and 0 <= top and right <= 3840 and bottom <= 2160
               for left, top, right, bottom in boxes)
    assert sides.min() >= 540 and sides.max() <= 2160  # a quarter of the short side .. all of it
    # Log-uniform: as many sides below the geometric middle (1080) as above it.
    assert 0.35 < np.mean(sides < 1080) < 0.65
    again = random_boxes(3840, 2160, count=200, resolution=256, min_fraction=0.25,
                         rng=np.random.default_rng(3))
    assert boxes == again
    # Never smaller than the output resolution: a crop is never upscaled.
    small = random_boxes(400, 300, count=50, resolution=256, min_fraction=0.1,
                         rng=np.random.default_rng(0))
    assert min(r - l for l, t, r, b in small) >= 256


def test_large_images_give_more_random_crops_than_small_ones():
    settings = PrepareSettings(resolution=256, crop="scales", max_crops=64)
    assert crop_count(5120, 2880, settings) == 64     # capped
    assert crop_count(384, 384, settings) == 4        # 2 x (384 / 256)^2, rounded down
    assert crop_count(200, 100, settings) == 1        # smaller than the resolution: one view
    assert crop_count(300, 100, PrepareSettings(crop="multi", max_crops=3)) == 3


def test_scales_crops_make_a_dataset_that_repeats(raw, tmp_path):
    settings = PrepareSettings(resolution=16, crop="scales", max_crops=8, workers=1)
    summary = prepare_dataset(raw, tmp_path / "a", settings)
    # 192x64 and 64x128 and 64x64 at 16 px: 2 x (64 / 16)^2 = 32 -> capped at 8 each.
    assert summary.images == 24 == len(_pngs(tmp_path / "a"))
    prepare_dataset(raw, tmp_path / "b", settings)
    assert [p.read_bytes() for p in _pngs(tmp_path / "a")] == \
        [p.read_bytes() for p in _pngs(tmp_path / "b")]
