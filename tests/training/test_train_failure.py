"""A training run that fails ends: its image workers (which ignore SIGTERM, so a preempted run can
write its state first) are shut down on the way out instead of being waited for forever at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.training.training_runs import procedural_data, train_args

# Runs `gansmania train` in-process with a loss that fails on its 7th phase (mid-tick 2).
FAILING_RUN = textwrap.dedent("""
    import sys
    from training.loss import StyleGAN2Loss
    from visualizer.cli import main

    accumulate, calls = StyleGAN2Loss.accumulate, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 6:
            raise RuntimeError("planted failure")
        return accumulate(self, *args, **kwargs)

    StyleGAN2Loss.accumulate = failing
    sys.argv = ["gansmania", *sys.argv[1:]]
    main()
""")


def test_a_run_that_fails_with_image_workers_exits(tmp_path):
    data = procedural_data(tmp_path / "data")
    args = train_args(data, tmp_path / "out", ticks=50, sets=["data.workers=1"])
    try:
        # A few seconds when it works; before the fix it never ended.
        done = subprocess.run([sys.executable, "-c", FAILING_RUN, *args], capture_output=True,
                              text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("the failed run did not exit: its DataLoader workers were never shut down")
    assert done.returncode != 0
    assert "RuntimeError: planted failure" in done.stderr
