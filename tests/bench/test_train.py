"""The training benchmark's rows (shape and consistency, never speed)."""

from __future__ import annotations

import dataclasses

import pytest

from bench.train import COLUMNS, measure_config, reference_row
from training.train_config import recipe


def test_a_tiny_config_gives_a_consistent_row():
    config = recipe("cpu")
    config = dataclasses.replace(
        config, generator=config.generator.replace(img_resolution=16, channel_base=128, channel_max=16,
                                                   z_dim=16, w_dim=16, mapping_layers=2),
        discriminator=dataclasses.replace(config.discriminator, channel_base=128, channel_max=16))
    row = measure_config(config, batch=4, repeats=1)
    assert set(row) <= set(COLUMNS) and row["resolution"] == 16 and row["batch"] == 4
    assert row["ada_p"] == 0.5
    phases = row["Gmain_s"] + row["Dmain_s"] + row["Greg_s"] / 4 + row["Dreg_s"] / 16
    assert row["s_per_kimg"] == pytest.approx(phases / 4 * 1000)


def test_the_reference_is_nvlabs_published_v100_number():
    row = reference_row()
    assert row["s_per_kimg"] == pytest.approx(22.9) and row["device"] == "V100"
    assert "21.6-24.2" in row["reference"]
