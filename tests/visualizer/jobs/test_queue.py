"""The job contract, on both brokers (the embedded SQLite file and a real Redis): submit,
progress, cancel, a crash is a failed job with its one-line error, outputs in the job's own
folder, a job whose worker is gone queued again and finished exactly once, the time limit.
Test kinds stand in for render and grid (the real ones run in test_kinds.py, the studio's
browser test and test_redis_workers.py)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import pytest

from visualizer.core.errors import GansmaniaError
from visualizer.jobs import JobQueue, ThreadWorker
from visualizer.jobs.queue import MAX_ATTEMPTS
from visualizer.jobs.records import RECORD, Kind, encode_job

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


@pytest.fixture(params=["sqlite", "redis"])
def make_queue(request, tmp_path, gate):
    """``make_queue(**settings)``: a JobQueue on the test's broker and folder; each call is
    another process's view of the same queue (with its own settings)."""
    broker = request.getfixturevalue("redis_url") if request.param == "redis" else None
    kinds = {"steps": steps_kind(), "crash": crash_kind(), "gated": steps_kind(gate)}
    return lambda **settings: JobQueue.open(tmp_path / "studio", kinds=kinds, broker=broker,
                                            **settings)


@pytest.fixture
def queue(make_queue):
    return make_queue()


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
    assert paths[0] == queue.folder / "jobs" / first / job.attempt / "out.txt"
    assert [p.name for p in queue.folder_of(first).iterdir()] == [job.attempt]
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
    # The worker removes the files right after it settles the record (it must hold the job to
    # touch them), so a reader may see "cancelled" a moment before they are gone.
    wait_for(lambda: not queue.folder_of(job_id).exists(), "the output's removal")
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


def test_a_second_queue_on_the_same_broker_sees_the_same_jobs(queue, make_queue):
    """What an external worker (`gansmania worker`) is: another process on the same store."""
    other = make_queue()
    job_id = queue.submit("steps", {"steps": 2})
    assert other.run_next()
    assert queue.get(job_id).state == "done"
    assert queue.result_path(job_id).read_text() == "2"


def test_a_task_delivered_twice_runs_once(queue):
    job_id = queue.submit("steps", {"steps": 1})
    queue._task(job_id)  # the same job on the queue again (a re-queue raced a slow worker)
    assert queue.run_next() and queue.run_next()
    job = queue.get(job_id)
    assert (job.state, job.attempts) == ("done", 1)
    assert not queue.run_next()


def running_elsewhere(queue, job_id: str, worker: str, *, attempts: int = 1) -> None:
    """What a worker leaves behind when it dies mid-job: its task taken, its record running."""
    assert queue.huey.dequeue().args == (job_id,)
    job = dataclasses.replace(queue.get(job_id), state="running", worker=worker,
                              attempt="a" * 12, attempts=attempts, done=1, total=2)
    queue.huey.storage.put_data(RECORD + job_id, encode_job(job))
    (queue.folder_of(job_id) / job.attempt).mkdir(parents=True)
    (queue.folder_of(job_id) / job.attempt / "out.txt").write_text("half")


def watch(queue) -> tuple[list[str], float]:
    """Recovery passes every 0.05 s (as an idle worker makes them, faster) until one acts: what
    it acted on, and after how long."""
    start = time.monotonic()
    while not (acted := queue.recover()):
        assert time.monotonic() - start < WAIT_S, "recovery never acted"
        time.sleep(0.05)
    return acted, time.monotonic() - start


def test_a_job_of_a_dead_worker_here_is_queued_again_and_ends_once(queue):
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    job_id = queue.submit("steps", {"steps": 2})
    running_elsewhere(queue, job_id, f"{socket.gethostname()}:{gone.pid}")
    assert queue.recover() == [job_id]  # at once: its process is gone
    assert (queue.get(job_id).state, queue.get(job_id).worker) == ("queued", "")
    assert queue.run_next()
    job = queue.get(job_id)
    assert (job.state, job.attempts, job.done) == ("done", 2, 2)
    assert [p.name for p in queue.folder_of(job_id).iterdir()] == [job.attempt]  # one file
    assert queue.result_path(job_id).read_text() == "2"
    assert queue.recover() == []


def test_a_job_whose_worker_died_every_time_is_failed(make_queue):
    queue = make_queue(lease_s=0.0)  # a record seen once is stale
    job_id = queue.submit("steps", {"steps": 2})
    running_elsewhere(queue, job_id, "gone-host:1", attempts=MAX_ATTEMPTS)
    assert queue.recover() == [job_id]
    job = queue.get(job_id)
    assert job.state == "failed"
    assert job.error == (f"its worker (gone-host:1) stopped while it ran, {MAX_ATTEMPTS} times; "
                         "submit it again")
    assert not queue.folder_of(job_id).exists() and not queue.run_next()


def test_a_cancelled_job_whose_worker_died_ends_cancelled(make_queue):
    queue = make_queue(lease_s=0.0)
    job_id = queue.submit("steps", {"steps": 2})
    running_elsewhere(queue, job_id, "gone-host:1")
    queue.cancel(job_id)
    assert queue.recover() == [job_id]
    job = queue.get(job_id)
    assert (job.state, job.cancelling) == ("cancelled", False)
    assert not queue.folder_of(job_id).exists() and not queue.run_next()


def test_a_job_on_another_machine_is_queued_again_when_its_heartbeat_stops(make_queue):
    queue = make_queue(lease_s=0.5)
    job_id = queue.submit("steps", {"steps": 2})
    running_elsewhere(queue, job_id, "other-host:4242")
    acted, after_s = watch(queue)
    assert acted == [job_id] and after_s >= 0.5  # its process may live: the lease ran out first
    assert queue.run_next()
    assert (queue.get(job_id).state, queue.get(job_id).attempts) == ("done", 2)


def test_a_running_job_keeps_its_lease_with_its_heartbeat(make_queue, gate):
    queue = make_queue(lease_s=1.5)
    watcher = make_queue(lease_s=1.5)  # another worker's recovery passes
    worker = ThreadWorker(queue, poll_s=0.01).start()
    try:
        job_id = queue.submit("gated", {"steps": 2})
        wait_for(lambda: queue.get(job_id).done == 1, "the first step")
        beats = {queue.get(job_id).beat_s}
        deadline = time.monotonic() + 3.0  # twice the lease, the job idle at its gate
        while time.monotonic() < deadline:
            assert watcher.recover() == []
            beats.add(queue.get(job_id).beat_s)
            time.sleep(0.1)
        assert len(beats) >= 4
        gate.set()
        wait_for(lambda: queue.get(job_id).state == "done", "the end")
    finally:
        gate.set()
        worker.close()
    assert queue.get(job_id).attempts == 1


def test_an_attempt_taken_over_writes_nothing_and_leaves_no_file(queue, worker, gate):
    """A worker taken for dead that was only slow: its job was queued again; when it wakes up
    it finds its record moved on, stops, removes its folder; the next attempt ends the job."""
    job_id = queue.submit("gated", {"steps": 2})
    wait_for(lambda: queue.get(job_id).done == 1, "the first step")
    first = queue.get(job_id).attempt
    while not queue._requeue(*queue._read(job_id)):  # as recover() does; retried past a beat
        pass
    gate.set()
    wait_for(lambda: queue.get(job_id).state == "done", "the second attempt")
    job = queue.get(job_id)
    assert job.attempts == 2 and job.attempt != first
    assert [p.name for p in queue.folder_of(job_id).iterdir()] == [job.attempt]
    assert queue.result_path(job_id).read_text() == "2"


def test_a_queued_job_whose_task_was_lost_is_queued_again(make_queue):
    queue = make_queue(lease_s=0.3)
    job_id = queue.submit("steps", {"steps": 1})
    waiting = queue.submit("steps", {"steps": 1})
    assert queue.huey.dequeue().args == (job_id,)  # a worker took it and died at once
    acted, after_s = watch(queue)
    assert acted == [job_id] and after_s >= 0.3  # not `waiting`: its task is still on the queue
    assert queue.run_next() and queue.run_next()
    assert {queue.get(i).state for i in (job_id, waiting)} == {"done"}


def test_a_job_past_its_time_limit_fails_with_the_reason(make_queue, gate):
    queue = make_queue(time_limit_s=0.3)
    worker = ThreadWorker(queue, poll_s=0.01).start()
    try:
        job_id = queue.submit("gated", {"steps": 3})
        wait_for(lambda: queue.get(job_id).done == 1, "the first step")
        time.sleep(0.4)
        gate.set()
        wait_for(lambda: queue.get(job_id).state == "failed", "the time limit")
    finally:
        gate.set()
        worker.close()
    assert queue.get(job_id).error == ("stopped at the time limit of 0.3 s "
                                       "(gansmania worker --time-limit-min)")
    assert not queue.folder_of(job_id).exists()


def test_a_broker_url_it_cannot_use_is_a_one_line_error(tmp_path):
    with pytest.raises(GansmaniaError, match=r"^broker 'amqp://u:\*\*\*@host': unknown scheme; "
                                             r"allowed: redis://"):
        JobQueue.open(tmp_path, kinds={}, broker="amqp://u:secret@host")


def test_redis_restarting_mid_job_is_waited_out(redis_server, tmp_path, gate):
    """The running job carries on through the restart (its heartbeat and progress writes wait
    for the broker), finishes once, and the worker takes the next job after it; an idle
    worker waits a restart out too."""
    kinds = {"steps": steps_kind(), "gated": steps_kind(gate)}
    queue = JobQueue.open(tmp_path, kinds=kinds, broker=redis_server.url, lease_s=2.0)
    worker = ThreadWorker(queue).start()
    try:
        job_id = queue.submit("gated", {"steps": 3})
        wait_for(lambda: queue.get(job_id).done == 1, "the first step")
        redis_server.restart(down_s=1.5)
        gate.set()
        wait_for(lambda: queue.get(job_id).state == "done", "the job after the restart")
        after = queue.submit("steps", {"steps": 1})
        wait_for(lambda: queue.get(after).state == "done", "the next job")
        redis_server.restart(down_s=1.5)  # again, the worker idle in BRPOP this time
        last = queue.submit("steps", {"steps": 1})
        wait_for(lambda: queue.get(last).state == "done", "a job after the second restart")
    finally:
        gate.set()
        worker.close()
    job = queue.get(job_id)
    assert (job.attempts, job.done) == (1, 3)
    assert [p.name for p in queue.folder_of(job_id).iterdir()] == [job.attempt]
