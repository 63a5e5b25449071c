"""`gansmania train`: tiny CPU runs that snapshot, resume exactly, adapt ADA's p, skip broken
images, refuse empty datasets, and run under torchrun with two processes."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import pytest
import torch
from PIL import Image

from tests.training.training_runs import gansmania, procedural_data, train_args
from training.checkpoint import load_checkpoint, load_generator, save_generator
from training.discriminator import DiscriminatorConfig
from training.networks import build_generator
from training.networks.ops import upsample2d
from visualizer.cli import main


def run(args: list[str]) -> None:
    """Run the CLI in this process (fast); a failure raises."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0


def tiny_discriminator(resolution: int):
    """A D of the tiny runs' widths (train_args), at ``resolution``."""
    from training.discriminator import Discriminator

    return Discriminator(dataclasses.replace(DiscriminatorConfig(), channel_base=256, channel_max=32),
                         img_resolution=resolution)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return procedural_data(tmp_path_factory.mktemp("data"))


def test_two_tick_run_writes_a_checkpoint_that_generate_loads(data, tmp_path):
    out = tmp_path / "run"
    run(train_args(data, out, ticks=2))
    snapshots = sorted(out.glob("network-snapshot-*.safetensors"))
    assert [p.name for p in snapshots] == ["network-snapshot-000000-000001.safetensors",
                                           "network-snapshot-000000-000002.safetensors"]
    assert (out / "config.toml").is_file() and list(out.glob("events.out.tfevents.*"))
    assert len(list(out.glob("fakes-*.png"))) == 2 and (out / "reals.png").is_file()
    header = load_checkpoint(snapshots[-1]).training
    assert header["kimg"] == pytest.approx(0.032) and header["tick"] == 2

    result = gansmania("generate", "--model", str(snapshots[-1]), "--seeds", "0-1",
                       "--out", str(tmp_path / "gen"))
    assert result.returncode == 0, result.stderr
    image = Image.open(tmp_path / "gen" / "seed0001.png")
    assert image.size == (16, 16)


def test_two_one_tick_runs_with_resume_equal_one_two_tick_run(data, tmp_path):
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    run(train_args(data, straight, ticks=2))
    run(train_args(data, halves, ticks=1))
    assert not list(halves.glob("*-000002.safetensors"))
    run(train_args(data, halves, ticks=2, extra=["--resume", "auto"]))
    name = "training-state-000000-000002.safetensors"
    a, b = load_checkpoint(straight / name), load_checkpoint(halves / name)
    for group in ("G", "D", "G_ema", "opt_G", "opt_D", "state"):
        tensors_a, tensors_b = a.groups[group].tensors, b.groups[group].tensors
        assert tensors_a.keys() == tensors_b.keys()
        for key in tensors_a:
            assert torch.equal(tensors_a[key], tensors_b[key]), f"{group}.{key} differs"
    # and the run was really training: the weights moved away from the first snapshot
    first = load_checkpoint(straight / "network-snapshot-000000-000001.safetensors")
    assert not torch.equal(first.groups["G_ema"].tensors["synthesis.b16.torgb.weight"],
                           a.groups["G_ema"].tensors["synthesis.b16.torgb.weight"])


@pytest.mark.slow
def test_ada_p_rises_when_d_overfits_a_16_image_dataset(data, tmp_path):
    # G barely learns (lr 1e-7) and D is unregularised with a high lr: D soon tells the 16 reals
    # from the fakes, mean sign(D(real)) stays above the 0.3 target, so p must climb from 0 by
    # the controller's step (batch * interval / (speed_kimg * 1000) = 0.04 per iteration).
    out = tmp_path / "ada"
    run(train_args(data, out, ticks=12, sets=(
        "augment.target=0.3", "augment.speed_kimg=0.2", "augment.interval=1", "optim.g_lr=1e-7",
        "optim.d_lr=0.01", "loss.r1_gamma=0")))
    state = load_checkpoint(sorted(out.glob("training-state-*.safetensors"))[-1])
    assert float(state.groups["state"].tensors["augment_p"]) >= 0.2


def test_a_corrupt_image_is_reported_by_name_and_skipped(data, tmp_path, capfd):
    broken = tmp_path / "data"
    shutil.copytree(data, broken)
    (broken / "00000" / "img00000003.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    out = tmp_path / "run"
    run(train_args(broken, out, ticks=1))
    err = capfd.readouterr().err
    assert "skipping unreadable image" in err and "img00000003.png" in err
    assert "(15 images)" in err
    assert list(out.glob("network-snapshot-*.safetensors"))


def test_an_empty_dataset_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = gansmania(*train_args(tmp_path / "empty", tmp_path / "run", ticks=1))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no images found" in result.stderr and str(tmp_path / "empty") in result.stderr


def test_an_existing_run_is_not_overwritten_without_resume(data, tmp_path):
    out = tmp_path / "run"
    run(train_args(data, out, ticks=1))
    result = gansmania(*train_args(data, out, ticks=1))
    assert result.returncode == 2 and "--resume auto" in result.stderr


def test_transfer_starts_from_a_checkpoint_s_generator(data, tmp_path):
    source = tmp_path / "source"
    run(train_args(data, source, ticks=1))
    checkpoint = source / "network-snapshot-000000-000001.safetensors"
    out = tmp_path / "transfer"
    # the run's own settings say 64 channels; the checkpoint's architecture (32) wins
    run(train_args(data, out, ticks=1, extra=["--transfer", str(checkpoint)],
                   sets=("generator.channel_max=64",)))
    config = load_generator(out / "network-snapshot-000000-000001.safetensors").config
    assert config.channel_max == 32


def test_transfer_keeps_the_discriminator_widths_the_run_sets(data, tmp_path):
    # D used to follow the transferred G's widths even when the run set its own, so a wider
    # D for a trained G (does a D that sees detail teach G edges?) silently trained as before.
    source = tmp_path / "source"
    run(train_args(data, source, ticks=1))
    out = tmp_path / "wider-d"
    run(train_args(data, out, ticks=1, sets=("discriminator.channel_base=512",),
                   extra=["--transfer", str(source / "training-state-000000-000001.safetensors")]))
    state = load_checkpoint(sorted(out.glob("training-state-*.safetensors"))[-1])
    assert state.groups["D"].config["channel_base"] == 512
    assert load_generator(out / "network-snapshot-000000-000001.safetensors").config.channel_base == 256


def test_transfer_grows_a_model_to_a_larger_output_keeping_the_blocks_both_sizes_have(data, tmp_path):
    from training.snapshots import load_transfer

    source = tmp_path / "source"
    run(train_args(data, source, ticks=1))
    state = source / "training-state-000000-000001.safetensors"
    transfer = load_transfer(state, resolution=32)
    g = build_generator(transfer.config)
    d = tiny_discriminator(32)
    transfer.apply(g, d)
    for module, old in ((g, transfer.generator_state), (d, transfer.discriminator_state)):
        new = module.state_dict()
        shared = [k for k in new if k in old and old[k].shape == new[k].shape]
        assert len(shared) > len(new) // 2
        assert all(torch.equal(old[k], new[k]) for k in shared)
        fresh = set(new) - set(shared)
        assert fresh and all("b32" in k.split(".") for k in fresh)  # only the new top block
    # The new block's ToRGB starts at zero: the grown generator draws the small one's picture,
    # upsampled with its own filter, until it learns.
    small = build_generator(load_transfer(state).config)
    small.load_state_dict(transfer.generator_state)
    ws = small.mapping(torch.randn(4, small.z_dim), None)
    with torch.no_grad():
        before = small.synthesis(ws, noise_mode="const")
        grown = g.synthesis(ws[:, :1].repeat(1, g.synthesis.num_ws, 1), noise_mode="const")
    assert torch.allclose(grown, upsample2d(before, g.synthesis.b32.resample_taps), atol=1e-5)
    # The whole command: a tick at the new size, its snapshot a 32 px generator.
    out = tmp_path / "grown"
    run(train_args(data, out, ticks=1, extra=["--transfer", str(state), "--transfer-resolution", "32"]))
    assert load_generator(out / "network-snapshot-000000-000001.safetensors").config.img_resolution == 32


def test_transfer_top_puts_retrained_low_blocks_back_under_the_top_blocks_of_a_full_size_model(
        data, tmp_path):
    from training.snapshots import load_transfer

    big_source = tmp_path / "big"
    run(train_args(data, big_source, ticks=1, sets=("generator.img_resolution=32",)))
    big = big_source / "training-state-000000-000001.safetensors"
    small = tmp_path / "small"  # the big model shrunk to 16 px and trained there a tick
    run(train_args(data, small, ticks=1, extra=["--transfer", str(big), "--transfer-resolution", "16"]))
    small_state = small / "training-state-000000-000001.safetensors"
    transfer = load_transfer(small_state, resolution=32, top=big)
    g = build_generator(transfer.config)
    d = tiny_discriminator(32)
    transfer.apply(g, d)
    low, top = transfer.generator_state, load_checkpoint(big).group("G").tensors
    grown = g.state_dict()
    assert {k for k in grown if k not in low} == {k for k in grown if k.startswith("synthesis.b32.")}
    assert all(torch.equal(grown[k], low[k]) for k in grown if k in low)
    assert all(torch.equal(grown[k], top[k]) for k in grown if k.startswith("synthesis.b32."))
    assert grown["synthesis.b32.torgb.weight"].abs().sum() > 0  # kept, not zeroed as a new block's
    assert not torch.equal(low["synthesis.b16.conv0.weight"], top["synthesis.b16.conv0.weight"])
    # The whole command.
    out = tmp_path / "swapped"
    run(train_args(data, out, ticks=1, extra=["--transfer", str(small_state), "--transfer-resolution",
                                              "32", "--transfer-top", str(big)]))
    assert load_generator(out / "network-snapshot-000000-000001.safetensors").config.img_resolution == 32


@pytest.mark.parametrize("grow", [[], ["--transfer-resolution", "32"]])
def test_transfer_into_a_generator_with_its_noise_inputs_off(data, tmp_path, grow):
    source = tmp_path / "source"
    run(train_args(data, source, ticks=1))
    state = source / "training-state-000000-000001.safetensors"
    out = tmp_path / "quiet"
    run(train_args(data, out, ticks=1, sets=("generator.use_noise=false", "optim.g_lr=1e-7"),
                   extra=["--transfer", str(state), *grow]))
    quiet = load_generator(out / "network-snapshot-000000-000001.safetensors")
    assert quiet.config.use_noise is False and quiet.config.channel_base == 256
    loud = load_checkpoint(state).group("G").tensors
    kept = quiet.state_dict()
    assert not [k for k in kept if "noise" in k]
    assert all(torch.allclose(kept[k], loud[k], atol=1e-5) for k in kept  # g_lr 1e-7: G held
               if k.startswith("synthesis.b16.") or k.startswith("mapping.fc"))


@pytest.mark.parametrize("extra, message", [
    (["--transfer-resolution", "64"], "transfer_resolution = 64 needs a transfer checkpoint"),
    (["--transfer-top", "big.safetensors"], "transfer_top = big.safetensors needs --transfer and "
                                            "--transfer-resolution"),
    (["--transfer-resolution", "48"], "'transfer_resolution' = 48 is not allowed; allowed one of 4, 8"),
])
def test_transfer_resolution_errors_name_the_value_and_what_is_allowed(data, tmp_path, extra, message):
    result = gansmania(*train_args(data, tmp_path / "run", ticks=1, extra=extra))
    assert result.returncode == 2 and message in result.stderr


def test_transfer_top_names_a_top_that_does_not_fit(data, tmp_path):
    from training.snapshots import load_transfer
    from visualizer.core.errors import ConfigError

    source = tmp_path / "source"
    run(train_args(data, source, ticks=1))
    state = source / "training-state-000000-000001.safetensors"
    narrow = tmp_path / "narrow.safetensors"
    config = load_generator(state).config
    save_generator(narrow, build_generator(config.replace(img_resolution=32, channel_base=128)))
    transfer = load_transfer(state, resolution=32, top=narrow)
    with pytest.raises(ConfigError, match=f"transfer_top = {narrow}: its generator has no "
                                          r"synthesis\.b32\.\S+ \([\d, ]+\); allowed: a "
                                          "generator of the transferred architecture at 32 px"):
        transfer.apply(build_generator(transfer.config), tiny_discriminator(32))
    with pytest.raises(ConfigError, match="is 16 px already; allowed: --transfer-resolution above"):
        load_transfer(state, resolution=8, top=narrow)


def test_transfer_resolution_names_the_alias_free_checkpoints_it_cannot_resize(tmp_path):
    from training.configs import stylegan3_config
    from training.snapshots import load_transfer
    from visualizer.core.errors import ConfigError

    path = tmp_path / "sg3.safetensors"
    config = stylegan3_config(img_resolution=16, channel_base=256, channel_max=32, z_dim=8, w_dim=8)
    save_generator(path, build_generator(config))
    with pytest.raises(ConfigError, match="transfer_resolution = 32: .*stylegan3-t; allowed: StyleGAN2"):
        load_transfer(path, resolution=32)


@pytest.mark.slow
def test_torchrun_two_cpu_processes_complete_a_tick(data, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "visualizer.cli", *train_args(data, out, ticks=1)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("run folder:") == 1  # only rank 0 reports
    state = load_checkpoint(out / "training-state-000000-000001.safetensors")
    assert state.groups["state"].tensors["rng"].shape[0] == 2  # both ranks' RNG, for resume
    assert json.loads(json.dumps(state.training))["tick"] == 1


def test_conditional_run_learns_a_label_per_class(data, tmp_path):
    labelled = tmp_path / "data"
    shutil.copytree(data, labelled)
    meta = json.loads((labelled / "dataset.json").read_text())
    names = sorted(p.relative_to(labelled).as_posix() for p in labelled.rglob("*.png"))
    meta["labels"] = [[name, i % 2] for i, name in enumerate(names)]
    (labelled / "dataset.json").write_text(json.dumps(meta))
    out = tmp_path / "run"
    run(train_args(labelled, out, ticks=1, extra=["--cond"]))
    snapshot = out / "network-snapshot-000000-000001.safetensors"
    assert load_generator(snapshot).config.c_dim == 2
    result = gansmania("generate", "--model", str(snapshot), "--seeds", "0", "--class", "1",
                       "--out", str(tmp_path / "gen"))
    assert result.returncode == 0, result.stderr


def test_fid_and_kid_are_logged_at_snapshots_with_local_feature_weights(data, tmp_path, capfd):
    from tests.training.test_metrics import TinyFeatures

    weights = tmp_path / "features.pt2"
    example = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1, max=1024)
    torch.export.save(torch.export.export(TinyFeatures(), (example,), dynamic_shapes=({0: batch},)),
                      str(weights))
    out = tmp_path / "run"
    run(train_args(data, out, ticks=1, extra=["--metrics-weights", str(weights)],
                   sets=("metrics.images=16",)))
    err = capfd.readouterr().err
    assert "FID" in err and "KID" in err
    assert list(out.glob("real-features-*.npy"))


def test_built_in_art_metrics_write_the_kid_curve_with_cpu_time(data, tmp_path):
    out = tmp_path / "run"
    run(train_args(data, out, ticks=2, sets=("metrics.art=true", "metrics.images=16")))
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["tick"] for line in lines] == [1, 2]
    assert all(line["extractor"] == "art" and line["kid"] == line["kid"] for line in lines)
    assert 0 < lines[0]["cpu_s"] < lines[1]["cpu_s"] and lines[0]["wall_s"] < lines[1]["wall_s"]
    # the samples' readings ride along (whether edges sharpen as training goes on)
    assert all(set(line["readings"]) == {"sharp_edges", "soft_edges", "colourfulness",
                                         "composition", "flat"} for line in lines)
    assert all(0 <= line["readings"]["flat"] <= 1 for line in lines)
    summary = load_checkpoint(sorted(out.glob("network-snapshot-*.safetensors"))[-1]).training
    assert summary["cpu_s"] == lines[1]["cpu_s"]


def test_two_metric_extractors_at_once_are_a_one_line_error(data, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(train_args(data, tmp_path / "run", ticks=1, extra=["--metrics-weights", __file__],
                        sets=("metrics.art=true",)))
    assert exit_info.value.code == 2


def test_a_transferred_run_averages_g_over_the_whole_half_life_from_its_first_step(data, tmp_path):
    # A half-life of 1000 kimg: without the ramp-up G_ema stays at the source's weights after a
    # tick; with it (0.05 of the 16 images shown) G_ema would follow G's steps.
    source = tmp_path / "source"
    run(train_args(data, source, ticks=1))
    checkpoint = source / "training-state-000000-000001.safetensors"
    out = tmp_path / "transfer"
    ema = ("ema.kimg=1000", "ema.rampup=0.05", "optim.g_lr=0.01")
    run(train_args(data, out, ticks=1, extra=["--transfer", str(checkpoint)], sets=ema))
    start = load_checkpoint(checkpoint).groups["G"].tensors
    state = load_checkpoint(out / "training-state-000000-000001.safetensors").groups
    key = "synthesis.b16.torgb.weight"
    moved = (state["G"].tensors[key] - start[key]).abs().max()
    assert moved > 1e-3  # G itself trained
    assert (state["G_ema"].tensors[key] - start[key]).abs().max() < moved * 0.01
    assert "rampup" not in (out / "config.toml").read_text().split("[ema]")[1].split("[")[0]
    # resumed without --transfer, the run is still one that started from a trained G
    run(train_args(data, out, ticks=2, extra=["--resume", "auto"], sets=ema))
    state = load_checkpoint(out / "training-state-000000-000002.safetensors").groups
    moved = (state["G"].tensors[key] - start[key]).abs().max()
    assert (state["G_ema"].tensors[key] - start[key]).abs().max() < moved * 0.02
