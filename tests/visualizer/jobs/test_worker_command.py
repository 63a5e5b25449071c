"""`gansmania worker` and `gansmania web --broker` as a user runs them: one process per GPU
(each seeing only its own), a clean stop, and one-line errors for what they cannot use."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest

from bench.rigs.processes import stop
from tests.visualizer.jobs.job_helpers import children_of, environment, running
from visualizer.cli import main


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        main(argv)
    return ended.value.code, capsys.readouterr().err


def test_worker_settings_it_cannot_use_are_one_line_errors(tmp_path, capsys):
    data = ["--data", str(tmp_path)]
    assert run_cli(["worker", *data, "--gpus", "0,x"], capsys) == (
        2, "gansmania: error: --gpus '0,x': wants GPU numbers separated by commas, e.g. 0,1\n")
    assert run_cli(["worker", *data, "--gpus", "0", "--processes", "2"], capsys) == (
        2, "gansmania: error: --gpus and --processes: give one of them\n")
    code, said = run_cli(["worker", *data, "--broker", "amqp://queue:5672"], capsys)
    assert (code, said) == (2, "gansmania: error: broker 'amqp://queue:5672': unknown scheme; "
                               "allowed: redis://HOST:PORT/DB, rediss://HOST:PORT/DB, "
                               "unix:///PATH\n")


def test_web_with_a_broker_it_cannot_reach_says_so(tmp_path, capsys):
    pytest.importorskip("redis", reason="the redis client is missing: pip install "
                                        "'gansmania[web]'")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    code, said = run_cli(["web", "--data", str(tmp_path), "--port", "0", "--broker", url], capsys)
    assert code == 2
    assert said.startswith(f"gansmania: error: broker {url}: cannot reach it (")
    assert said.count("\n") == 1


def test_one_worker_process_per_gpu_each_seeing_its_own(tmp_path):
    """On this machine without GPUs the workers run on the CPU; what is checked is what each
    process is given (CUDA_VISIBLE_DEVICES) and that SIGTERM ends them all."""
    parent = subprocess.Popen([sys.executable, "-m", "visualizer.cli", "worker", "--data",
                               str(tmp_path), "--gpus", "0,1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        # A child between fork and exec still shows the parent's environment (CI caught one
        # so): wait until both have exec'd, i.e. both carry the variable, then check its values.
        deadline = time.monotonic() + 60
        while True:
            workers = children_of(parent.pid)
            seen = {pid: environment(pid).get("CUDA_VISIBLE_DEVICES") for pid in workers}
            if len(workers) >= 2 and None not in seen.values():
                break
            assert parent.poll() is None, parent.stderr.read().decode()
            assert time.monotonic() < deadline, f"the workers did not start with a GPU: {seen}"
            time.sleep(0.05)
        assert sorted(seen.values()) == ["0", "1"]
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0
    finally:
        stop(parent)
    assert not any(running(pid) for pid in workers)
