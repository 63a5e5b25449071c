"""Hot reload's eyes: poll files' modification stamps and report the ones that changed.

Polling a handful of ``os.stat`` calls four times a second costs microseconds and behaves the
same on every filesystem (inotify misses edits on network shares and some container mounts).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_Stamp = tuple[int, int, int]  # (inode, mtime_ns, size): editors that save by rename change the inode


def _stamp(path: Path) -> _Stamp | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None  # missing for now (an editor mid-save): report it when it is back
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class FileWatcher:
    """Reports watched files whose stamp changed since the last poll (the caller sets the pace)."""

    def __init__(self) -> None:
        self._stamps: dict[Path, _Stamp | None] = {}

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self._stamps)

    def watch(self, paths: Iterable[Path]) -> None:
        """Watch exactly ``paths`` from now on; files already watched keep their stamp."""
        wanted = [Path(p) for p in paths]
        self._stamps = {p: self._stamps[p] if p in self._stamps else _stamp(p) for p in wanted}

    def poll(self) -> list[Path]:
        """The watched files that changed (and exist) since the last poll."""
        changed = []
        for path, old in self._stamps.items():
            new = _stamp(path)
            if new is None:
                continue
            if new != old:
                self._stamps[path] = new
                changed.append(path)
        return changed
