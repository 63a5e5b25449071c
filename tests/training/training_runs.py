"""Tiny training runs for the tests: a 16 px generator/discriminator that trains a tick in about
a second on a CPU, and the command lines that make them."""

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
