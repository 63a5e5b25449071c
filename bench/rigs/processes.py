"""The helper processes the rigs and the tests start (an X server, a PulseAudio daemon with a null
sink), each stopped by its own pid; `tests/conftest.py` and `bench/latency_rig.py` share them."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A helper service did not start; the message says why (with its log's tail)."""


def stop(process: subprocess.Popen) -> None:
    """Terminate ``process`` if it runs; kill it when it has not ended 5 s later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """An Xvfb server (1920x1080, 24 bit, GLX on llvmpipe) on a free display; yields ":N"."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp",
         "+extension", "GLX", "+render", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise ServiceError("Xvfb did not report a display number")
        yield f":{number}"
    finally:
        stop(process)


@dataclass(frozen=True)
class PulseServer:
    server: str  # value for PULSE_SERVER
    sink: str  # the null sink to play into (paplay --device=SINK)

    @property
    def monitor(self) -> str:
        """The sink's monitor source: capture here to hear what is played into the sink."""
        return f"{self.sink}.monitor"


@contextlib.contextmanager
def pulseaudio(runtime: Path, *, sink: str, rate: int = 48000) -> Iterator[PulseServer]:
    """A private PulseAudio daemon with one null sink, its socket and log in ``runtime``; yields
    once `pactl info` answers (15 s at most)."""
    runtime.mkdir(parents=True, exist_ok=True)
    socket, log = runtime / "native", runtime / "pulse.log"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime),
           "HOME": str(runtime)}
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
             "--disable-shm", "--log-target=stderr",
             "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1",
             "-L", f"module-null-sink sink_name={sink} rate={rate} channels=2",
             "-L", "module-always-sink"],
            env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        server = f"unix:{socket}"
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "--server", server, "info"], capture_output=True).returncode:
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServiceError("PulseAudio did not start: "
                                   + log.read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        yield PulseServer(server=server, sink=sink)
    finally:
        stop(process)
