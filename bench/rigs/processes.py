"""Stopping the helper processes the rigs and the tests start (Xvfb, PulseAudio, ffmpeg...)."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen) -> None:
    """Terminate ``process`` if it runs; kill it when it has not ended 5 s later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
