"""Where job outputs go: a folder every worker and the web process can reach (this machine's
disk, or a mount all machines share).

Each attempt at a job writes into a folder of its own, ``jobs/<job id>/<attempt>/``; the record
that says "done" names the attempt's file, and the other attempts' folders (a worker taken for
dead that was only slow) are removed. So a job run twice still ends with one file, and a reader
never sees a half-written one under the finished name.

The same four calls fit an S3-compatible bucket (scratch on local disk, publish = upload,
path -> a presigned URL); that implementation is not written yet.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from visualizer.core.errors import GansmaniaError


class LocalOutputs:
    """Job outputs under ``folder`` (the studio's ``jobs/``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def scratch(self, job_id: str, attempt: str) -> Path:
        """The attempt's own folder, created empty."""
        folder = self.folder / job_id / attempt
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def publish(self, job_id: str, attempt: str, name: str) -> str:
        """The result's key (its path inside the job's folder) once ``name`` is finished."""
        if not (self.folder / job_id / attempt / name).is_file():
            raise GansmaniaError(f"job {job_id}: the job said it wrote {name}, which is not there")
        return f"{attempt}/{name}"

    def discard(self, job_id: str, *, keep: str | None = None) -> None:
        """Remove the job's attempts' files, all but the attempt ``keep``."""
        folder = self.folder / job_id
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
            return
        for attempt in folder.iterdir() if folder.is_dir() else ():
            if attempt.name != keep:
                shutil.rmtree(attempt, ignore_errors=True)

    def discard_attempt(self, job_id: str, attempt: str) -> None:
        shutil.rmtree(self.folder / job_id / attempt, ignore_errors=True)

    def path(self, job_id: str, result: str) -> Path | None:
        """The finished output on this machine; None when it is not (any more) there."""
        path = self.folder / job_id / result
        return path if path.is_file() else None
