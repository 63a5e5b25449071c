"""Test infrastructure: the services a test needs are started by the test, by their own pid.

- ``pulse_server``: a PulseAudio daemon with a null sink (its ``.monitor`` source captures what
  is played into the sink), reachable through ``PULSE_SERVER``.
- ``xvfb_display``: an Xvfb X server, reachable through ``DISPLAY``.
- ``egl_context``: a headless moderngl context on EGL (Mesa llvmpipe here).
- ``isolated_threads``: torch's thread count and the OpenMP variables put back after an
  in-process render or show (they set them, as `live` does).
- ``restored_root_logger`` (every test): the root logger's handlers put back after a command
  ran in-process.
- markers: ``gpu`` skips with the reason when CUDA is absent; ``slow`` marks long tests.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.rigs.processes import PulseServer, ServiceError, pulseaudio, xvfb


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        # The Makefile installs these; a missing one is an install bug, not a reason to skip.
        pytest.fail(f"{binary} is not installed; run `make test`, which installs it")
    return path


@pytest.fixture(scope="session")
def pulse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A private PulseAudio daemon with a null sink; PULSE_SERVER points at it meanwhile, and its
    sink and monitor are the defaults."""
    _require("pulseaudio")
    _require("pactl")
    try:
        with pulseaudio(tmp_path_factory.mktemp("pulse"), sink="gm_test_sink") as daemon, \
                pytest.MonkeyPatch.context() as mp:
            mp.setenv("PULSE_SERVER", daemon.server)
            subprocess.run(["pactl", "set-default-sink", daemon.sink], check=True)
            subprocess.run(["pactl", "set-default-source", daemon.monitor], check=True)
            yield daemon
    except ServiceError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """An Xvfb display (1920x1080, 24 bit, GLX on llvmpipe); DISPLAY points at it meanwhile."""
    _require("Xvfb")
    try:
        with xvfb() as display, pytest.MonkeyPatch.context() as mp:
            mp.setenv("DISPLAY", display)
            mp.delenv("WAYLAND_DISPLAY", raising=False)
            yield display
    except ServiceError as error:
        pytest.fail(str(error))


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


@pytest.fixture(autouse=True)
def restored_root_logger() -> Iterator[None]:
    """A command run in-process (`visualizer.cli.main`) points the root logger at that test's
    captured stderr; put the handlers back after every test, so a later test's threads never
    log into a closed stream ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
