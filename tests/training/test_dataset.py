"""Training images from folders and zips: crop/resize, labels, mirroring, broken files, sampling."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from training.dataset import ImageDataset, InfiniteSampler
from visualizer.core.errors import GansmaniaError


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def folder(tmp_path):
    # a wide image: left third red, middle third green, right third blue (the centre crop is green)
    wide = np.zeros((30, 90, 3), np.uint8)
    wide[:, :30, 0] = wide[:, 30:60, 1] = wide[:, 60:, 2] = 255
    _save(tmp_path / "d" / "a" / "wide.png", wide)
    grey = np.full((20, 20), 100, np.uint8)  # greyscale becomes RGB
    _save(tmp_path / "d" / "grey.jpg", grey)
    gradient = np.tile(np.arange(16, dtype=np.uint8)[None, :, None] * 16, (16, 1, 3))
    _save(tmp_path / "d" / "b" / "gradient.png", gradient)
    return tmp_path / "d"


def test_centre_crop_resize_and_greyscale(folder):
    ds = ImageDataset(folder, resolution=8)
    assert ds.names == ["a/wide.png", "b/gradient.png", "grey.jpg"] and len(ds) == 3
    wide, label = ds[0]
    assert wide.shape == (3, 8, 8) and wide.dtype.is_floating_point is False
    assert label.shape == (0,)
    assert wide[1].float().mean() > 250 and wide[0].float().mean() < 5 and wide[2].float().mean() < 5
    grey = ds[2][0].numpy()
    assert np.all(np.abs(grey.astype(int) - 100) <= 1)


def test_mirror_doubles_the_dataset_with_flipped_copies(folder):
    ds = ImageDataset(folder, resolution=16, xflip=True)
    assert len(ds) == 6
    original, flipped = ds[1][0].numpy(), ds[4][0].numpy()
    assert np.array_equal(flipped, original[:, :, ::-1])
    assert original[0, 0, 0] < original[0, 0, -1]  # the gradient rises to the right


def test_a_zip_reads_like_the_folder(folder, tmp_path):
    archive = tmp_path / "d.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in folder.rglob("*"):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    a, b = ImageDataset(folder, resolution=8), ImageDataset(archive, resolution=8)
    assert a.names == b.names
    for i in range(len(a)):
        assert np.array_equal(a[i][0].numpy(), b[i][0].numpy())


def test_class_labels_from_dataset_json_become_one_hot(folder):
    labels = [["a/wide.png", 2], ["b/gradient.png", 0], ["grey.jpg", 1]]
    (folder / "dataset.json").write_text(json.dumps({"labels": labels}))
    ds = ImageDataset(folder, resolution=8, use_labels=True)
    assert ds.c_dim == 3
    assert ds[0][1].tolist() == [0, 0, 1] and ds[2][1].tolist() == [0, 1, 0]


def test_missing_labels_are_a_one_line_error(folder):
    (folder / "dataset.json").write_text(json.dumps({"labels": [["a/wide.png", 0]]}))
    with pytest.raises(GansmaniaError, match="no label for 'b/gradient.png'"):
        ImageDataset(folder, resolution=8, use_labels=True)


def test_a_broken_image_is_skipped_and_named(folder, caplog):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    with caplog.at_level("WARNING"):
        ds = ImageDataset(folder, resolution=8)
    assert "broken.png" not in ds.names and ds.skipped == ["broken.png"]
    assert "broken.png" in caplog.text


def test_no_images_is_an_error_naming_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(GansmaniaError, match="no images found") as info:
        ImageDataset(tmp_path / "empty", resolution=8)
    assert str(tmp_path / "empty") in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(GansmaniaError, match="not found"):
        ImageDataset(tmp_path / "missing", resolution=8)


def _take(sampler, count):
    it = iter(sampler)
    return [next(it) for _ in range(count)]


def test_sampler_is_an_endless_seeded_shuffle_that_resumes_where_it_stopped():
    stream = _take(InfiniteSampler(5, seed=1), 12)
    assert sorted(stream[:5]) == list(range(5)) and sorted(stream[5:10]) == list(range(5))
    assert stream[:5] != stream[5:10]  # a new permutation per epoch
    assert _take(InfiniteSampler(5, seed=1, start=7), 5) == stream[7:12]


def test_sampler_ranks_split_one_stream():
    stream = _take(InfiniteSampler(6, seed=0), 12)
    rank0 = _take(InfiniteSampler(6, seed=0, rank=0, world=2), 6)
    rank1 = _take(InfiniteSampler(6, seed=0, rank=1, world=2), 6)
    assert rank0 == stream[0::2] and rank1 == stream[1::2]
    assert _take(InfiniteSampler(6, seed=0, rank=1, world=2, start=2), 4) == rank1[2:6]
