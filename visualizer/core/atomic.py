"""Files replaced in one step: a reader (or a crash) sees the old file or the new, never half."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


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
