"""The backend benchmark and `gansmania bench`: every backend gets a row (a reason where it
cannot run), the JSON has the same keys every run. Speed itself is never asserted."""

from __future__ import annotations

import importlib
import json

import pytest
import torch

from engine_build import benchmark
from engine_build.benchmark import BACKENDS, COLUMNS, generator_rows, paired_speedup

# The module, not the click command that visualizer.commands re-exports under the same name.
bench_command = importlib.import_module("visualizer.commands.bench")


@pytest.fixture
def few_frames(monkeypatch):
    monkeypatch.setattr(benchmark, "QUICK_ITERATIONS", {"cpu": 2})
    monkeypatch.setattr(benchmark, "CPU_BATCHES", {"cpu": (1, 2)})


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


def test_paired_speedup_alternates_rounds_of_both_backends():
    ratio = paired_speedup(config="cpu", threads=1, rounds=2, block=2)
    assert ratio["rounds"] == 2
    assert 0 < ratio["min"] <= ratio["median"] <= ratio["max"]


def test_paired_speedup_is_none_where_a_backend_cannot_run():
    ratio = paired_speedup(config="cpu", backend="tensorrt-fp16", rounds=2, block=2)
    if ratio["rounds"]:
        pytest.skip("TensorRT runs here")
    assert ratio == {"median": None, "min": None, "max": None, "rounds": 0}


@pytest.mark.slow  # two quick benchmark runs: ~15 s on 2 busy cores
def test_bench_json_has_the_same_shape_every_run(tmp_path, monkeypatch, few_frames):
    monkeypatch.setattr(bench_command, "AUDIO_SECONDS", 1.0)
    # The live loop's own benchmark is tested with the live loop; here only its rows' place.
    from visualizer import live_bench

    ran = []
    monkeypatch.setattr(live_bench, "run", lambda *, seconds, cases: ran.append(cases) or [
        {"case": case.name, "backend": "onnxruntime-cpu", "latency_ms": 40.0,
         "latency_p95_ms": 55.0, "gen_fps": 30.0, "display_fps": 60.0} for case in cases])
    shapes = []
    for run in range(2):
        path = tmp_path / f"bench{run}.json"
        bench_command.run_bench(quick=True, json_path=path, threads=1)
        result = json.loads(path.read_text())
        assert {"benchmark", "time", "machine", "rows", "schema", "quick", "threads",
                "onnxruntime_over_torch_cpu"} <= set(result)
        assert all(list(row) == list(bench_command.COLUMNS) for row in result["rows"])
        audio = [r for r in result["rows"] if r["part"] == "audio"]
        assert len(audio) == 2 and all(r["ms_med"] > 0 for r in audio)
        live = [r for r in result["rows"] if r["part"] == "live"]
        assert [(r["display_fps"], r["fps_b1"], r["ms_med"]) for r in live] == [(60.0, 30.0, 40.0)]
        shapes.append([(r["part"], r["backend"], r["config"]) for r in result["rows"]])
    assert shapes[0] == shapes[1]
    assert [len(cases) for cases in ran] == [1, 1]  # --quick: one live case
