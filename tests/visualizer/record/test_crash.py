"""A recording process that dies or hits the disk's limit still leaves a playable file.

The process under test is `tests.visualizer.record.record_worker`: a stand-in show that feeds
the real recorder in real time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.visualizer.record.media import ffprobe, playable_seconds, stream

ROOT = Path(__file__).resolve().parents[3]


def start_worker(out: Path, *args: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.visualizer.record.record_worker", str(out), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if line.strip() != "recording":
        process.kill()
        pytest.fail(f"the worker did not start: {line}{process.stderr.read()}")
    return process


@pytest.mark.slow
@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_a_recording_killed_after_5_s_plays_back(tmp_path: Path, container: str) -> None:
    out = tmp_path / f"killed.{container}"  # the suffix picks the container
    process = start_worker(out)
    time.sleep(5.0)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    info = ffprobe(out)
    assert stream(info, "video")["codec_name"] == "h264"
    assert stream(info, "audio")["codec_name"] == "aac"
    if container == "mp4":  # Matroska headers carry no duration until the file is finished
        assert float(info["format"]["duration"]) >= 4.0
    assert playable_seconds(out) >= 4.0


def test_a_write_refused_by_the_kernel_stops_only_the_recording(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes write() fail past 700 kB, as a full disk would (EFBIG, not ENOSPC)."""
    out = tmp_path / "limited.mp4"
    process = start_worker(out, "--seconds", "20", "--fsize-limit", "700000")
    stdout, stderr = process.communicate(timeout=60)
    # The process went on and ended normally; the recording reported why it stopped.
    assert process.returncode == 0, stderr
    state, line = stdout.splitlines()[0], stdout.splitlines()[1]
    assert state.startswith("failed ") and "recording stopped: file too large" in state
    assert line == "callback " + state.split(" ", 2)[2]
    assert out.stat().st_size <= 700000
    assert playable_seconds(out) >= 0.9  # whole fragments, the torn end cut off
