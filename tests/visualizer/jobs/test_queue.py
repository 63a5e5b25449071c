"""The job contract on the SQLite store: submit, progress, cancel, a crash is a failed job
with its one-line error, outputs named by job id. Test kinds stand in for render and grid
(the real ones run in test_kinds.py and the studio's browser test)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from visualizer.core.errors import GansmaniaError
from visualizer.jobs import JobQueue, ThreadWorker
from visualizer.jobs.queue import Kind

WAIT_S = 30.0  # generous: a busy 2-core machine


def wait_for(check: Callable[[], bool], what: str, *, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def steps_kind(gate: threading.Event | None = None) -> Kind:
    """Writes its step count to out.txt after ``params['steps']`` steps; with a gate, waits on
    it before each step after the first (so a test can cancel it mid-way)."""

    def check(params):
        if not isinstance(params.get("steps"), int) or params["steps"] < 1:
            raise GansmaniaError(f"steps {params.get('steps')!r}: wants a whole number >= 1")
        return {"steps": params["steps"]}

    def run(params, context):
        for step in range(1, params["steps"] + 1):
            if gate is not None and step > 1:
                gate.wait(WAIT_S)
            context.progress(step, params["steps"])
        (context.folder / "out.txt").write_text(str(params["steps"]))
        return "out.txt"

    return Kind(check=check, run=run)


def crash_kind() -> Kind:
    def run(params, context):
        context.progress(1, 4)
        raise ZeroDivisionError("the model divided by zero\nsecond line of a long story")

    return Kind(check=dict, run=run)


@pytest.fixture
def gate():
    return threading.Event()


@pytest.fixture
def queue(tmp_path, gate):
    return JobQueue.open(tmp_path / "studio", kinds={"steps": steps_kind(), "crash": crash_kind(),
                                                     "gated": steps_kind(gate)})


@pytest.fixture
def worker(queue, gate):
    worker = ThreadWorker(queue, poll_s=0.01).start()
    yield worker
    gate.set()
    worker.close()


def test_a_job_runs_to_done_with_its_output_in_its_own_folder(queue, worker):
    first = queue.submit("steps", {"steps": 3})
    second = queue.submit("steps", {"steps": 5})
    assert first != second
    wait_for(lambda: all(queue.get(i).state == "done" for i in (first, second)), "two jobs")
    job = queue.get(first)
    assert (job.done, job.total, job.progress, job.error) == (3, 3, 1.0, "")
    paths = [queue.result_path(i) for i in (first, second)]
    assert paths[0] == queue.folder / "jobs" / first / "out.txt"
    assert [p.read_text() for p in paths] == ["3", "5"]  # neither clobbered the other
    assert [j.id for j in queue.jobs()] == [second, first]  # newest first
    assert job.started_s >= job.created_s and job.finished_s >= job.started_s


def test_progress_is_visible_while_the_job_runs(queue, worker, gate):
    job_id = queue.submit("gated", {"steps": 4})
    wait_for(lambda: queue.get(job_id).state == "running" and queue.get(job_id).done == 1,
             "the first step")
    assert queue.get(job_id).progress == pytest.approx(0.25)
    assert queue.result_path(job_id) is None
    gate.set()
    wait_for(lambda: queue.get(job_id).state == "done", "the end")


def test_cancel_stops_a_running_job_between_steps_and_removes_its_output(queue, worker, gate):
    job_id = queue.submit("gated", {"steps": 4})
    wait_for(lambda: queue.get(job_id).done == 1, "the first step")
    assert queue.cancel(job_id).cancelling
    assert queue.get(job_id).cancelling
    gate.set()
    wait_for(lambda: queue.get(job_id).state == "cancelled", "the cancel")
    job = queue.get(job_id)
    assert job.done == 1 and not job.cancelling
    assert not queue.folder_of(job_id).exists()
    assert queue.result_path(job_id) is None
    with pytest.raises(GansmaniaError, match="already cancelled"):
        queue.cancel(job_id)


def test_a_job_cancelled_while_queued_never_runs(queue):
    job_id = queue.submit("steps", {"steps": 2})
    queue.cancel(job_id)
    assert queue.get(job_id).state == "queued"
    assert queue.run_next()  # a worker comes along later
    job = queue.get(job_id)
    assert (job.state, job.done) == ("cancelled", 0)
    assert not queue.run_next()


def test_a_crashing_job_is_failed_with_its_one_line_error(queue, worker):
    job_id = queue.submit("crash", {})
    wait_for(lambda: queue.get(job_id).state == "failed", "the failure")
    job = queue.get(job_id)
    assert job.error == "ZeroDivisionError: the model divided by zero"
    assert job.done == 1 and job.result == "" and queue.result_path(job_id) is None
    # The worker carries on with the next job.
    after = queue.submit("steps", {"steps": 1})
    wait_for(lambda: queue.get(after).state == "done", "the next job")


def test_bad_submissions_are_one_line_errors(queue):
    with pytest.raises(GansmaniaError, match=r"job kind 'paint' unknown; allowed: steps, crash"):
        queue.submit("paint", {})
    with pytest.raises(GansmaniaError, match="steps 0: wants a whole number"):
        queue.submit("steps", {"steps": 0})
    assert queue.jobs() == []


def test_ids_from_clients_are_never_paths(queue):
    assert queue.get("../../etc/passwd") is None
    assert queue.get("0" * 32) is None
    with pytest.raises(GansmaniaError, match="not a job id"):
        queue.folder_of("../x")
    with pytest.raises(GansmaniaError, match="no such job"):
        queue.cancel("0" * 32)


def test_a_second_queue_on_the_same_folder_sees_the_same_jobs(queue, tmp_path):
    """What an external worker (`gansmania worker`) is: another process on the same store."""
    other = JobQueue.open(queue.folder, kinds=queue.kinds)
    job_id = queue.submit("steps", {"steps": 2})
    assert other.run_next()
    assert queue.get(job_id).state == "done"
    assert queue.result_path(job_id).read_text() == "2"


def test_a_job_left_running_by_a_dead_worker_is_failed_when_a_worker_starts(queue):
    import dataclasses
    import os
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    lost, live = queue.submit("steps", {"steps": 1}), queue.submit("steps", {"steps": 1})
    for job_id, pid in ((lost, gone.pid), (live, os.getpid())):
        queue._write(dataclasses.replace(queue.get(job_id), state="running",
                                         worker=f"{host}:{pid}"))
    assert queue.recover() == [lost]
    assert queue.get(lost).state == "failed"
    assert queue.get(lost).error == (f"the worker (pid {gone.pid}) stopped while this job ran; "
                                     "submit it again")
    assert queue.get(live).state == "running"  # its worker is alive: left alone
