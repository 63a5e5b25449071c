"""A job in parts on many workers (queue.py's ``Kind.parts``), on both brokers: the parts
spread over two workers, the whole waits for them without holding a worker or counting an
attempt, then reads their files and runs once; a failed part fails it, cancelling it cancels
its parts. Test kinds stand in for a spread render (the real one: test_spread_render.py)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.visualizer.jobs.test_queue import WAIT_S, steps_kind, wait_for
from visualizer.core.errors import GansmaniaError
from visualizer.jobs import JobQueue, ThreadWorker
from visualizer.jobs.records import Kind


@pytest.fixture
def gates() -> dict[str, threading.Event]:
    """A piece whose text is a key here waits on its event after its first step."""
    return {}


@pytest.fixture
def runs() -> list[str]:
    """The ids of the jobs whose kind ran, in order (each attempt once)."""
    return []


def piece_kind(gates: dict[str, threading.Event], runs: list[str]) -> Kind:
    """Two steps, then writes its text to piece.txt; the text "x" fails after its first step."""

    def run(params, context):
        runs.append(context.job.id)
        context.progress(1, 2)
        if params["text"] == "x":
            raise GansmaniaError("piece x broke")
        if params["text"] in gates:
            gates[params["text"]].wait(WAIT_S)
        context.progress(2, 2)
        (context.folder / "piece.txt").write_text(params["text"])
        return "piece.txt"

    return Kind(check=dict, run=run)


def whole_kind(runs: list[str]) -> Kind:
    """One piece per text; joins the pieces' files, in order, into whole.txt."""

    def run(params, context):
        runs.append(context.job.id)
        text = "".join(path.read_text() for _, path in context.inputs())
        (context.folder / "whole.txt").write_text(text)
        return "whole.txt"

    return Kind(check=dict, run=run,
                parts=lambda params: [("piece", {"text": text}) for text in params["texts"]])


@pytest.fixture(params=["sqlite", "redis"])
def queue_view(request, tmp_path, gates, runs):
    """``queue_view()``: one more view (as another process's) of the test's queue."""
    broker = request.getfixturevalue("redis_url") if request.param == "redis" else None
    kinds = {"piece": piece_kind(gates, runs), "whole": whole_kind(runs), "steps": steps_kind()}
    return lambda: JobQueue.open(tmp_path / "studio", kinds=kinds, broker=broker)


@pytest.fixture
def two_workers(queue_view, gates):
    workers = [ThreadWorker(queue_view(), poll_s=0.01).start() for _ in range(2)]
    yield workers
    for gate in gates.values():
        gate.set()
    for worker in workers:
        worker.close()


def test_the_parts_spread_and_the_whole_waits_without_holding_a_worker(queue_view, two_workers,
                                                                       gates, runs):
    queue = queue_view()
    gates["c"] = threading.Event()
    whole_id = queue.submit("whole", {"texts": ["a", "b", "c"]})
    whole = queue.get(whole_id)
    a, b, c = whole.needs
    assert [queue.get(i).part_of for i in whole.needs] == [whole_id] * 3
    wait_for(lambda: queue.get(c).done == 1 and queue.get(whole_id).done == 250,
             "two parts done, the third half way, in the whole's progress")
    # The whole waits: queued, never claimed, its progress the parts' (in hundredths of a part).
    whole = queue.get(whole_id)
    assert (whole.state, whole.attempts, whole.worker, whole.total) == ("queued", 0, "", 300)
    assert whole.progress == pytest.approx(250 / 300)
    # ...and holds no worker: one is free for another job while the other renders part c.
    other = queue.submit("steps", {"steps": 2})
    wait_for(lambda: queue.get(other).state == "done", "another job, on the free worker")
    time.sleep(4 * 0.5)  # a few deferrals later it still waits
    assert queue.get(whole_id).state == "queued" and whole_id not in runs
    gates["c"].set()
    wait_for(lambda: queue.get(whole_id).state == "done", "the whole")

    whole = queue.get(whole_id)
    assert queue.result_path(whole_id).read_text() == "abc"
    assert sorted(runs) == sorted([a, b, c, whole_id])  # each ran once
    assert [queue.get(i).attempts for i in (a, b, c, whole_id)] == [1, 1, 1, 1]
    # The parts' files are in the whole's now: only its own file is left (removed by the
    # worker right after it wrote the record).
    wait_for(lambda: not any(queue.folder_of(i).exists() for i in (a, b, c)), "parts' files gone")
    assert [p.name for p in queue.folder_of(whole_id).iterdir()] == [whole.attempt]


def test_a_failed_part_fails_the_whole_and_cancels_the_other_parts(queue_view, two_workers,
                                                                   gates, runs):
    queue = queue_view()
    gates["c"] = threading.Event()
    whole_id = queue.submit("whole", {"texts": ["a", "x", "c"]})
    a, x, c = queue.get(whole_id).needs
    wait_for(lambda: queue.get(whole_id).state == "failed", "the whole to fail")
    whole = queue.get(whole_id)
    assert whole.error == "part 2 of 3 failed: piece x broke"
    assert whole.attempts == 0 and whole_id not in runs
    gates["c"].set()
    wait_for(lambda: queue.get(c).state == "cancelled", "the running part to stop")
    assert queue.get(a).state == "done" and queue.get(x).state == "failed"
    wait_for(lambda: not any(queue.folder_of(i).exists() for i in (a, x, c, whole_id)),
             "every part's file removed")


def test_cancelling_the_whole_cancels_its_parts(queue_view, two_workers, gates, runs):
    queue = queue_view()
    gates["a"] = threading.Event()
    whole_id = queue.submit("whole", {"texts": ["a", "b", "c"]})
    parts = queue.get(whole_id).needs
    wait_for(lambda: queue.get(parts[0]).done == 1, "the first part to start")
    queue.cancel(whole_id)
    gates["a"].set()
    wait_for(lambda: queue.get(whole_id).state == "cancelled", "the whole's cancel")
    wait_for(lambda: all(queue.get(i).state in ("cancelled", "done") for i in parts),
             "the parts to end")
    assert queue.get(parts[0]).state == "cancelled"  # stopped between its steps
    assert whole_id not in runs


def test_a_whole_whose_part_is_cancelled_says_which(queue_view, two_workers, gates):
    queue = queue_view()
    gates["b"] = threading.Event()
    whole_id = queue.submit("whole", {"texts": ["a", "b"]})
    b = queue.get(whole_id).needs[1]
    wait_for(lambda: queue.get(b).done == 1, "part b to start")
    queue.cancel(b)
    gates["b"].set()
    wait_for(lambda: queue.get(whole_id).state == "failed", "the whole to fail")
    assert queue.get(whole_id).error == "part 2 of 2 was cancelled"


def test_one_worker_runs_the_parts_then_the_whole(queue_view, runs):
    queue = queue_view()
    whole_id = queue.submit("whole", {"texts": ["a", "b", "c"]})
    while queue.run_next():  # what a single worker does, in order, without waiting
        pass
    assert runs == [*queue.get(whole_id).needs, whole_id]
    assert queue.result_path(whole_id).read_text() == "abc"


def test_a_whole_whose_task_was_lost_is_queued_again_once_its_parts_end(tmp_path, runs):
    """Recovery leaves a whole be while its parts run (its task goes round between the
    schedule and the workers, a pass may miss it in flight), then queues it again."""
    kinds = {"piece": piece_kind({}, runs), "whole": whole_kind(runs)}
    queue = JobQueue.open(tmp_path, kinds=kinds, lease_s=1.0)
    whole_id = queue.submit("whole", {"texts": ["a", "b"]})
    parts = queue.get(whole_id).needs
    while queue.huey.dequeue() is not None:  # every task lost, with a worker that died
        pass

    def recover_until(check, seconds: float = WAIT_S) -> list[str]:
        """Recovery passes every 0.1 s (watching all along) until check(acted) or seconds."""
        acted, deadline = [], time.monotonic() + seconds
        while not check(acted) and time.monotonic() < deadline:
            acted += queue.recover()
            time.sleep(0.1)
        return acted

    assert sorted(recover_until(lambda acted: len(acted) >= 2)) == sorted(parts)
    assert recover_until(lambda acted: False, 2.0) == []  # the whole: left be while they wait
    while queue.run_next():
        pass
    assert queue.get(whole_id).state == "queued" and sorted(runs) == sorted(parts)
    assert recover_until(lambda acted: acted) == [whole_id]  # lost, now its parts are done
    while queue.run_next():
        pass
    assert queue.get(whole_id).state == "done" and runs[2:] == [whole_id]
