"""Many workers on one Redis queue, for real: `gansmania worker --broker --processes 2` (two
worker processes under one parent) runs five seed-grid jobs on the bundled model while one
worker is killed with SIGKILL mid-job and Redis restarts. Every job ends done exactly once,
with one whole file; then SIGTERM stops the parent and its workers, and nothing is left.
About 30 s on a busy 2-core machine (slow); test_queue.py has the fast path of each part:
a dead worker's job queued again, a slow attempt taken over, Redis restarting mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from bench.rigs.processes import stop
from tests.visualizer.jobs.job_helpers import children_of, running, web_banner
from visualizer.jobs import JobQueue
from visualizer.jobs.kinds import GRID_FILE, KINDS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
SIZE = 256  # the bundled model's images


def test_five_jobs_end_once_through_a_killed_worker_and_a_redis_restart(redis_server, tmp_path):
    queue = JobQueue.open(tmp_path, kinds=KINDS, broker=redis_server.url)
    # Five times the same grid: every file must come out the same, none cut short.
    ids = [queue.submit("grid", {"seed": 3, "count": 6}) for _ in range(5)]
    log = tmp_path / "workers.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two workers on a 2-core machine
    parent = subprocess.Popen(
        [sys.executable, "-m", "visualizer.cli", "worker", "--data", str(tmp_path), "--broker",
         redis_server.url, "--processes", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    seen_workers: set[int] = set()
    try:
        def wait_for(check, what: str, timeout_s: float = 240.0) -> None:
            deadline = time.monotonic() + timeout_s
            while not check():
                seen_workers.update(children_of(parent.pid))
                assert parent.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, f"timed out waiting for {what}: " \
                                                    + log.read_text()[-3000:]
                time.sleep(0.05)

        def mid_job():
            running = [job for job in queue.jobs() if job.state == "running" and job.done >= 1]
            return running[0] if running else None

        wait_for(lambda: mid_job() is not None, "a job half done")
        victim = mid_job()
        victim_pid = int(victim.worker.rpartition(":")[2])
        assert victim_pid in children_of(parent.pid)
        os.kill(victim_pid, signal.SIGKILL)
        redis_server.restart(down_s=2.0)  # while the other worker is busy (or between jobs)
        wait_for(lambda: all(queue.get(i).state == "done" for i in ids), "all five jobs")
        seen_workers.update(children_of(parent.pid))
    finally:
        parent.send_signal(signal.SIGTERM)  # each worker stops after its job, then the parent
        try:
            parent.wait(timeout=60)
        finally:
            stop(parent)
    assert parent.returncode == 0, log.read_text()[-3000:]
    assert len(seen_workers) >= 3  # two, and the one started again after the kill
    assert not any(running(pid) for pid in seen_workers)  # nothing left running

    jobs = [queue.get(i) for i in ids]
    rerun = queue.get(victim.id)
    assert rerun.attempts == 2 and rerun.worker != victim.worker
    assert all(job.attempts == 1 for job in jobs if job.id != victim.id)
    grids = []
    for job in jobs:  # exactly one file per job: the finishing attempt's
        assert [p.name for p in queue.folder_of(job.id).iterdir()] == [job.attempt]
        assert queue.result_path(job.id).name == GRID_FILE
        grids.append(np.asarray(Image.open(queue.result_path(job.id))))
    assert grids[0].shape == (2 * SIZE, 3 * SIZE, 3)  # six images: 3 columns, 2 rows
    assert all(np.array_equal(grid, grids[0]) for grid in grids[1:])
    said = log.read_text()  # the workers noticed both events, and said so
    assert f"its worker ({victim.worker}) stopped while it ran; queued again" in said
    assert f"broker {redis_server.url} away" in said


def test_the_studio_on_a_broker_queues_for_a_worker_elsewhere(redis_server, tmp_path):
    """`gansmania web --broker` only queues; `gansmania worker --broker` (another process, as
    on another machine sharing the data folder) runs the grid; the page's API serves its file."""
    import urllib.request

    from tests.visualizer.web.studio_helpers import post_json, request

    data = ["--data", str(tmp_path), "--broker", redis_server.url]
    web = subprocess.Popen([sys.executable, "-m", "visualizer.cli", "web", "--port", "0", *data],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    worker = None
    try:
        base, lines = web_banner(web)
        assert lines[-1] == (f"jobs wait for `gansmania worker --data {tmp_path} --broker "
                             f"{redis_server.url}`\n")
        status, job = post_json(base + "api/jobs", {"kind": "grid", "count": 2, "seed": 7})
        assert status == 201 and job["state"] == "queued"
        time.sleep(1.0)
        assert request(base + f"api/jobs/{job['id']}")[1]["state"] == "queued"  # no worker yet
        worker = subprocess.Popen([sys.executable, "-m", "visualizer.cli", "worker", *data],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 240
        while (record := request(base + f"api/jobs/{job['id']}")[1])["state"] != "done":
            assert worker.poll() is None, worker.stderr.read().decode()
            assert time.monotonic() < deadline, record
            time.sleep(0.2)
        with urllib.request.urlopen(base + record["url"].lstrip("/")) as reply:
            grid = Image.open(reply)
            assert grid.size == (2 * SIZE, SIZE)  # two images side by side
    finally:
        for process in (worker, web):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=60)
                finally:
                    stop(process)
    assert (web.returncode, worker.returncode) == (0, 0)  # SIGTERM: clean stops
