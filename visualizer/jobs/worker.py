"""The workers: the loop that takes jobs off a queue one at a time (in a thread of `gansmania
web`, or as `gansmania worker`), and the parent that runs one worker process per GPU.

Not Huey's Consumer: that one installs signal handlers (they belong to the web server in the
web process) and knows nothing of leases; the loop here is a dozen lines.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from visualizer.jobs.queue import JobQueue

log = logging.getLogger(__name__)

BACKOFF_S = (0.1, 5.0)  # first and longest wait while the broker is away
RESTART_S = 2.0  # a worker process that died is started again this much later


class Worker:
    """Runs the queue's jobs one at a time until ``stop`` is set: a recovery pass at start and
    every lease_s / 4, and a wait that doubles (to 5 s) while the broker cannot be reached, so
    a broker restart is waited out, not fatal."""

    def __init__(self, queue: JobQueue, *, poll_s: float = 0.2) -> None:
        self.queue = queue
        self.poll_s = poll_s  # how long an idle worker waits before looking again (SQLite)

    def run(self, stop: threading.Event) -> None:
        next_pass = 0.0
        delay_s = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_pass:
                    self.queue.recover()
                    next_pass = time.monotonic() + self.queue.lease_s / 4
                busy = self.queue.run_next()
            except self.queue.broker.errors as exc:
                delay_s = min(max(2 * delay_s, BACKOFF_S[0]), BACKOFF_S[1])
                log.warning("broker %s away (%s); trying again in %.1f s",
                            self.queue.broker.where, exc, delay_s)
                stop.wait(delay_s)
                continue
            except Exception:  # a bug or a broken store: say why, keep the worker alive
                log.exception("job worker")
                busy = False
            delay_s = 0.0
            if not busy and not self.queue.broker.blocks:
                stop.wait(self.poll_s)


class ThreadWorker:
    """A Worker in a thread of this process (`gansmania web` without --external-worker)."""

    def __init__(self, queue: JobQueue, *, poll_s: float = 0.2) -> None:
        self.queue = queue
        self._worker = Worker(queue, poll_s=poll_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._worker.run, args=(self._stop,),
                                        name="jobs", daemon=True)

    def start(self) -> ThreadWorker:
        self._thread.start()
        return self

    def close(self, *, timeout_s: float = 30.0) -> None:
        """Stop after the running job (cancel it first to stop sooner)."""
        self._stop.set()
        self._thread.join(timeout=timeout_s)


def run_here(queue: JobQueue) -> None:
    """`gansmania worker` in this process: the first SIGINT or SIGTERM stops it after the
    running job; a second SIGINT stops it at once (the job is queued again by recovery)."""
    stop = threading.Event()

    def ask_stop(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.warning("stopping after the running job")
        stop.set()

    signal.signal(signal.SIGINT, ask_stop)
    signal.signal(signal.SIGTERM, ask_stop)
    Worker(queue).run(stop)


def gpu_count() -> int:
    """CUDA devices on this machine (0 without torch or CUDA)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count()


def run_processes(command: Sequence[str], slots: Sequence[str | None]) -> int:
    """One worker process per slot (a GPU id: CUDA_VISIBLE_DEVICES set to it; None: as this
    process is), started again when one dies; SIGINT or SIGTERM is passed on to them all and
    ends this once they have stopped. ``command`` starts one worker. The exit status: 0 when
    every worker stopped as asked."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())

    def start(slot: str | None) -> subprocess.Popen:
        env = dict(os.environ)
        if slot is not None:
            env["CUDA_VISIBLE_DEVICES"] = slot
        # Its own process group: a terminal's Ctrl-C reaches the children through this parent
        # only, so each stops after its job, once.
        return subprocess.Popen([sys.executable, *command], env=env, start_new_session=True)

    children = [start(slot) for slot in slots]
    log.info("worker processes %s", ", ".join(str(child.pid) for child in children))
    while not stop.wait(0.5):
        for index, child in enumerate(children):
            if child.poll() is not None:
                log.warning("worker process %d ended (status %s); starting another in %g s",
                            child.pid, child.returncode, RESTART_S)
                if stop.wait(RESTART_S):
                    break
                children[index] = start(slots[index])
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    # A worker still starting when SIGTERM came has no handler yet and ends by it: also clean.
    ended = {child.wait() for child in children}
    return 0 if ended <= {0, -signal.SIGTERM} else 1
