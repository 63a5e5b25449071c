"""The shader benchmark runs end to end (tiny sizes; its numbers are not asserted)."""

from __future__ import annotations

from bench import shaders
from tests.visualizer.render.gl_helpers import SHADERS
from visualizer.render.library import ShaderLibrary


def test_benchmark_rows_cover_every_pass_and_stage(egl_context):
    library = ShaderLibrary(egl_context, search_dirs=[SHADERS])
    rows = shaders.pass_rows(egl_context, library, sizes=((64, 36),), frames=2, repeats=1)
    assert {row["stage"] for row in rows} == {f"pass {name}" for name in library.names()}
    rows += shaders.upload_rows(egl_context, frame_px=32, sizes=((64, 36),), frames=2, repeats=1)
    rows += shaders.frame_rows(egl_context, library, size=(64, 36), fx_scales=(1.0, 0.5),
                               frame_px=32, frames=2, repeats=1)
    assert any(row["stage"].startswith("upload") for row in rows)
    assert sum(row["stage"].startswith("frame") for row in rows) == 3  # no FX + two scales
    for row in rows:
        assert set(row) <= set(shaders.COLUMNS)
        assert row["wall_ms"] > 0 and row["wall_p95_ms"] >= row["wall_ms"]
