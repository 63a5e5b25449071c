"""The live benchmark's module: one short case end to end, and its rows in `gansmania bench` shape."""

from __future__ import annotations

import pytest

from tests.visualizer.backends.models import small_checkpoint
from tests.visualizer.live_helpers import click_track
from visualizer.benchmarks import live


@pytest.mark.slow
def test_a_case_runs_the_real_command_and_reports_its_row(tmp_path):
    audio, _ = click_track(tmp_path / "click.wav", duration_s=4.0)
    model = small_checkpoint(tmp_path / "small.safetensors")
    case = live.LiveCase("tiny", backend="torch", size=(256, 144))
    row = live.run_case(case, model=model, audio=audio, seconds=2.0, folder=tmp_path)
    assert "error" not in row, row
    assert set(live.COLUMNS) <= set(row)
    assert row["backend"] == "torch-cpu" and row["fx_scale"] == "auto"
    assert row["display_fps"] > 0 and row["gen_fps"] > 0 and row["latency_ms"] > 0
    assert row["cpu_generator"] > 0  # the generator thread is named, so its CPU is seen
    (bench,) = live.bench_rows([row])
    assert bench["part"] == "live" and bench["ms_med"] == row["latency_ms"]
    assert bench["fps_b1"] == row["gen_fps"] and bench["display_fps"] == row["display_fps"]
