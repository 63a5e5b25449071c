"""Tiny training runs for the tests: a 16 px generator/discriminator that trains a tick in about
a second on a CPU, the command lines that make them, and a two-stage lineage recipe of them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from training.procedural import write_dataset

BATCH = 8
TICK_KIMG = 0.016  # two iterations of BATCH per tick
# The test size: every key a user could pass with --set; nothing test-only in the CLI.
TINY_SETS = ("generator.img_resolution=16", "generator.channel_base=256", "generator.channel_max=32",
             "generator.z_dim=32", "generator.w_dim=32", "generator.mapping_layers=2",
             "discriminator.channel_base=256", "discriminator.channel_max=32",
             "optim.g_reg_interval=2", "optim.d_reg_interval=2", "runtime.threads=1")


def procedural_data(folder: Path, *, count: int = 16, resolution: int = 24) -> Path:
    """A procedural dataset (24 px: the run resizes it to 16 on the fly)."""
    return write_dataset(folder, count=count, resolution=resolution, seed=0)


def train_args(data: Path, out: Path, *, ticks: int, extra: Sequence[str] = (),
               sets: Sequence[str] = ()) -> list[str]:
    """`gansmania train` arguments for a tiny run of ``ticks`` ticks (snapshot every tick)."""
    args = ["train", str(data), "--out", str(out), "--kimg", str(TICK_KIMG * ticks),
            "--tick", str(TICK_KIMG), "--snap", "1", "--batch", str(BATCH), *extra]
    for item in (*TINY_SETS, *sets):
        args += ["--set", item]
    return args


def gansmania(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "visualizer.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


# The tiny networks as a recipe's [train] keys, less the size: a lineage sets that per stage.
TINY_TRAIN_KEYS = "\n".join(f"{key} = {value}" for key, value in
                            (s.split("=", 1) for s in TINY_SETS) if key != "generator.img_resolution")


def tiny_lineage_recipe(*, first: str = "", second: str = "grow_from = \"last\"",
                        first_kimg: float = 2, second_kimg: float = 1, common: str = "") -> str:
    """Two stages of the tiny networks: 'small' (16 px, ``first_kimg`` ticks), then 'big' (32 px,
    ``second_kimg`` ticks); ``first``/``second``/``common``: more TOML lines for each."""
    return f"""description = "tiny"
config = "cpu"
[train]
{TINY_TRAIN_KEYS}
schedule.batch = {BATCH}
schedule.tick_kimg = {TICK_KIMG}
schedule.snap = 1
{common}
[[stages]]
name = "small"
resolution = 16
kimg = {TICK_KIMG * first_kimg}
{first}
[[stages]]
name = "big"
resolution = 32
kimg = {TICK_KIMG * second_kimg}
{second}
"""
