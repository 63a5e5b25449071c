"""The real job kinds on the bundled model: a seed grid, a render cancelled between frames, the
checks that refuse bad params at submit, and `gansmania worker` running a job another process
queued."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.visualizer.jobs.test_queue import wait_for
from tests.visualizer.web.studio_helpers import DEMO
from training.generate import load_model, render_seeds
from visualizer.core.errors import GansmaniaError
from visualizer.core.paths import bundled_model
from visualizer.jobs import JobQueue, ThreadWorker
from visualizer.jobs.kinds import KINDS

pytestmark = pytest.mark.timeout(600)


def test_bad_params_are_refused_at_submit(tmp_path):
    queue = JobQueue.open(tmp_path, kinds=KINDS)
    render = {"audio": str(DEMO)}
    cases = {
        "audio": ({"audio": str(tmp_path / "gone.ogg")}, "audio gone.ogg: no such song"),
        "size": ({**render, "size": [100, 3000]}, "size 100x3000: even numbers from 16x16"),
        "size type": ({**render, "size": "640x360"}, "size '640x360': wants [width, height]"),
        "seed": ({**render, "seed": -1}, "seed -1: a whole number from 0 to 2147483647"),
        "fps bool": ({**render, "fps": True}, "fps True: wants a number from 1 to 120"),
        "preset": ({**render, "preset": "nope"}, "preset 'nope' unknown; available: "),
        "model": ({**render, "model": "/etc"}, "model etc: no such model"),
        "segments": ({**render, "segments": 0}, "segments 0: a whole number from 1 to 64"),
    }
    for name, (params, message) in cases.items():
        with pytest.raises(GansmaniaError, match="^" + message.replace("[", r"\[")):
            queue.submit("render", params)
    with pytest.raises(GansmaniaError, match=r"^count 0: a whole number of images, 1..64"):
        queue.submit("grid", {"count": 0})
    assert queue.jobs() == []


@pytest.mark.slow
def test_a_grid_job_tiles_the_seeds_images(tmp_path):
    queue = JobQueue.open(tmp_path, kinds=KINDS)
    job_id = queue.submit("grid", {"seed": 5, "count": 3, "truncation_psi": 0.7})
    assert queue.run_next()
    job = queue.get(job_id)
    assert (job.state, job.done, job.total, job.error) == ("done", 3, 3, "")
    grid = np.asarray(Image.open(queue.result_path(job_id)))
    images = [image for _, image in render_seeds(load_model(bundled_model()), [5, 6, 7],
                                                 truncation_psi=0.7)]
    size = images[0].shape[0]
    assert grid.shape == (2 * size, 2 * size, 3)  # 3 images: 2 columns, 2 rows
    assert np.array_equal(grid[:size, size:], images[1])
    assert np.array_equal(grid[size:, :size], images[2])


@pytest.mark.slow
def test_a_render_cancelled_mid_way_stops_between_frames(tmp_path):
    """The real render: its progress is the frame count, and a cancel stops it before the end
    and removes its half-written video."""
    queue = JobQueue.open(tmp_path, kinds=KINDS)
    worker = ThreadWorker(queue, poll_s=0.02).start()
    try:
        job_id = queue.submit("render", {"audio": str(DEMO), "size": [64, 48], "fps": 10,
                                         "end_s": 30})
        # Loading the model and the song takes from seconds to a minute on a busy machine.
        wait_for(lambda: queue.get(job_id).done >= 1, "the first frames", timeout_s=400)
        assert queue.get(job_id).total == 300
        queue.cancel(job_id)
        wait_for(lambda: queue.get(job_id).state == "cancelled", "the cancel", timeout_s=120)
    finally:
        worker.close(timeout_s=120)
    assert queue.get(job_id).done < 300
    assert not queue.folder_of(job_id).exists()


@pytest.mark.slow
def test_gansmania_worker_runs_what_another_process_queued(tmp_path):
    queue = JobQueue.open(tmp_path, kinds=KINDS)
    job_id = queue.submit("grid", {"count": 1})
    worker = subprocess.Popen([sys.executable, "-m", "visualizer.cli", "worker", "--data",
                               str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while queue.get(job_id).state != "done":
            assert worker.poll() is None, worker.stderr.read().decode()
            assert time.monotonic() < deadline, "the worker did not run the job"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGINT)  # Huey's consumer: a graceful stop
        worker.wait(timeout=60)
    assert queue.result_path(job_id).name == "grid.png"
