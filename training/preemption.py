"""Stopping a training run on SIGTERM without losing it: what spot/preemptible instances, `docker
stop`, Kubernetes and torchrun (which forwards its own SIGTERM to every worker) send before they
kill a process. The handler only raises a flag; the loop finishes the iteration it is in, all
ranks agree on stopping after that same iteration, rank 0 writes a resumable state, and every
process exits with 143 (128 + SIGTERM) so a restart loop knows to run `--resume auto` again.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import torch

from visualizer.core.errors import GansmaniaError

STOP_SIGNALS = (signal.SIGTERM,)


class Interrupted(GansmaniaError):
    """The run stopped on a signal after writing a resumable state. ``stopped``: where and how
    (kept apart, so that a caller that started the run, such as a lineage, can say how to go on)."""

    exit_code = 128 + signal.SIGTERM

    def __init__(self, stopped: str, *, go_on: str = "continue with --resume auto") -> None:
        super().__init__(f"{stopped}; {go_on}")
        self.stopped = stopped


class StopOnSignal:
    """Between ``install`` and ``uninstall``, SIGTERM sets ``requested`` instead of killing the
    process.

    Outside the main thread (a run started by a job worker thread) Python cannot install signal
    handlers; the run then simply never sees a request.
    """

    def __init__(self) -> None:
        self.requested = False
        self.signal_name = ""
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        self.signal_name = signal.Signals(signum).name

    def install(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def agreed(self, *, world: int, device: torch.device) -> bool:
        """True on every rank when any rank was asked to stop (a collective: call it on all ranks
        at the same iteration). One rank may see the signal an iteration before another; the
        maximum makes them all stop after the same step, so the state is consistent."""
        if world == 1:
            return self.requested
        flag = torch.tensor([int(self.requested)], device=device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return bool(flag.item())


def ignore_stop_signals(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: image workers leave SIGTERM to the training process, which
    shuts them down itself once the state is written (a worker killed first would make the
    loader raise in the middle of the step being finished)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
