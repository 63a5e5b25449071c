"""The job interface over a Huey queue: submit, read, cancel; the worker that runs the jobs.

Why Huey: the same task code runs on an embedded SQLite file on one machine (SqliteHuey: no
server to install, the studio works offline on a laptop) and on Redis for many machines
(RedisHuey), and it is one small pure-Python package. RQ needs Redis even on one machine;
Celery is heavy and has no well-supported embedded broker.

A job's record (state, progress, error, result) is JSON in the queue's own key-value store,
not in a second database: the web process and any worker, on this machine or another, see the
same records. Only the worker writes a record once it is queued; cancelling writes a separate
flag the worker reads between frames, so the two never overwrite each other.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

FINISHED = frozenset({"done", "failed", "cancelled"})
JOB_ID = re.compile(r"[0-9a-f]{32}")
TASK = "gansmania.job"
RECORD, CANCEL = "gm:job:", "gm:cancel:"


class JobCancelled(Exception):
    """Raised inside a job (by JobContext.progress) when someone cancelled it."""


@dataclass(frozen=True)
class Job:
    """One job's record, as the page sees it."""

    id: str
    kind: str
    params: dict[str, Any]  # checked by the kind when submitted
    created_s: float  # Unix time
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0  # steps (frames, images) finished
    total: int = 0  # steps in all; 0 until the job knows
    error: str = ""  # one line, when failed
    result: str = ""  # the output's file name inside the job's folder, when done
    started_s: float | None = None
    finished_s: float | None = None
    worker: str = ""  # "host:pid" of the process running it
    cancelling: bool = False  # cancel asked for, not yet seen by the worker

    @property
    def progress(self) -> float:
        """0..1 (1 when done)."""
        if self.state == "done":
            return 1.0
        return self.done / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "progress": self.progress}


@dataclass(frozen=True)
class Kind:
    """What a job kind does: ``check(params)`` -> the params to store (GansmaniaError when
    they do not fit); ``run(params, context)`` -> the output's file name in context.folder."""

    check: Callable[[Mapping[str, Any]], dict[str, Any]]
    run: Callable[[dict[str, Any], JobContext], str]


class JobContext:
    """Given to a running job: its folder, and ``progress(done, total)`` to call after every
    step, which also stops the job (JobCancelled) when it was cancelled."""

    def __init__(self, queue: JobQueue, job: Job, *, every_s: float = 0.25) -> None:
        self.folder = queue.folder_of(job.id)
        self._queue = queue
        self._job = job
        self._every_s = every_s  # records are written at most this often (and at the end)
        self._written = 0.0

    def progress(self, done: int, total: int) -> None:
        self.check_cancelled()
        now = time.monotonic()
        if done >= total or now - self._written >= self._every_s:
            self._written = now
            self._job = replace(self._job, done=done, total=total)
            self._queue._write(self._job)

    def check_cancelled(self) -> None:
        if self._queue.cancel_requested(self._job.id):
            raise JobCancelled(self._job.id)


class JobQueue:
    """Jobs on a Huey instance; outputs in ``folder``/jobs/<job id>/ (a job's own folder, so a
    rerun of one job cannot clobber another's file). ``kinds`` maps a kind's name to what it
    does (visualizer.jobs.kinds.KINDS: render and grid)."""

    def __init__(self, huey, folder: Path, *, kinds: Mapping[str, Kind]) -> None:
        self.huey = huey
        self.folder = Path(folder)
        self.kinds = dict(kinds)
        self._task = huey.task(name=TASK)(self._execute)

    @classmethod
    def open(cls, folder: Path, *, kinds: Mapping[str, Kind]) -> JobQueue:
        """The queue of one machine: an SQLite file, ``folder``/jobs.db."""
        try:
            from huey import SqliteHuey
        except ImportError:
            raise GansmaniaError("the studio's jobs need huey: pip install 'gansmania[web]'") \
                from None
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GansmaniaError(f"job folder {folder}: cannot create it ({exc.strerror})") \
                from None
        # results=False: a job's outcome is its record, written by the job itself.
        huey = SqliteHuey(name="gansmania", filename=str(folder / "jobs.db"), results=False)
        return cls(huey, folder, kinds=kinds)

    # ------------------------------------------------------------------ the interface

    def submit(self, kind: str, params: Mapping[str, Any]) -> str:
        """Queue a job; its id. GansmaniaError (one line) for an unknown kind or bad params."""
        if kind not in self.kinds:
            raise GansmaniaError(f"job kind {kind!r} unknown; allowed: {', '.join(self.kinds)}")
        checked = self.kinds[kind].check(params)
        job = Job(id=uuid.uuid4().hex, kind=kind, params=checked, created_s=time.time())
        self._write(job)  # before the task: a fast worker must find the record
        self._task(job.id)  # enqueues it
        return job.id

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.fullmatch(job_id):
            return None
        from huey.constants import EmptyData

        data = self.huey.storage.peek_data(RECORD + job_id)
        if data is EmptyData:
            return None
        job = _decode(data)
        if job.state not in FINISHED and self.cancel_requested(job_id):
            job = replace(job, cancelling=True)
        return job

    def jobs(self) -> list[Job]:
        """Every job, newest first."""
        found = [_decode(value) for key, value in self.huey.storage.result_items().items()
                 if _text(key).startswith(RECORD)]
        return sorted(found, key=lambda job: job.created_s, reverse=True)

    def cancel(self, job_id: str) -> Job:
        """Ask the worker to stop the job (between frames, or before it starts)."""
        job = self.get(job_id)
        if job is None:
            raise GansmaniaError(f"job {job_id!r}: no such job")
        if job.state in FINISHED:
            raise GansmaniaError(f"job {job_id}: already {job.state}, nothing to cancel")
        self.huey.storage.put_data(CANCEL + job_id, b"1")
        return replace(job, cancelling=True)

    def cancel_requested(self, job_id: str) -> bool:
        return self.huey.storage.has_data_for_key(CANCEL + job_id)

    def folder_of(self, job_id: str) -> Path:
        if not JOB_ID.fullmatch(job_id):  # ids come from clients: never a path of theirs
            raise GansmaniaError(f"job {job_id!r}: not a job id")
        return self.folder / "jobs" / job_id

    def result_path(self, job_id: str) -> Path | None:
        """The finished job's output file; None when it has none (yet)."""
        job = self.get(job_id)
        if job is None or job.state != "done" or not job.result:
            return None
        path = self.folder_of(job_id) / job.result
        return path if path.is_file() else None

    # ------------------------------------------------------------------ the worker side

    def run_next(self) -> bool:
        """Take one task off the queue and run it here; False when the queue was empty."""
        task = self.huey.dequeue()
        if task is None:
            return False
        self.huey.execute(task)
        return True

    def _execute(self, job_id: str) -> None:
        """The Huey task: run the job, write its record; nothing escapes to Huey."""
        job = self.get(job_id)
        if job is None:
            log.warning("job %s: no record, skipped", job_id)
            return
        if job.state in FINISHED:  # a duplicate delivery
            return
        folder = self.folder_of(job_id)
        shutil.rmtree(folder, ignore_errors=True)  # a rerun of this job starts clean
        folder.mkdir(parents=True)
        job = replace(job, state="running", started_s=time.time(), worker=_this_worker(),
                      cancelling=False)
        self._write(job)
        context = JobContext(self, job)
        try:
            context.check_cancelled()  # cancelled while queued: stop before any work
            result = self.kinds[job.kind].run(job.params, context)
        except JobCancelled:
            shutil.rmtree(folder, ignore_errors=True)  # half a video is no use to anyone
            job = replace(context._job, state="cancelled")
        except GansmaniaError as exc:
            job = replace(context._job, state="failed", error=_one_line(str(exc)))
        except Exception as exc:  # a bug or a broken model: the page says so, the log has more
            log.exception("job %s (%s) crashed", job_id, job.kind)
            job = replace(context._job, state="failed",
                          error=_one_line(f"{type(exc).__name__}: {exc}"))
        else:
            job = replace(context._job, state="done", result=result)
        self._write(replace(job, finished_s=time.time()))
        self.huey.storage.pop_data(CANCEL + job_id)

    def recover(self) -> list[str]:
        """Fail the jobs left running by a worker of this machine that is gone (killed, power
        cut): nothing would ever finish them. Their ids. Workers call it when they start."""
        host = _this_worker().rpartition(":")[0]
        lost = []
        for job in self.jobs():
            where, _, pid = job.worker.rpartition(":")
            if job.state == "running" and where == host and pid.isdigit() and not _alive(int(pid)):
                self._write(replace(job, state="failed", finished_s=time.time(),
                                    error=f"the worker (pid {pid}) stopped while this job ran; "
                                          "submit it again"))
                lost.append(job.id)
        return lost

    def _write(self, job: Job) -> None:
        record = {**asdict(job)}
        record.pop("cancelling")
        self.huey.storage.put_data(RECORD + job.id, json.dumps(record).encode())


class ThreadWorker:
    """One worker thread of this process taking jobs off the queue (`gansmania web` without
    --external-worker). Not Huey's Consumer: that one installs signal handlers, which belong to
    the web server in this process."""

    def __init__(self, queue: JobQueue, *, poll_s: float = 0.2) -> None:
        self.queue = queue
        self.poll_s = poll_s  # how long an idle worker waits before looking again
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jobs", daemon=True)

    def start(self) -> ThreadWorker:
        self.queue.recover()
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.queue.run_next()
            except Exception:  # the store hiccuped (locked, disk full): try again, say why
                log.exception("job worker")
                busy = False
            if not busy:
                self._stop.wait(self.poll_s)

    def close(self, *, timeout_s: float = 30.0) -> None:
        """Stop after the running job (cancel it first to stop sooner)."""
        self._stop.set()
        self._thread.join(timeout=timeout_s)


def _this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _decode(data: bytes | str) -> Job:
    return Job(**json.loads(data))


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


def _one_line(text: str) -> str:
    first = (text.strip().splitlines() or ["(no message)"])[0]
    return first if len(first) <= 300 else first[:297] + "..."
