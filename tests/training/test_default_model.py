"""The bundled default model: exported from a run as G_ema and its D with a card and a grid, and
diverse: no mode collapse across 64 fixed seeds."""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.training.training_runs import procedural_data, train_args
from training.checkpoint import load_checkpoint, load_generator
from training import default_model
from training.default_model import export_default
from training.discriminator import Discriminator, DiscriminatorConfig
from training.networks import build_generator
from training.model_card import CARD_SEEDS
from training.snapshots import load_transfer, sample_seeds
from training.procedural import render
from visualizer.cli import main
from visualizer.core.paths import data_dir


def mean_pairwise_distance(images: np.ndarray) -> float:
    """Mean absolute pixel difference over all pairs of images [N, ...] (0..255 scale)."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    return float(np.mean([np.abs(a - b).mean() for a, b in itertools.combinations(flat, 2)]))


def test_mean_pairwise_distance_known_values():
    images = np.stack([np.zeros((2, 2)), np.full((2, 2), 10.0), np.full((2, 2), 30.0)])
    assert mean_pairwise_distance(images) == pytest.approx((10 + 30 + 20) / 3)


def test_export_writes_g_ema_and_d_with_card_and_grid(tmp_path):
    data = procedural_data(tmp_path / "data")
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(train_args(data, run, ticks=1))
    assert exit_info.value.code == 0
    out = export_default(run / "network-snapshot-000000-000001.safetensors",
                         tmp_path / "models" / "default.safetensors",
                         notes=["path-length regularisation off"])
    assert set(load_checkpoint(out).groups) == {"G_ema", "D"}
    card = out.with_suffix(".md").read_text()
    assert "gansmania train" in card and "kimg: 0.016" in card
    assert '"generator": "training.procedural"' in card  # the dataset recipe
    assert "## Notes\n\n- path-length regularisation off" in card
    assert out.with_suffix(".png").is_file()
    assert str(tmp_path) not in card  # no path of the machine it was trained on
    assert f"images from `data/{data.name}`" in card


def _one_tick_snapshot(tmp_path):
    """The network snapshot of a one-tick run on procedural data (G_ema and D)."""
    data = procedural_data(tmp_path / "data")
    with pytest.raises(SystemExit) as exit_info:
        main(train_args(data, tmp_path / "run", ticks=1))
    assert exit_info.value.code == 0
    return tmp_path / "run" / "network-snapshot-000000-000001.safetensors"


def test_the_exported_d_is_the_snapshot_s_in_half_precision_and_a_transfer_starts_from_it(tmp_path):
    snapshot = _one_tick_snapshot(tmp_path)
    out = export_default(snapshot, tmp_path / "models" / "default.safetensors")
    trained = load_checkpoint(snapshot, groups=["D"]).group("D").tensors
    exported_d = load_checkpoint(out, groups=["D"]).group("D")
    exported = exported_d.tensors
    assert set(exported) == set(trained)
    assert all(t.dtype == torch.float16 for t in exported.values() if t.is_floating_point())
    for name, tensor in trained.items():
        assert torch.equal(exported[name], tensor.half()), name

    stored = exported_d.config
    names = {f.name for f in dataclasses.fields(DiscriminatorConfig)}
    d = Discriminator(DiscriminatorConfig(**{k: v for k, v in stored.items() if k in names}),
                      img_resolution=stored["img_resolution"])
    transfer = load_transfer(out)
    transfer.apply(build_generator(transfer.config), d)
    for name, tensor in d.state_dict().items():
        assert tensor.dtype == torch.float32
        assert torch.equal(tensor, exported[name].float()), name


def test_an_export_over_the_budget_with_d_is_written_without_it(tmp_path, monkeypatch):
    snapshot = _one_tick_snapshot(tmp_path)
    with_d = export_default(snapshot, tmp_path / "with-d" / "default.safetensors")
    monkeypatch.setattr(default_model, "MAX_BYTES", with_d.stat().st_size - 1)
    out = export_default(snapshot, tmp_path / "models" / "default.safetensors")
    assert set(load_checkpoint(out).groups) == {"G_ema"}


def test_a_grown_model_s_card_tells_every_stage_with_its_commands_and_cpu_time(tmp_path, monkeypatch):
    data = procedural_data(tmp_path / "data")
    small, grown = tmp_path / "run-16", tmp_path / "run-32"
    for args in (train_args(data, small, ticks=1),
                 train_args(data, grown, ticks=1, extra=[
                     "--transfer", str(small / "training-state-000000-000001.safetensors"),
                     "--transfer-resolution", "32"])):
        monkeypatch.setattr(sys, "argv", ["gansmania", *args])  # what commands.txt records
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 0
    out = export_default(grown / "network-snapshot-000000-000001.safetensors",
                         tmp_path / "models" / "default.safetensors")
    card = out.with_suffix(".md").read_text()
    assert "1. `runs/run-16` at 16 px: 0.016 kimg" in card
    assert "--transfer runs/run-16/training-state-000000-000001.safetensors" in card
    assert "--transfer-resolution 32" in card and "CPU-hours" in card
    assert str(tmp_path) not in card
    stage, = load_checkpoint(out).provenance["lineage"]
    assert stage["run"] == "run-16" and stage["resolution"] == 16 and "run_dir" not in stage


def _art_part(folder):
    """A scraped part as `prepare` leaves it: PNGs, dataset.json and ATTRIBUTION.md."""
    rng = np.random.default_rng(0)
    (folder / "00000").mkdir(parents=True)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(
            folder / "00000" / f"img{i:08d}.png")
    (folder / "dataset.json").write_text(json.dumps({"labels": None, "count": 8,
                                                     "source": "gansmania prepare",
                                                     "attribution": "ATTRIBUTION.md"}))
    (folder / "ATTRIBUTION.md").write_text(
        "| title | artist | date | licence | source | page | image | files |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| blobs | Jo Artist |  | CC-BY-SA-3.0 | debian-art:gnome-backgrounds/usr/x/blobs.svg | "
        "debian:gnome-backgrounds=43 (wallpaper) | usr/x/blobs.svg | "
        "00000/img00000000.png … 00000/img00000005.png |\n"
        "| knot (view 0) | Jane Doe |  | CC-BY-4.0 | debian-art:mandelbulber2-data/e/k.fract#view0"
        " | debian:mandelbulber2-data=2.20 (fractal) | e | 00000/img00000006.png … "
        "00000/img00000007.png |\n")


def test_export_with_its_data_writes_the_evidence(tmp_path):
    data = tmp_path / "mix"
    procedural_data(data / "procedural")
    _art_part(data / "art")
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(train_args(data, run, ticks=2, sets=("metrics.art=true", "metrics.images=8")))
    assert exit_info.value.code == 0
    models = tmp_path / "models"
    models.mkdir()
    old = export_default(run / "network-snapshot-000000-000001.safetensors",
                         models / "default.safetensors")
    out = export_default(run / "network-snapshot-000000-000002.safetensors",
                         models / "default.safetensors", data=data, old_model=old, kid_images=8)

    card = out.with_suffix(".md").read_text()
    assert "| debian-art:gnome-backgrounds | 1 | 6 | CC-BY-SA-3.0 |" in card
    assert "| debian-art:mandelbulber2-data | 1 | 2 | CC-BY-4.0 |" in card
    assert "| procedural (synth-dataset) |  | 16 |" in card
    assert "## Licence of the weights: GPL-3.0-or-later" in card
    assert "| mix (held-out half) |" in card and "| this model (default.safetensors) |" in card
    assert "| the model it replaces (default-replaced.safetensors) |" in card
    assert "| sharp edges | soft edges | colourful | composition | flat |" in card
    assert "![KID against CPU-hours](default-kid.png)" in card
    assert str(tmp_path) not in card
    attribution = (models / "ATTRIBUTION.md").read_text()
    assert "| blobs | Jo Artist | CC-BY-SA-3.0 |" in attribution
    assert {p.name for p in models.iterdir()} == {"default.safetensors", "default.md",
                                                   "default.png", "default-kid.png",
                                                   "default-compare.png", "ATTRIBUTION.md"}
    assert Image.open(models / "default-compare.png").width == 3 * 8 * 64 + 2 * 16


def _committed_model():
    # The bundled model is part of the product (`live`, `render` and `generate` default to it),
    # so a missing file fails here rather than skipping.
    path = data_dir("models") / "default.safetensors"
    assert path.is_file(), f"{path} is missing: export one with `python -m training.default_model`"
    return path


@pytest.mark.slow
def test_default_model_samples_are_as_diverse_as_half_the_dataset():
    path = _committed_model()
    generator = load_generator(path)
    samples = sample_seeds(generator, CARD_SEEDS)
    recipe = load_checkpoint(path, groups=["G_ema"]).provenance.get("dataset_recipe", {})
    dataset = np.stack([render(seed=recipe.get("seed", 0), index=i,
                               resolution=generator.img_resolution).transpose(2, 0, 1)
                        for i in range(64)])
    generated, real = mean_pairwise_distance(samples), mean_pairwise_distance(dataset)
    assert generated >= 0.5 * real, f"generated {generated:.1f} vs dataset {real:.1f}"


def test_the_card_writes_a_command_that_several_sessions_ran_once_with_their_count():
    from training.default_model import sessions

    first, resumed = "gansmania train d --out runs/r", "gansmania train d --out runs/r --resume auto"
    assert sessions([first, resumed, resumed, resumed, first]) == [
        first, f"{resumed}   # 3 sessions", first]
    assert sessions([]) == []
