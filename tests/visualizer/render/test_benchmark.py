"""The render benchmark runs end to end (tiny sizes; its numbers are not asserted)."""

from __future__ import annotations

from visualizer.render import benchmark


def test_benchmark_rows_cover_every_pass_and_stage(egl_context, library):
    rows = benchmark.pass_rows(egl_context, library, sizes=((64, 36),), frames=2, repeats=1)
    assert {row["stage"] for row in rows} == {f"pass {name}" for name in library.names()}
    rows += benchmark.upload_rows(egl_context, frame_px=32, sizes=((64, 36),), frames=2, repeats=1)
    rows += benchmark.frame_rows(egl_context, library, size=(64, 36), fx_scales=(1.0, 0.5),
                                 frame_px=32, frames=2, repeats=1)
    assert any(row["stage"].startswith("upload") for row in rows)
    assert sum(row["stage"].startswith("frame") for row in rows) == 3  # no FX + two scales
    for row in rows:
        assert set(row) <= set(benchmark.COLUMNS)
        assert row["wall_ms"] > 0 and row["wall_p95_ms"] >= row["wall_ms"]
