"""Preallocated rings: `RingBuffer` for audio samples, `History` for the last N objects.

`RingBuffer` is single-producer/single-consumer and lock-free: the audio callback writes with
one copy, the analysis thread reads with one copy. Positions are running totals (Python ints,
assigned atomically under the GIL), so neither side ever waits for the other.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


class RingBuffer:
    """A fixed ring of ``capacity`` frames x ``channels`` float32 samples.

    The writer never blocks: when the reader falls more than ``capacity`` frames behind, the
    oldest audio is overwritten and the reader skips forward to the oldest frame still intact
    (counted in ``overruns``), because a live show wants the newest audio, not all of it.
    """

    def __init__(self, *, capacity: int, channels: int = 1) -> None:
        if capacity < 1 or channels < 1:
            raise ValueError(f"capacity and channels must be >= 1, got {capacity}, {channels}")
        self.capacity = capacity
        self.channels = channels
        self._data = np.zeros((capacity, channels), dtype=np.float32)
        self._written = 0  # frames ever written (the writer's position)
        self._read = 0  # frames ever consumed (the reader's position)
        self.overruns = 0  # times the reader lost audio because it fell behind

    @property
    def written(self) -> int:
        """Frames written since creation (or the last `reset`)."""
        return self._written

    @property
    def read_position(self) -> int:
        """Frames consumed or skipped by the reader: the stream index after the last read."""
        return self._read

    @property
    def available(self) -> int:
        """Frames written but not read yet (at most ``capacity``)."""
        return min(self._written - self._read, self.capacity)

    def write(self, block: np.ndarray) -> None:
        """Copy ``block`` (shape (n, channels), or (n,) when channels == 1) into the ring.

        Allocates nothing: the copy lands in at most two slices of the preallocated array.
        """
        frames = block.shape[0]
        if frames > self.capacity:  # only the newest `capacity` frames can survive anyway
            block = block[frames - self.capacity:]
            self._written += frames - self.capacity
            frames = self.capacity
        data = self._data if block.ndim == 2 else self._data[:, 0]
        start = self._written % self.capacity
        first = min(frames, self.capacity - start)
        data[start:start + first] = block[:first]
        if first < frames:
            data[:frames - first] = block[first:]
        self._written += frames  # published last, so the reader never sees a half-copied block

    def read(self, out: np.ndarray) -> bool:
        """Copy the oldest ``len(out)`` unread frames into ``out`` and consume them.

        ``out`` has shape (n, channels). Returns False (and copies nothing) when fewer than n
        frames are waiting.
        """
        frames = out.shape[0]
        written = self._written
        if written - self._read > self.capacity:
            self.overruns += 1
            self._read = written - self.capacity
        if written - self._read < frames:
            return False
        start = self._read % self.capacity
        first = min(frames, self.capacity - start)
        out[:first] = self._data[start:start + first]
        if first < frames:
            out[first:] = self._data[:frames - first]
        if self._written - self._read > self.capacity:
            # The writer lapped us while we copied: what we copied is partly newer audio.
            # Treat it as an overrun; the caller still gets a full, if spliced, block.
            self.overruns += 1
            self._read = self._written - self.capacity
        else:
            self._read += frames
        return True

    def reset(self) -> None:
        """Forget everything (the writer must be stopped)."""
        self._data.fill(0.0)
        self._written = self._read = 0


class History(Generic[T]):
    """The last ``capacity`` items, oldest first; thread-safe (one short lock per call)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._items: list[T | None] = [None] * capacity
        self._count = 0
        self._lock = threading.Lock()

    def append(self, item: T) -> None:
        with self._lock:
            self._items[self._count % self.capacity] = item
            self._count += 1

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    def snapshot(self, last: int | None = None) -> list[T]:
        """The newest ``last`` items (all kept when None), oldest first."""
        with self._lock:
            count, items = self._count, list(self._items)
        n = min(count, self.capacity, self.capacity if last is None else max(last, 0))
        return [items[i % self.capacity] for i in range(count - n, count)]  # type: ignore[misc]

    def extend(self, items: Sequence[T]) -> None:
        for item in items:
            self.append(item)
