"""The job interface over a Huey queue: submit, read, cancel; running one job to its end.

Why Huey: the same task code runs on an embedded SQLite file on one machine (SqliteHuey: no
server to install, the studio works offline on a laptop) and on Redis for many machines
(RedisHuey), and it is one small pure-Python package. RQ needs Redis even on one machine;
Celery is heavy and has no well-supported embedded broker.

A job's record (state, progress, error, result) is JSON in the queue's own key-value store,
not in a second database: the web process and any worker, on this machine or another, see the
same records. Cancelling writes a separate flag the worker reads between frames.

Huey pops a task before it runs, so the record is the acknowledgement: a worker claims a job by
swapping its record from queued to running (compare-and-set: two deliveries, one claim), keeps
it alive with a heartbeat, and may write it only while it is the record it last wrote. A
recovery pass (every worker, at start and every few seconds) puts back on the queue the jobs
whose worker is gone: its process is dead on this machine, or its record has not changed for
``lease_s``. The job's attempt that finishes first wins; a slow one finds its record moved on
and removes its own output (see storage.py).

A job may need others first (a kind's ``parts``: a render split into segments, each a job of
its own that any worker takes, and the join). Such a job is not claimed while its parts run: a
worker that takes it reads the parts' records and puts its task on Huey's schedule for DEFER_S
later, so it holds no worker and counts no attempt while it waits; readers see the parts'
progress as its own. A failed or cancelled part fails it; cancelling it cancels its parts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from visualizer.core.errors import GansmaniaError
from visualizer.jobs.broker import RedisBroker, SqliteBroker, open_broker
from visualizer.jobs.records import (CANCEL, FINISHED, JOB_ID, RECORD, Job, JobCancelled, JobLost,
                                      Kind, decode_job, encode_job, one_line)
from visualizer.jobs.storage import LocalOutputs, S3Outputs, open_outputs

log = logging.getLogger(__name__)

TASK = "gansmania.job"
LEASE_S = 30.0  # a running job's record unchanged this long: its worker is taken for dead
MAX_ATTEMPTS = 3  # a job whose worker died this often is failed, not run again (a poison job)
FINISH_WAIT_S = 300.0  # how long a finished job waits for an unreachable broker to come back
DEFER_S = 0.5  # a job whose parts are not all done is looked at again this much later


class JobContext:
    """Given to a running job: its folder, and ``progress(done, total)`` to call after every
    step, which also stops the job when it was cancelled (JobCancelled), ran past its time limit
    (GansmaniaError) or was taken over (JobLost). A heartbeat thread keeps the record fresh
    while the job works between progress calls (loading a model)."""

    def __init__(self, queue: JobQueue, job: Job, record: bytes, *, every_s: float = 0.25) -> None:
        self.folder = queue.outputs.scratch(job.id, job.attempt)
        self.job = job
        self._queue = queue
        self._olds = [record]  # what the record may hold now (see _store)
        self._every_s = every_s  # records are written at most this often (and at the end)
        self._written = 0.0
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._lost = False
        self._stop = threading.Event()
        self._heart = threading.Thread(target=self._beat, name=f"job {job.id[:8]}", daemon=True)

    def __enter__(self) -> JobContext:
        self._heart.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._heart.join()

    def progress(self, done: int, total: int) -> None:
        self.check_cancelled()
        now = time.monotonic()
        if done >= total or now - self._written >= self._every_s:
            self._written = now
            with self._lock:
                self._store(replace(self.job, done=done, total=total))
            if self._lost:
                raise JobLost(self.job.id)

    def inputs(self) -> list[tuple[Job, Path]]:
        """The job's parts (their records, in order) and their outputs on this machine: the
        files themselves, or copies downloaded into this attempt's folder (a bucket)."""
        found = []
        for part_id in self.job.needs:
            _, part = self._queue._read(part_id)
            if part is None or part.state != "done":
                raise GansmaniaError(f"part {part_id} of job {self.job.id}: "
                                     f"{'gone' if part is None else part.state}, not done")
            found.append((part, self._queue.outputs.fetch(part_id, part.result, self.folder)))
        return found

    def check_cancelled(self) -> None:
        if self._lost:
            raise JobLost(self.job.id)
        limit_s = self._queue.time_limit_s
        if limit_s is not None and time.monotonic() - self._started > limit_s:
            raise GansmaniaError(f"stopped at the time limit of {limit_s:g} s "
                                 "(gansmania worker --time-limit-min)")
        try:
            cancelled = self._queue.cancel_requested(self.job.id)
        except self._queue.broker.errors:  # the broker is away: carry on, ask again next frame
            cancelled = False
        if cancelled:
            raise JobCancelled(self.job.id)

    def finish(self, job: Job) -> bool:
        """Write the final record; False when another attempt owns the job (or the broker stayed
        away for FINISH_WAIT_S: then the job is not acknowledged and runs again)."""
        self._stop.set()
        deadline = time.monotonic() + FINISH_WAIT_S
        delay_s = 0.1
        with self._lock:
            while (stored := self._store(job)) is None and time.monotonic() < deadline:
                time.sleep(delay_s)
                delay_s = min(2 * delay_s, 5.0)
        return bool(stored)

    def _beat(self) -> None:
        while not self._stop.wait(self._queue.lease_s / 4) and not self._lost:
            with self._lock:
                if not self._stop.is_set():
                    self._store(replace(self.job, beat_s=time.time()))

    def _store(self, job: Job) -> bool | None:
        """Swap the record to ``job`` if it is still ours: True written, False taken over, None
        broker away. A write whose reply was lost may have landed, so it counts as ours too."""
        new = encode_job(job)
        self.job = job
        try:
            stored = self._queue.broker.swap(RECORD + job.id, self._olds, new)
        except self._queue.broker.errors as exc:
            log.warning("job %s: broker %s away (%s); the job goes on", job.id,
                        self._queue.broker.where, exc)
            self._olds.append(new)
            return None
        if stored:
            self._olds = [new]
        else:
            self._lost = True
            log.warning("job %s: taken over by another worker; this attempt stops", job.id)
        return stored


class JobQueue:
    """Jobs on a broker (broker.py: SQLite or Redis); outputs in ``outputs`` (storage.py; by
    default under ``folder``/jobs/<job id>/). ``kinds`` maps a kind's name to what it does
    (visualizer.jobs.kinds.KINDS: render, grid)."""

    def __init__(self, broker: SqliteBroker | RedisBroker, folder: Path, *,
                 kinds: Mapping[str, Kind], outputs: LocalOutputs | S3Outputs | None = None,
                 lease_s: float = LEASE_S, time_limit_s: float | None = None) -> None:
        self.broker = broker
        self.huey = broker.huey
        self.folder = Path(folder)
        self.outputs = outputs or LocalOutputs(self.folder / "jobs")
        self.kinds = dict(kinds)
        self.lease_s = lease_s  # every worker of one queue must use the same
        self.time_limit_s = time_limit_s  # a job running longer fails; None: no limit
        self._task = self.huey.task(name=TASK)(self._execute)
        self._seen: dict[str, tuple[bytes, float]] = {}  # recover(): record, unchanged since
        self._last_pass = -float("inf")

    @classmethod
    def open(cls, folder: Path, *, kinds: Mapping[str, Kind], broker: str | None = None,
             outputs: str | None = None, **settings: Any) -> JobQueue:
        """The queue of the studio in ``folder``: on the SQLite file ``folder``/jobs.db, or on
        the Redis at ``broker`` (redis://host:port/db); outputs in ``folder``/jobs, or in the
        bucket at ``outputs`` (s3://bucket/prefix)."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GansmaniaError(f"job folder {folder}: cannot create it ({exc.strerror})") \
                from None
        return cls(open_broker(broker, folder), folder, kinds=kinds,
                   outputs=open_outputs(outputs, folder), **settings)

    # ------------------------------------------------------------------ the interface

    def submit(self, kind: str, params: Mapping[str, Any], *, part_of: str = "") -> str:
        """Queue a job (after its parts, if its kind splits it); its id. GansmaniaError (one
        line) for an unknown kind or bad params."""
        if kind not in self.kinds or (self.kinds[kind].part_only and not part_of):
            allowed = [name for name, known in self.kinds.items() if not known.part_only]
            raise GansmaniaError(f"job kind {kind!r} unknown; allowed: {', '.join(allowed)}")
        checked = self.kinds[kind].check(params)
        job_id = uuid.uuid4().hex
        split = self.kinds[kind].parts
        # Parts first: one worker runs them in order and this one last, many share them.
        needs = tuple(self.submit(part_kind, part_params, part_of=job_id)
                      for part_kind, part_params in (split(checked) if split else ()))
        job = Job(id=job_id, kind=kind, params=checked, created_s=time.time(), needs=needs,
                  part_of=part_of)
        self.huey.storage.put_data(RECORD + job.id, encode_job(job))  # first: a fast worker reads it
        self._task(job.id)  # enqueues it
        return job.id

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.fullmatch(job_id):
            return None
        _, job = self._read(job_id)
        if job is not None and job.state not in FINISHED and self.cancel_requested(job_id):
            job = replace(job, cancelling=True)
        if job is not None and job.needs and job.state == "queued":
            job = _parts_progress(job, [self._read(part_id)[1] for part_id in job.needs])
        return job

    def jobs(self) -> list[Job]:
        """Every job, newest first (one waiting for its parts: with their progress)."""
        found = {job.id: job for _, job in self._records()}
        listed = [_parts_progress(job, [found.get(part_id) for part_id in job.needs])
                  if job.needs and job.state == "queued" else job for job in found.values()]
        return sorted(listed, key=lambda job: job.created_s, reverse=True)

    def cancel(self, job_id: str) -> Job:
        """Ask the worker to stop the job (between frames, or before it starts)."""
        job = self.get(job_id)
        if job is None:
            raise GansmaniaError(f"job {job_id!r}: no such job")
        if job.state in FINISHED:
            raise GansmaniaError(f"job {job_id}: already {job.state}, nothing to cancel")
        self.huey.storage.put_data(CANCEL + job_id, b"1")
        self._cancel_parts(job)
        return replace(job, cancelling=True)

    def cancel_requested(self, job_id: str) -> bool:
        return self.huey.storage.has_data_for_key(CANCEL + job_id)

    def folder_of(self, job_id: str) -> Path:
        """The job's folder on this machine (its outputs, or its scratch for a bucket)."""
        if not JOB_ID.fullmatch(job_id):  # ids come from clients: never a path of theirs
            raise GansmaniaError(f"job {job_id!r}: not a job id")
        return self.outputs.folder / job_id

    def result(self, job_id: str, *, filename: str = "",
               attachment: bool = False) -> Path | str | None:
        """Where a reader gets the finished job's output: its file on this machine, or a URL
        that serves it as ``filename`` (default: its own name), inline or as an attachment
        (outputs in a bucket); None when it has none (yet)."""
        job = self.get(job_id)
        if job is None or job.state != "done" or not job.result:
            return None
        name = filename or job.result.rpartition("/")[2]
        return self.outputs.locate(job_id, job.result, filename=name, attachment=attachment)

    def result_path(self, job_id: str) -> Path | None:
        """The finished job's output file on this machine; None when it has none (yet) or it
        is in a bucket."""
        found = self.result(job_id)
        return found if isinstance(found, Path) else None

    # ------------------------------------------------------------------ the worker side

    def run_next(self) -> bool:
        """Take one task off the queue and run it here; False when the queue was empty. The
        scheduled tasks that are due (jobs waiting for their parts) go on the queue first."""
        for due in self.huey.read_schedule():  # taken off the schedule atomically: by one worker
            self.huey.enqueue(due)
        task = self.huey.dequeue()
        if task is None:
            return False
        self.huey.execute(task)
        return True

    def _execute(self, job_id: str) -> None:
        """The Huey task: claim the job, run it, write its record; nothing escapes to Huey."""
        record, job = self._read(job_id)
        if job is None:
            log.warning("job %s: no record, skipped", job_id)
            return
        if job.state != "queued":  # a duplicate delivery: another attempt has it or had it
            return
        if self.cancel_requested(job_id):  # cancelled while queued: stop before any work
            self._settle(record, replace(job, state="cancelled", finished_s=time.time()))
            return
        if job.needs and not self._parts_done(record, job):
            return
        job = replace(job, state="running", started_s=time.time(), beat_s=time.time(),
                      worker=_this_worker(), attempt=uuid.uuid4().hex[:12],
                      attempts=job.attempts + 1, done=0, total=0)
        claimed = encode_job(job)
        if not self.broker.swap(RECORD + job_id, [record], claimed):
            return  # another worker claimed it first
        with JobContext(self, job, claimed) as context:
            try:
                context.check_cancelled()
                name = self.kinds[job.kind].run(job.params, context)
                job = replace(context.job, state="done",
                              result=self.outputs.publish(job_id, job.attempt, name))
            except JobLost:
                job = None
            except JobCancelled:
                job = replace(context.job, state="cancelled")
            except GansmaniaError as exc:
                job = replace(context.job, state="failed", error=one_line(str(exc)))
            except Exception as exc:  # a bug or a broken model: the page says so, the log more
                log.exception("job %s (%s) crashed", job_id, context.job.kind)
                job = replace(context.job, state="failed",
                              error=one_line(f"{type(exc).__name__}: {exc}"))
            if job is None or not context.finish(replace(job, finished_s=time.time())):
                self.outputs.discard_attempt(job_id, context.job.attempt)
                return
        # Ours alone now: drop the other attempts' files (all of them unless done), and the
        # parts' files once they are in this job's output.
        self.outputs.discard(job_id, keep=job.attempt if job.state == "done" else None)
        self.huey.storage.pop_data(CANCEL + job_id)
        self._drop_parts(job)

    def _parts_done(self, record: bytes, job: Job) -> bool:
        """Whether the job's parts are all done, so it may run now. Else it fails (a part
        failed, was cancelled or is gone) or waits: its task goes on the schedule, DEFER_S
        from now (a record unchanged while it waits is fine: recover() sees the task there)."""
        parts = [self._read(part_id)[1] for part_id in job.needs]
        for number, part in enumerate(parts, 1):
            if part is None or part.state in ("failed", "cancelled"):
                why = ("is gone" if part is None else f"failed: {part.error}"
                       if part.state == "failed" else "was cancelled")
                self._cancel_parts(job)
                self._settle(record, replace(job, state="failed", finished_s=time.time(),
                                             error=one_line(f"part {number} of {len(parts)} {why}")))
                return False
        if all(part.state == "done" for part in parts):
            return True
        self.huey.add_schedule(self._task.s(job.id, delay=DEFER_S))
        return False

    def _parts_running(self, job: Job) -> bool:
        """Whether some of the job's parts have not finished: then its task goes round between
        the schedule and the workers, and a pass may miss it in flight, so recover() leaves it
        be (its next delivery once they finish claims it, or recover() finds it lost then)."""
        return any(part is not None and part.state not in FINISHED
                   for part in (self._read(part_id)[1] for part_id in job.needs))

    def _drop_parts(self, job: Job) -> None:
        """A finished job's done parts' files: in its output now, or of no use."""
        for part_id in job.needs:
            _, part = self._read(part_id)
            if part is not None and part.state == "done":
                self.outputs.discard(part_id)

    def _cancel_parts(self, job: Job) -> None:
        for part_id in job.needs:
            _, part = self._read(part_id)
            if part is not None and part.state not in FINISHED:
                self.huey.storage.put_data(CANCEL + part_id, b"1")

    def recover(self) -> list[str]:
        """One recovery pass: the jobs whose worker is gone (its process is dead on this
        machine, or its record has not changed for lease_s while this process watched) go back
        on the queue, or end cancelled if cancelled, or failed after MAX_ATTEMPTS; a queued job
        whose task was lost (its worker died between taking the task and claiming the job) is
        queued again. The ids it acted on. Workers call it at start and every lease_s / 4."""
        now = time.monotonic()
        if now - self._last_pass > self.lease_s / 2:  # not watched all along: start over
            self._seen = {}
        self._last_pass = now
        seen, acted, waiting = {}, [], None
        for record, job in self._records():
            if job.state in FINISHED:
                continue
            before = self._seen.get(job.id)
            since = before[1] if before is not None and before[0] == record else now
            seen[job.id] = (record, since)
            stale = now - since >= self.lease_s
            if job.state == "running" and (stale or _dead_here(job.worker)):
                if self._requeue(record, job):
                    acted.append(job.id)
            elif job.state == "queued" and stale and not self._parts_running(job):
                waiting = self._waiting() if waiting is None else waiting
                if job.id not in waiting:
                    log.warning("job %s: queued without a task; queued again", job.id)
                    self._task(job.id)
                    seen[job.id] = (record, now)
                    acted.append(job.id)
        self._seen = seen
        return acted

    def _requeue(self, record: bytes, job: Job) -> bool:
        """Put back on the queue (or end) a job whose worker is gone; False if it moved on."""
        gone = f"its worker ({job.worker}) stopped while it ran"
        if self.cancel_requested(job.id):
            after = replace(job, state="cancelled", finished_s=time.time())
        elif job.attempts >= MAX_ATTEMPTS:
            after = replace(job, state="failed", finished_s=time.time(),
                            error=f"{gone}, {job.attempts} times; submit it again")
        else:
            after = replace(job, state="queued", worker="", attempt="", started_s=None,
                            beat_s=None, done=0, total=0)
        if not self._settle(record, after):
            return False
        log.warning("job %s: %s; %s", job.id, gone,
                    "queued again" if after.state == "queued" else after.state)
        if after.state == "queued":
            self._task(job.id)
        return True

    def _settle(self, record: bytes, job: Job) -> bool:
        """Swap a record that no attempt holds; a finished job's files and cancel flag go."""
        if not self.broker.swap(RECORD + job.id, [record], encode_job(job)):
            return False
        if job.state in FINISHED:
            self.outputs.discard(job.id)
            self.huey.storage.pop_data(CANCEL + job.id)
            self._drop_parts(job)
        return True

    def _read(self, job_id: str) -> tuple[bytes, Job | None]:
        from huey.constants import EmptyData

        data = self.huey.storage.peek_data(RECORD + job_id)
        return (b"", None) if data is EmptyData else (bytes(data), decode_job(data))

    def _records(self) -> list[tuple[bytes, Job]]:
        return [(bytes(value), decode_job(value))
                for key, value in self.huey.storage.result_items().items()
                if _text(key).startswith(RECORD)]

    def _waiting(self) -> set[str]:
        """The ids of the jobs whose task is on the queue or the schedule now."""
        ids = set()
        storage = self.huey.storage
        for data in [*storage.enqueued_items(), *storage.scheduled_items()]:
            try:
                ids.update(self.huey.deserialize_task(data).args[:1])
            except Exception:  # a task of another program on the same queue name
                continue
        return ids


def _parts_progress(job: Job, parts: list[Job | None]) -> Job:
    """A job waiting for its parts, with their progress as its own (in hundredths of a part)."""
    done = sum(part.progress for part in parts if part is not None)
    return replace(job, done=round(100 * done), total=100 * len(parts))


def _this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(worker: str) -> bool:
    """Whether ``worker`` ("host:pid") ran on this machine in a process that is gone."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key
