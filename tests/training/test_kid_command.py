"""`gansmania kid`: a dataset's held-out half scores near zero, a set of one soft colour far
from it, a model is sampled; the JSON holds the table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.training.training_runs import gansmania, procedural_data, train_args
from training.metrics import spread_indices
from visualizer.cli import main


def test_spread_indices_cover_the_whole_set():
    assert spread_indices(10, 3).tolist() == [0, 3, 6]
    assert spread_indices(3, 10).tolist() == [0, 1, 2]
    assert spread_indices(1000, 4).tolist() == [0, 250, 500, 750]


@pytest.mark.slow
def test_kid_table_ranks_the_held_out_half_before_a_soft_colour_and_samples_a_model(tmp_path):
    data = procedural_data(tmp_path / "data", count=48, resolution=32)
    soft = tmp_path / "soft"
    soft.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        pixels = rng.uniform(80, 180, 3) + rng.normal(0, 10, (32, 32, 3))
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(soft / f"{i}.png")
    run = tmp_path / "run"
    try:
        main(train_args(data, run, ticks=1))
    except SystemExit as done:
        assert done.code == 0
    model = sorted(run.glob("network-snapshot-*.safetensors"))[-1]

    table = tmp_path / "kid.json"
    result = gansmania("kid", str(data), str(soft), str(model), "--images", "24", "--res", "32",
                       "--json", str(table))

    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(table.read_text())["rows"]}
    assert set(rows) == {"data (held-out half)", "soft", model.name}
    assert rows["data (held-out half)"]["kid"] < rows["soft"]["kid"]
    assert rows[model.name]["images"] == 24 and rows["soft"]["kid_std"] > 0
    assert "held-out half" in result.stdout and "KID x1e3" in result.stdout
    # the readings: soft grain is all flat, the painted data is not
    assert rows["soft"]["readings"]["flat"] == 1 > rows["data (held-out half)"]["readings"]["flat"]
    assert "sharp edges" in result.stdout
