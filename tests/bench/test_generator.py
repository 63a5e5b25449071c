"""The generator benchmark produces one row per config and modconv form (no timing asserts)."""

from bench.generator import COLUMNS, run


def test_rows_for_the_cpu_config():
    rows = run(["cpu"], iterations={"cpu": 1}, warmup=0)
    assert [r["modconv"] for r in rows] == ["fused", "nonfused"]
    for row in rows:
        assert set(row) == set(COLUMNS)
        assert row["res"] == 256 and row["n"] == 1
        assert row["ms_med"] > 0 and row["fps"] == 1000 / row["ms_med"]
