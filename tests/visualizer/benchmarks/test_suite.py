"""`gansmania bench`'s suite: the JSON has the same keys and rows every run."""

from __future__ import annotations

import json

import pytest

from visualizer.benchmarks import live, suite


@pytest.mark.slow  # two quick benchmark runs: ~15 s on 2 busy cores
def test_bench_json_has_the_same_shape_every_run(tmp_path, monkeypatch, few_frames):
    monkeypatch.setattr(suite, "AUDIO_SECONDS", 1.0)
    # The live loop's own benchmark is tested with the live loop; here only its rows' place.
    ran = []
    monkeypatch.setattr(live, "run", lambda *, seconds, cases: ran.append(cases) or [
        {"case": case.name, "backend": "onnxruntime-cpu", "latency_ms": 40.0,
         "latency_p95_ms": 55.0, "gen_fps": 30.0, "display_fps": 60.0} for case in cases])
    shapes = []
    for run in range(2):
        path = tmp_path / f"bench{run}.json"
        suite.run(quick=True, json_path=path, threads=1)
        result = json.loads(path.read_text())
        assert {"benchmark", "time", "machine", "rows", "schema", "quick", "threads",
                "onnxruntime_over_torch_cpu"} <= set(result)
        assert all(list(row) == list(suite.COLUMNS) for row in result["rows"])
        audio = [r for r in result["rows"] if r["part"] == "audio"]
        assert len(audio) == 2 and all(r["ms_med"] > 0 for r in audio)
        rows = [r for r in result["rows"] if r["part"] == "live"]
        assert [(r["display_fps"], r["fps_b1"], r["ms_med"]) for r in rows] == [(60.0, 30.0, 40.0)]
        shapes.append([(r["part"], r["backend"], r["config"]) for r in result["rows"]])
    assert shapes[0] == shapes[1]
    assert [len(cases) for cases in ran] == [1, 1]  # --quick: one live case
