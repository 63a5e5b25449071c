"""The generator part of `gansmania bench`: every backend gets a row (a reason where it cannot
run), with every column. Speed itself is never asserted."""

from __future__ import annotations

import pytest
import torch

from visualizer.benchmarks.generator import BACKENDS, COLUMNS, generator_rows, paired_speedup


def test_every_backend_gets_a_row_with_every_column(few_frames):
    rows = generator_rows(configs=("cpu",), quick=True, threads=1)
    assert [r["backend"] for r in rows] == list(BACKENDS)
    assert all(set(r) == set(COLUMNS) for r in rows)
    measured = {r["backend"]: r for r in rows if r["ms_med"] is not None}
    assert {"torch-cpu", "onnxruntime-cpu"} <= set(measured)
    for row in measured.values():
        assert row["n"] == 2 and row["best_batch"] in (1, 2)
        assert row["fps_b1"] == pytest.approx(1000 / row["ms_med"], rel=0.5)
        assert row["fps_best"] >= row["fps_b1"]
    if not torch.cuda.is_available():
        for name in ("torch-cuda", "tensorrt-fp16"):
            row = next(r for r in rows if r["backend"] == name)
            assert row["note"].startswith("unavailable: ") and row["ms_med"] is None


@pytest.mark.slow
def test_paired_speedup_alternates_rounds_of_both_backends():
    ratio = paired_speedup(config="cpu", threads=1, rounds=2, block=2)
    assert ratio["rounds"] == 2
    assert 0 < ratio["min"] <= ratio["median"] <= ratio["max"]


@pytest.mark.slow
def test_paired_speedup_is_none_where_a_backend_cannot_run():
    ratio = paired_speedup(config="cpu", backend="tensorrt-fp16", rounds=2, block=2)
    if ratio["rounds"]:
        pytest.skip("TensorRT runs here")
    assert ratio == {"median": None, "min": None, "max": None, "rounds": 0}
