"""`LatestSlot`: hand the newest value from one thread to another, dropping stale ones.

The producer never waits for the consumer (a renderer that stalls must not stall the audio
analysis); the consumer either takes whatever is newest or waits for something newer.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds one value and a version that counts every `put`."""

    def __init__(self) -> None:
        self._value: T | None = None
        self._version = 0
        self._changed = threading.Condition(threading.Lock())

    def put(self, value: T) -> None:
        with self._changed:
            self._value = value
            self._version += 1
            self._changed.notify_all()

    def get(self) -> T | None:
        """The newest value (None before the first `put`)."""
        return self._value

    @property
    def version(self) -> int:
        return self._version

    def get_with_version(self) -> tuple[T | None, int]:
        with self._changed:
            return self._value, self._version

    def wait_newer(self, version: int, *, timeout_s: float) -> tuple[T | None, int]:
        """Wait up to ``timeout_s`` for a value newer than ``version``; return (value, version).

        On timeout the current (possibly unchanged) value and version come back.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._version > version, timeout=timeout_s)
            return self._value, self._version
