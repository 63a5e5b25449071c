"""Files replaced in one step (a reader, or a crash, sees the old file or the new, never half),
and folders one process at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from visualizer.core.errors import GansmaniaError


@contextlib.contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to. When the block ends without an error it
    replaces ``path`` with one rename; otherwise it is deleted and ``path`` stays as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target (same filesystem, so the rename is atomic); hidden, with the pid, so
    # two processes writing the same file do not write into each other's temporary.
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_folder(folder: Path, *, lock_name: str, busy: str) -> Iterator[None]:
    """Hold ``folder/lock_name`` exclusively while the block runs; when another process holds
    it, stop with ``GansmaniaError(f"{folder}: {busy}")``. The lock dies with the process, so a
    killed run never leaves it behind."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / lock_name, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GansmaniaError(f"{folder}: {busy}") from None
        yield
