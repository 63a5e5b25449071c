"""What an audio source is: the `AudioSource` protocol, its status, and the capture clock.

A source writes into a `RingBuffer` (all its channels, float32) and can say when each sample
was captured. It never raises once running: failures show in `status`, and a live input
retries on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from visualizer.core.ring import RingBuffer

SourceState = Literal["starting", "running", "failed", "finished", "stopped"]


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    message: str = ""  # why it failed, or what is playing
    reopen_count: int = 0  # successful reopens after a failure


class AudioSource(Protocol):
    name: str  # for the HUD and the log
    ring: RingBuffer  # (frames, channels) float32 samples, written by the source
    sample_rate: int  # Hz; fixed once `start` returns
    channels: int  # channels in the ring

    def start(self) -> None:
        """Open and start delivering; a bad device or file raises GansmaniaError (one line)."""

    def stop(self) -> None: ...

    @property
    def status(self) -> SourceStatus: ...

    def time_of(self, n: int) -> float:
        """Capture time (time.monotonic() s) of the sample just before ring index ``n``."""


class CaptureClock:
    """Maps ring indices to capture times from (index, callback time) observations.

    A callback runs a little after its audio was captured, by a varying amount. Over the last
    ``size`` observations, the one with the least lateness gives the offset; sample counting
    gives the rest. The callback only stores two numbers (no allocation, no lock).

    The driver's reported input latency is not subtracted: it is the age of the *oldest* sample
    of a buffer, while the least-late callback already dates the newest one. Subtracting it
    stamped clicks 12.7 ms early on a PulseAudio monitor, filmed from outside the program
    (bench/latency_rig.py: -1.9 ms without it), and made beat-locked flashes land early.
    """

    def __init__(self, *, sample_rate: int, size: int = 64) -> None:
        self.sample_rate = sample_rate
        self._observations = np.full((size, 2), np.nan)  # rows: (callback time, index)
        self._count = 0

    def observe(self, n: int, t: float) -> None:
        """Called from the audio callback: ``n`` samples have arrived by time ``t``."""
        self._observations[self._count % self._observations.shape[0]] = (t, n)
        self._count += 1

    def reset(self) -> None:
        """Forget all observations (a reopened device starts a new timeline)."""
        self._observations.fill(np.nan)
        self._count = 0

    def time_of(self, n: int) -> float:
        if self._count == 0:  # nothing captured yet
            return time.monotonic()
        times, indices = self._observations[:, 0], self._observations[:, 1]
        offset = np.nanmin(times - indices / self.sample_rate)
        return float(offset + n / self.sample_rate)
