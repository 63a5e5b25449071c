"""Test infrastructure: the services a test needs are started by the test, by their own pid.

- ``pulse_server``: a PulseAudio daemon with a null sink (its ``.monitor`` source captures what
  is played into the sink), reachable through ``PULSE_SERVER``.
- ``xvfb_display``: an Xvfb X server, reachable through ``DISPLAY``.
- ``egl_context``: a headless moderngl context on EGL (Mesa llvmpipe here).
- ``isolated_threads``: torch's thread count and the OpenMP variables put back after an
  in-process render or show (they set them, as `live` does).
- markers: ``gpu`` skips with the reason when CUDA is absent; ``slow`` marks long tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.rigs.processes import stop as _stop


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        # The Makefile installs these; a missing one is an install bug, not a reason to skip.
        pytest.fail(f"{binary} is not installed; run `make test`, which installs it")
    return path


@dataclass(frozen=True)
class PulseServer:
    server: str  # value for PULSE_SERVER
    sink: str  # the null sink to play into (paplay --device=SINK)
    monitor: str  # the sink's monitor source, to capture from
    pid: int


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A private PulseAudio daemon with a null sink; PULSE_SERVER points at it meanwhile."""
    binary = _require("pulseaudio")
    _require("pactl")
    runtime = tmp_path_factory.mktemp("pulse")
    socket = runtime / "native"
    sink = "gm_test_sink"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime),
           "HOME": str(runtime)}
    process = subprocess.Popen(
        [binary, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
         "--disable-shm", "--log-target=stderr",
         "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1",
         "-L", f"module-null-sink sink_name={sink} rate=48000 channels=2",
         "-L", "module-always-sink"],
        env=env, stdout=subprocess.DEVNULL, stderr=(runtime / "pulse.log").open("wb"))
    server = f"unix:{socket}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PULSE_SERVER", server)
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                _stop(process)
                pytest.fail("PulseAudio did not start: "
                            + (runtime / "pulse.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-sink", sink], check=True)
        subprocess.run(["pactl", "set-default-source", f"{sink}.monitor"], check=True)
        try:
            yield PulseServer(server=server, sink=sink, monitor=f"{sink}.monitor", pid=process.pid)
        finally:
            _stop(process)


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """An Xvfb display (1920x1080, 24 bit, GLX on llvmpipe); DISPLAY points at it meanwhile."""
    binary = _require("Xvfb")
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [binary, "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp",
         "+extension", "GLX", "+render", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        _stop(process)
        pytest.fail("Xvfb did not report a display number")
    display = f":{number}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISPLAY", display)
        mp.delenv("WAYLAND_DISPLAY", raising=False)
        try:
            yield display
        finally:
            _stop(process)


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """XDG_CACHE_HOME in a temporary folder for the whole run (subprocesses inherit it): the
    engine cache (`--backend auto` exports ONNX graphs) never touches the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("xdg-cache")
        mp.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


@pytest.fixture
def egl_context():
    """A headless moderngl context on EGL; released after the test."""
    import moderngl

    ctx = moderngl.create_standalone_context(backend="egl")
    try:
        yield ctx
    finally:
        ctx.release()


@pytest.fixture
def isolated_threads(monkeypatch: pytest.MonkeyPatch):
    """Renders in this process set torch's thread count and OpenMP variables (as `live` does):
    put them back afterwards so later tests run as they would alone."""
    import torch

    for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any("gpu" in item.keywords for item in items):
        return
    try:
        import torch

        reason = None if torch.cuda.is_available() else "CUDA is not available on this machine"
    except ImportError:
        reason = "torch is not installed"
    if reason:
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
