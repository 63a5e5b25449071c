"""`gansmania train-lineage`: tiny two-stage lineages (16 -> 32 px) that grow each stage from the
one before, resume where they stand, pick the snapshot with the lowest KID and carry ADA's p;
recipes with mistakes are refused before anything trains."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.training.test_train import run
from tests.training.training_runs import TICK_KIMG, procedural_data, tiny_lineage_recipe
from training.checkpoint import load_checkpoint
from training.default_model import MAX_BYTES
from training.discriminator import Discriminator
from training.lineage import (find_recipe, load_recipe, pick_source, run_lineage, stage_config,
                              status)
from training.networks import build_generator
from training.preemption import Interrupted
from training.run_state import list_states, load_state
from visualizer.cli import main
from visualizer.core.errors import ConfigError, GansmaniaError


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return procedural_data(tmp_path_factory.mktemp("lineage-data"), resolution=40)


def write(tmp_path, text: str, name: str = "recipe.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lineage(recipe, data, out, *extra: str) -> None:
    run(["train-lineage", str(recipe), str(data), "--out", str(out), *extra])


def test_each_stage_grows_from_the_newest_state_of_the_one_before(data, tmp_path):
    out = tmp_path / "runs"
    lineage(write(tmp_path, tiny_lineage_recipe()), data, out)
    small_state = list_states(out / "small")[-1]
    assert load_state(small_state).counters.cur_nimg == 2 * TICK_KIMG * 1000
    big = load_checkpoint(list_states(out / "big")[-1], groups=["G"])
    assert big.generator_config("G").img_resolution == 32
    lineage_json = json.loads((out / "big" / "lineage.json").read_text())
    assert [(s["checkpoint"], s["resolution"]) for s in lineage_json] == [(small_state.name, 16)]
    (first,) = (out / "small" / "commands.txt").read_text().splitlines()
    assert "generator.img_resolution=16" in shlex.split(first)
    # commands.txt holds the `gansmania train` line of each stage: run again, it is that stage
    (command,) = (out / "big" / "commands.txt").read_text().splitlines()
    args = shlex.split(command)
    assert args[:5] == ["gansmania", "train", str(data), "--out", str(out / "big")]
    assert f"transfer={small_state}" in args and "transfer_resolution=32" in args
    run([*args[1:4], str(tmp_path / "again"), *args[5:]])
    again = load_checkpoint(list_states(tmp_path / "again")[-1], groups=["G"]).group("G").tensors
    assert again.keys() == big.group("G").tensors.keys()
    assert all(torch.equal(again[name], big.group("G").tensors[name]) for name in again)


def test_a_second_run_goes_on_from_where_the_lineage_stands(data, tmp_path):
    out = tmp_path / "runs"
    recipe = write(tmp_path, tiny_lineage_recipe())
    lineage(recipe, data, out, "--until", "small")
    assert not (out / "big").exists()
    states = list_states(out / "small")
    lineage(recipe, data, out)  # the small stage is done: nothing more for it, the big one grows
    assert list_states(out / "small") == states and list_states(out / "big")
    big_states = list_states(out / "big")
    # A longer first stage in the recipe now changes nothing: the big stage has grown from it.
    lineage(write(tmp_path, tiny_lineage_recipe(first_kimg=4)), data, out)
    assert list_states(out / "small") == states and list_states(out / "big") == big_states
    # A longer last stage trains on from its own state.
    lineage(write(tmp_path, tiny_lineage_recipe(second_kimg=2)), data, out)
    newest = load_state(list_states(out / "big")[-1])
    assert newest.counters.cur_nimg == 2 * TICK_KIMG * 1000
    assert len((out / "big" / "commands.txt").read_text().splitlines()) == 3


def test_grow_from_best_takes_the_lowest_kid_of_the_window(data, tmp_path):
    out = tmp_path / "runs"
    recipe = write(tmp_path, tiny_lineage_recipe(first_kimg=3))
    lineage(recipe, data, out, "--until", "small")
    # KID readings written here, so the answer is known: tick 2 is lowest, tick 3 the last.
    lines = [{"kimg": tick * TICK_KIMG, "tick": tick, "kid": kid}
             for tick, kid in ((1, 0.004), (2, 0.001), (3, 0.003))]
    (out / "small" / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    stages = {}
    for window in (0, TICK_KIMG * 0.5):
        text = tiny_lineage_recipe(second=f"grow_from = \"best\"\nbest_window_kimg = {window}")
        stages[window] = load_recipe(write(tmp_path, text, f"best-{window}.toml")).stages[1]
    assert pick_source(stages[0], out / "small").path.name.endswith("-000002.safetensors")
    assert pick_source(stages[TICK_KIMG * 0.5], out / "small").path.name.endswith("-000003.safetensors")
    (out / "small" / "metrics.jsonl").unlink()
    with pytest.raises(GansmaniaError, match="metrics.jsonl: no KID .* grow_from = \"last\""):
        pick_source(stages[0], out / "small")


@pytest.mark.parametrize("carry", [True, False])
def test_ada_p_carries_over_to_the_next_stage_when_the_recipe_says_so(data, tmp_path, carry):
    out = tmp_path / "runs"
    text = tiny_lineage_recipe(first="train.augment = { mode = \"fixed\", p = 0.3 }",
                               second=f"carry_augment_p = {str(carry).lower()}\n"
                                      "train.augment = { mode = \"fixed\" }")
    lineage(write(tmp_path, text), data, out)
    p = float(load_state(list_states(out / "big")[-1]).extra("augment_p"))
    assert p == pytest.approx(0.3 if carry else 0.0)
    assert ("--set augment.p=0.3" in (out / "big" / "commands.txt").read_text()) == carry


@pytest.mark.parametrize("old, new, message", [
    ('grow_from = "last"', "train.loss.r1_gama = 1", r"stage 'big'.*unknown key 'loss.r1_gama'"),
    ("schedule.snap = 1", "schedule.kimg = 5", r"\[train\] key 'schedule.kimg' is set by the lineage"),
    ("resolution = 32", "resolution = 48", r"stage 2.*'resolution' = 48 is not allowed; allowed one of"),
    ('name = "big"', 'name = "small"', r"stage 2: key 'name' = 'small': allowed a name no other"),
    ('grow_from = "last"', 'grow_from = "first"', r"'grow_from' = .first. is not allowed"),
    ('config = "cpu"', 'start = "none.safetensors"', r"key 'start' = 'none.safetensors': file not found"),
])
def test_a_recipe_with_a_mistake_is_refused_before_anything_trains(tmp_path, old, new, message):
    text = tiny_lineage_recipe()
    assert old in text
    with pytest.raises(ConfigError, match=message):
        load_recipe(write(tmp_path, text.replace(old, new)))


@pytest.mark.parametrize("extra, message", [
    (["--until", "huge"], "--until 'huge': no such stage in .*; allowed: small, big"),
    (["--set", "transfer=x.safetensors"], "--set key 'transfer' is set by the lineage"),
    (["--set", "optim.g_lr=-1"], "key 'optim.g_lr' = -1"),
])
def test_command_line_keys_and_stages_are_checked_before_anything_trains(data, tmp_path, capsys,
                                                                         extra, message):
    recipe = write(tmp_path, tiny_lineage_recipe())
    with pytest.raises(SystemExit) as exit_info:
        main(["train-lineage", str(recipe), str(data), "--out", str(tmp_path / "o"), *extra])
    assert exit_info.value.code != 0
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_the_bundled_recipe_loads_and_names_a_missing_one(tmp_path):
    recipe = load_recipe(find_recipe("default"))
    assert [s.header.resolution for s in recipe.stages] == [64, 128, 256]
    with pytest.raises(ConfigError, match="no such lineage recipe; allowed: .*default"):
        find_recipe(tmp_path / "nope.toml")


def test_the_bundled_recipe_makes_a_model_that_keeps_its_d_within_the_budget():
    """The export keeps D beside G_ema only under MAX_BYTES (training/default_model.py): the
    recipe's networks must leave room for it, as the bundled model's do."""
    recipe = load_recipe(find_recipe("default"))
    config = stage_config(recipe, recipe.stages[-1], data=Path("d"), out=Path("o"), source=None)
    g = build_generator(config.generator)
    d = Discriminator(config.discriminator, img_resolution=config.generator.img_resolution)
    weights = 4 * sum(p.numel() for p in g.state_dict().values()) \
        + 2 * sum(p.numel() for p in d.state_dict().values())
    assert weights < 0.97 * MAX_BYTES  # the rest: the header and the buffers the export adds


def test_a_stage_stopped_by_a_signal_says_to_run_the_lineage_again(tmp_path):
    """What the training loop raises on SIGTERM (tests/training/test_preemption.py) comes out of
    the lineage naming the stage, with the lineage's own way to go on, and exit code 143."""
    recipe = load_recipe(write(tmp_path, tiny_lineage_recipe()))

    def stopped(config, command):
        raise Interrupted("stopped by SIGTERM at 0.008 kimg; resumable state X")

    with pytest.raises(Interrupted) as info:
        run_lineage(recipe, data=tmp_path, out=tmp_path / "o", train=stopped)
    assert str(info.value) == ("stage 'small' stopped by SIGTERM at 0.008 kimg; resumable state X; "
                               "run this command again to go on from there")
    assert info.value.exit_code == 143


@pytest.mark.slow
def test_under_torchrun_the_stages_share_one_process_group(data, tmp_path):
    """Two CPU processes grow both stages, in one process group for all of them (when each stage
    left the group and joined again, one try in six hung at the second stage's start)."""
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "visualizer.cli", "train-lineage", str(write(tmp_path, tiny_lineage_recipe())),
               str(data), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("last stage:") == 1  # only rank 0 reports
    state = load_checkpoint(list_states(out / "big")[-1], groups=["state"])
    assert state.groups["state"].tensors["rng"].shape[0] == 2  # both ranks trained the big stage


def test_a_recipe_start_is_where_the_first_stage_begins(data, tmp_path):
    first = tmp_path / "first"
    lineage(write(tmp_path, tiny_lineage_recipe()), data, first, "--until", "small")
    start = sorted((first / "small").glob("network-snapshot-*.safetensors"))[-1]
    text = tiny_lineage_recipe().replace('config = "cpu"',
                                         f'config = "cpu"\nstart = "{start.relative_to(tmp_path)}"')
    out = tmp_path / "second"
    lineage(write(tmp_path, text, "started.toml"), data, out, "--until", "small")
    grown_from = json.loads((out / "small" / "lineage.json").read_text())
    assert [stage["checkpoint"] for stage in grown_from] == [start.name]


def test_status_tells_where_each_stage_stands(data, tmp_path, capsys):
    out = tmp_path / "runs"
    recipe = write(tmp_path, tiny_lineage_recipe())
    lineage(recipe, data, out, "--until", "small")
    (out / "small" / "metrics.jsonl").write_text(
        "".join(json.dumps({"kimg": t * TICK_KIMG, "tick": t, "kid": kid}) + "\n"
                for t, kid in ((1, 0.002), (2, 0.003))))
    small, big = status(load_recipe(recipe), out)
    assert (small.kimg_done, small.done, small.kid_latest, small.kid_best) == \
        (2 * TICK_KIMG, True, 0.003, 0.002)
    assert (big.kimg_done, big.done, big.grown_from) == (None, False, "")
    lineage(recipe, data, out)
    _, big = status(load_recipe(recipe), out)
    assert big.done and big.grown_from == list_states(out / "small")[-1].name
    capsys.readouterr()
    lineage(recipe, data, out, "--status")
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:4] == ["small", "16", f"{2 * TICK_KIMG:g}/{2 * TICK_KIMG:g}", "done"]
    assert table[1].split()[5:7] == ["3.00", "2.00"]  # KID x1e3: the newest, the lowest
