"""A job's record: what the queue stores for each job (JSON under RECORD + id in the broker's
key-value store, a cancel flag under CANCEL + id), what a job kind is, and the exceptions a
running job may meet. queue.py moves records between states; this module only says what they are."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

FINISHED = frozenset({"done", "failed", "cancelled"})
JOB_ID = re.compile(r"[0-9a-f]{32}")
RECORD, CANCEL = "gm:job:", "gm:cancel:"


class JobCancelled(Exception):
    """Raised inside a job (by JobContext.progress) when someone cancelled it."""


class JobLost(Exception):
    """Raised inside a job whose record moved on without it: its worker was taken for dead
    and the job went back on the queue, so another attempt owns it now."""


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
    result: str = ""  # the output's path inside the job's folder, when done
    started_s: float | None = None
    finished_s: float | None = None
    worker: str = ""  # "host:pid" of the process running it
    attempt: str = ""  # the running attempt's token (its output folder's name)
    attempts: int = 0  # how many times a worker took it
    beat_s: float | None = None  # the running worker's last heartbeat (Unix time)
    needs: tuple[str, ...] = ()  # the ids of its parts: it runs once they are all done
    part_of: str = ""  # the id of the job this one is a part of
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
    they do not fit); ``run(params, context)`` -> the output's file name in context.folder;
    ``parts(params)`` (optional) -> the jobs, as (kind, params), to run first, on any worker:
    their outputs are ``context.inputs()`` when this one runs (none: it runs alone).
    ``part_only``: its jobs are only made as another kind's parts, never submitted alone."""

    check: Callable[[Mapping[str, Any]], dict[str, Any]]
    run: Callable[[dict[str, Any], Any], str]  # (params, queue.JobContext) -> file name
    parts: Callable[[dict[str, Any]], list[tuple[str, dict[str, Any]]]] | None = None
    part_only: bool = False


def encode_job(job: Job) -> bytes:
    record = asdict(job)
    record.pop("cancelling")
    return json.dumps(record, sort_keys=True).encode()


def decode_job(data: bytes | str) -> Job:
    record = json.loads(data)
    record["needs"] = tuple(record.get("needs", ()))
    return Job(**record)


def one_line(text: str) -> str:
    first = (text.strip().splitlines() or ["(no message)"])[0]
    return first if len(first) <= 300 else first[:297] + "..."
