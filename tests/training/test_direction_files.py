"""Directions beside the model: they reload bit-identically, names a person edits survive a
re-run (not --force), and a file for another w_dim or a broken one is one line naming it."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from tests.training.generators import TINY, randomised
from training.checkpoint import save_generator
from training.direction_files import (directions_file, load_directions, names_file,
                                      save_directions)
from training.directions import find_directions
from visualizer.core.errors import GansmaniaError


@pytest.fixture(scope="module")
def found():
    return find_directions(randomised(TINY), count=4, samples=500)


@pytest.fixture
def model(tmp_path):
    return save_generator(tmp_path / "tiny.safetensors", randomised(TINY))


def test_stored_directions_reload_bit_identically(model, found):
    saved = save_directions(model, found, samples=500)
    assert saved.path == directions_file(model) == model.with_name("tiny.directions.safetensors")
    loaded = load_directions(model, w_dim=TINY.w_dim)
    assert len(loaded.entries) == len(saved.entries) == len(found)
    for a, b in zip(found, loaded.entries):
        assert a.vector.tobytes() == b.vector.tobytes() and b.vector.dtype == np.float32
        assert (a.name, a.method, a.index, a.layers) == (b.name, b.method, b.index, b.layers)
        assert (a.value, a.scale, a.share) == (b.value, b.scale, b.share)
    assert loaded.samples == 500 and loaded.w_dim == TINY.w_dim
    assert [d.name for d in loaded.of_method("pca")] == ["pca-0", "pca-1", "pca-2", "pca-3"]
    table = tomllib.loads(names_file(model).read_text())
    assert table["w_dim"] == TINY.w_dim
    assert [(t["name"], t["method"], t["index"], t["layers"]) for t in table["direction"]] == \
        [(d.name, d.method, d.index, d.layers) for d in found]


def test_a_model_without_directions_has_none(model):
    assert load_directions(model, w_dim=TINY.w_dim) is None


def rename(model, old: str, new: str) -> None:
    path = names_file(model)
    path.write_text(path.read_text().replace(f'name = "{old}"', f'name = "{new}"'))


def test_edited_names_survive_a_rerun_unless_forced(model, found):
    save_directions(model, found, samples=500)
    rename(model, "pca-1", "warmth")
    rename(model, "sefa-0", "zoom out")
    loaded = load_directions(model, w_dim=TINY.w_dim)
    assert loaded.named("warmth").method == "pca" and loaded.named("warmth").index == 1
    again = save_directions(model, found, samples=500)  # the re-run
    assert again.named("warmth").index == 1 and again.named("zoom out").method == "sefa"
    assert load_directions(model, w_dim=TINY.w_dim).named("warmth") is not None
    forced = save_directions(model, found, samples=500, force=True)
    assert forced.named("warmth") is None and forced.named("pca-1") is not None


def test_another_w_dim_or_a_broken_file_is_refused_naming_the_file(model, found):
    save_directions(model, found, samples=500)
    with pytest.raises(GansmaniaError) as refused:
        load_directions(model, w_dim=TINY.w_dim * 2)
    message = str(refused.value)
    assert str(directions_file(model)) in message and "w_dim 8" in message and "\n" not in message
    rename(model, "pca-1", "sefa-2")  # two directions, one name
    with pytest.raises(GansmaniaError, match="names must be unique"):
        load_directions(model, w_dim=TINY.w_dim)
    names_file(model).write_text("[[direction]]\nname = 3\n")
    with pytest.raises(GansmaniaError, match=r"tiny\.directions\.toml: \[\[direction\]\] #1"):
        load_directions(model, w_dim=TINY.w_dim)
    directions_file(model).write_bytes(b"not safetensors")
    with pytest.raises(GansmaniaError, match=r"tiny\.directions\.safetensors: not a directions"):
        load_directions(model, w_dim=TINY.w_dim)
