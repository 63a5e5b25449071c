"""`gansmania curves`: runs are compared at equal CPU time, between their snapshots."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.training.training_runs import gansmania
from training.curves import at_equal_cpu, grown_curves, read_curve
from visualizer.core.errors import GansmaniaError


def _run(folder, points):
    folder.mkdir()
    (folder / "metrics.jsonl").write_text("".join(
        json.dumps({"kimg": kimg, "tick": i, "cpu_s": cpu_s, "kid": kid}) + "\n"
        for i, (kimg, cpu_s, kid) in enumerate(points, 1)))
    return folder


def test_runs_are_read_at_common_cpu_times(tmp_path):
    # fast: many images per CPU-second; slow: half as many. KIDs known at their snapshots.
    fast = _run(tmp_path / "fast", [(1, 3600, 0.010), (2, 7200, 0.006), (3, 10800, 0.004)])
    slow = _run(tmp_path / "slow", [(0.5, 3600, 0.012), (1, 7200, 0.008)])
    hours, kids = at_equal_cpu([read_curve(fast), read_curve(slow)], points=3)
    assert np.allclose(hours, [1.0, 1.5, 2.0])  # up to where the slow run has got
    assert np.allclose(kids["fast"], [0.010, 0.008, 0.006])
    assert np.allclose(kids["slow"], [0.012, 0.010, 0.008])


def test_the_command_prints_the_table_and_draws_the_png(tmp_path):
    a = _run(tmp_path / "a", [(1, 1800, 0.02), (2, 3600, 0.01)])
    b = _run(tmp_path / "b", [(1, 900, 0.03), (3, 3600, 0.02)])
    result = gansmania("curves", str(a), str(b), "--png", str(tmp_path / "kid.png"),
                       "--points", "2")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:3]}
    assert rows["a"][-1] == "10.000" and rows["b"][-1] == "20.000"
    assert Image.open(tmp_path / "kid.png").size == (700, 420)


def test_a_run_without_metrics_is_a_one_line_error(tmp_path):
    with pytest.raises(GansmaniaError, match="no metrics here; train with --set metrics.art"):
        read_curve(tmp_path)


def test_a_grown_model_s_stages_join_on_one_cpu_axis(tmp_path):
    # 64 px stage: 2 CPU-hours, its kimg-2 state started the 128 px stage (1 CPU-hour so far);
    # the 64 px run went on past the transfer, which the chain must not show.
    small = _run(tmp_path / "r64", [(1, 3600, 0.02), (2, 7200, 0.01), (3, 10800, 0.005)])
    big = _run(tmp_path / "r128", [(1, 1800, 0.03), (2, 3600, 0.02)])
    lineage = [{"run_dir": str(small), "resolution": 64, "kimg": 2.0, "cpu_s": 7200.0},
               {"run_dir": str(tmp_path / "gone"), "resolution": 32, "kimg": 9.0, "cpu_s": 1800.0}]
    first, last = grown_curves(big, lineage, resolution=128, until_kimg=1.5)
    assert first.name == "r64 at 64 px" and last.name == "r128 at 128 px"
    assert np.allclose(first.cpu_hours, [1.0, 2.0]) and np.allclose(first.kid, [0.02, 0.01])
    # shifted by both earlier stages (the one whose folder is gone included), and only up to
    # the exported snapshot (1.5 kimg)
    assert np.allclose(last.cpu_hours, [2.5 + 0.5])
