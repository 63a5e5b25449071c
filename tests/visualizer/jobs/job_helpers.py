"""Reading the processes a test started: worker processes from /proc (no psutil here), and
`gansmania web`'s banner."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def children_of(pid: int) -> set[int]:
    """The running (not zombie) processes whose parent is ``pid``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended while we looked
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def environment(pid: int) -> dict[str, str]:
    """``pid``'s environment; empty when it ended while we looked."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.decode().partition("=")[::2] for item in raw.split(b"\0") if item)


def web_banner(web: subprocess.Popen) -> tuple[str, list[str]]:
    """(base URL, the lines printed) once `gansmania web` (stdout piped, text) says where jobs
    wait; an ended process fails the test with what it printed."""
    lines: list[str] = []
    while not lines or not lines[-1].startswith("jobs wait for"):
        assert web.poll() is None, "".join(lines)
        lines.append(web.stdout.readline())
    return re.search(r"http://\S+/", "".join(lines)).group(0), lines
