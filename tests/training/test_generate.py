"""`gansmania generate`: one PNG per seed, reproducible, distinct seeds differ, clear errors."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.training.generators import TINY, NVlabsNames, marker_source, randomised
from training.checkpoint import save_generator
from training.generate import image_grid, to_uint8
from visualizer.cli import main


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code


@pytest.fixture
def model(tmp_path):
    return save_generator(tmp_path / "tiny.safetensors", randomised(TINY))


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_one_png_per_seed_reproducible_and_distinct(model, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert run_cli("generate", "--model", str(model), "--seeds", "0-2,7", "--grid",
                   "--out", str(first)) == 0
    assert run_cli("generate", "--model", str(model), "--seeds", "7,1", "--out", str(second)) == 0
    names = sorted(p.name for p in first.glob("seed*.png"))
    assert names == ["seed0000.png", "seed0001.png", "seed0002.png", "seed0007.png"]
    image = pixels(first / "seed0000.png")
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    # The same seed is the same image, whatever else is rendered with it.
    for name in ("seed0001.png", "seed0007.png"):
        np.testing.assert_array_equal(pixels(first / name), pixels(second / name))
    # Different seeds differ.
    images = [pixels(first / n) for n in names]
    assert all(not np.array_equal(images[i], images[j])
               for i in range(4) for j in range(i + 1, 4))
    assert pixels(first / "grid.png").shape == (32, 32, 3)
    settings = json.loads((first / "generate.json").read_text())
    assert settings["seeds"] == [0, 1, 2, 7] and settings["noise_mode"] == "const"
    assert settings["model_config"]["img_resolution"] == 16


def test_random_noise_is_seeded_and_truncation_changes_images(model, tmp_path):
    for out in ("r1", "r2"):
        assert run_cli("generate", "--model", str(model), "--seeds", "3", "--noise-mode",
                       "random", "--out", str(tmp_path / out)) == 0
    np.testing.assert_array_equal(pixels(tmp_path / "r1/seed0003.png"),
                                  pixels(tmp_path / "r2/seed0003.png"))
    assert run_cli("generate", "--model", str(model), "--seeds", "3", "--trunc", "0",
                   "--non-fused", "--out", str(tmp_path / "t")) == 0
    assert not np.array_equal(pixels(tmp_path / "t/seed0003.png"),
                              pixels(tmp_path / "r1/seed0003.png"))


def test_nvlabs_pickle_as_model(monkeypatch, tmp_path):
    nvlabs = NVlabsNames(monkeypatch)
    marker = tmp_path / "EXECUTED"
    pkl = nvlabs.snapshot(tmp_path / "snap.pkl", randomised(TINY), source=marker_source(marker))
    assert run_cli("generate", "--model", str(pkl), "--seeds", "4", "--out",
                   str(tmp_path / "p")) == 0
    assert (tmp_path / "p/seed0004.png").is_file() and not marker.exists()


def test_errors_are_one_line(model, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "data"
    (empty / "models").mkdir(parents=True)
    monkeypatch.setenv("GANSMANIA_DATA", str(empty))
    assert run_cli("generate", "--seeds", "0", "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no bundled default model yet" in err and "--model" in err
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(model.read_bytes()[:1000])
    assert run_cli("generate", "--model", str(broken), "--out", str(tmp_path / "y")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.safetensors" in err
    assert run_cli("generate", "--model", str(model), "--seeds", "x", "--out",
                   str(tmp_path / "z")) == 2
    assert "--seeds" in capsys.readouterr().err


def test_image_helpers():
    import torch

    images = to_uint8(torch.tensor([[[[-1.0, 0.0, 1.0, 5.0]]]]))
    assert images.tolist() == [[[[0], [128], [255], [255]]]]
    tiles = [np.full((2, 2, 1), v, np.uint8) for v in (1, 2, 3)]
    grid = image_grid(tiles)
    assert grid.shape == (4, 4, 1) and grid[0, 2, 0] == 2 and grid[3, 3, 0] == 0
