"""A run stopped by SIGTERM in the middle of a tick (a spot instance being reclaimed) writes a
resumable state there and exits 143; `--resume auto` then reaches the same G, G_ema, D, optimiser
moments, augment p, path-length means and RNG states, bit for bit, as a run that was never
stopped. One process (in this one, fast), and two CPU processes under torchrun (SIGTERM to the
torchrun agent, which forwards it to its workers, as on a preempted node)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from tests.training.training_runs import procedural_data, train_args
from training import run_state
from training.checkpoint import load_checkpoint
from visualizer.cli import main

TICK_KIMG = 0.12  # 15 iterations of 8 per tick
# ADA with a low target so p moves (and its sign counters are mid-interval when the run stops).
SETTINGS = ["--tick", str(TICK_KIMG), "--target", "0.05", "--set", "augment.interval=3"]
KIMG = 0.3  # ticks end at 0.12, 0.24 and (done) 0.304 kimg
FINAL_STATE = "training-state-000000-000003.safetensors"
TICK_2_NETWORK = "network-snapshot-000000-000002.safetensors"  # where tick 2 ends shows in it


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return procedural_data(tmp_path_factory.mktemp("data"))


def run_args(data: Path, out: Path, *extra: str) -> list[str]:
    args = train_args(data, out, ticks=1, extra=[*SETTINGS, *extra])
    args[args.index("--kimg") + 1] = str(KIMG)
    return args


def sigterm_in_tick_2(out: Path, *, send: Callable[[], None], alive: Callable[[], bool]) -> None:
    """A third of a tick after tick 1's snapshot is complete, ``send`` SIGTERM. The tick is timed
    here, so the signal lands in the middle of tick 2 however fast the machine is (one during the
    snapshot would stop at the tick's end). Gives up quietly when the run is no longer ``alive``."""
    ticking = wait_for(out / "reals.png", alive)  # written just before the first iteration
    snapped = wait_for(out / "fakes-000000-000001.png", alive)  # what a snapshot writes last
    if ticking is not None and snapped is not None:
        time.sleep((snapped - ticking) / 3)
        send()


def wait_for(path: Path, alive: Callable[[], bool]) -> float | None:
    """When ``path`` appeared (time.monotonic); None if the run ended or 240 s passed first."""
    deadline = time.monotonic() + 240
    while not path.exists():
        if not alive() or time.monotonic() > deadline:
            return None
        time.sleep(0.01)
    return time.monotonic()


@contextmanager
def sigterm_to_this_process_in_tick_2(out: Path):
    """While inside, a thread SIGTERMs this (pytest) process in tick 2 of the run writing ``out``;
    outside the training loop's own handler a stray signal is ignored, never fatal."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    running = threading.Event()
    running.set()
    thread = threading.Thread(target=sigterm_in_tick_2, args=(out,), daemon=True, kwargs={
        "send": lambda: os.kill(os.getpid(), signal.SIGTERM), "alive": running.is_set})
    thread.start()
    try:
        yield
    finally:
        running.clear()
        thread.join()
        signal.signal(signal.SIGTERM, previous)


def stopped_in_tick_2(command: list[str], out: Path) -> subprocess.CompletedProcess:
    """Run ``command``, SIGTERM it in tick 2, return how it ended."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sigterm_in_tick_2(out, send=lambda: process.send_signal(signal.SIGTERM),
                          alive=lambda: process.poll() is None)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def assert_stopped_mid_tick(out: Path) -> None:
    newest = run_state.list_states(out)[-1]
    assert newest.name.endswith("-000001-interrupted.safetensors")
    counters = run_state.load_state(newest).counters
    assert counters.cur_tick == 1 and 0 < counters.tick_nimg < TICK_KIMG * 1000  # mid-tick 2


def assert_same_run(a: Path, b: Path) -> None:
    """Same final state, and the resumed tick 2 ended where the unstopped one did."""
    network_a, network_b = load_checkpoint(a / TICK_2_NETWORK), load_checkpoint(b / TICK_2_NETWORK)
    assert network_a.training["kimg"] == network_b.training["kimg"] == 2 * TICK_KIMG
    for key, tensor in network_a.groups["G_ema"].tensors.items():
        assert torch.equal(tensor, network_b.groups["G_ema"].tensors[key]), f"tick 2 G_ema.{key}"
    a, b = a / FINAL_STATE, b / FINAL_STATE
    state_a, state_b = load_checkpoint(a), load_checkpoint(b)
    for group in ("G", "D", "G_ema", "opt_G", "opt_D", "state"):
        tensors_a, tensors_b = state_a.groups[group].tensors, state_b.groups[group].tensors
        assert tensors_a.keys() == tensors_b.keys()
        for key in tensors_a:
            assert torch.equal(tensors_a[key], tensors_b[key]), f"{group}.{key} differs"
    counters_a, counters_b = (run_state.load_state(p).counters for p in (a, b))
    timeless = {"wall_s": 0.0, "cpu_s": 0.0}
    assert counters_a.__class__(**{**counters_a.__dict__, **timeless}) == \
        counters_b.__class__(**{**counters_b.__dict__, **timeless})
    assert float(state_a.groups["state"].tensors["augment_p"]) > 0  # ADA really moved p


def test_an_interrupted_state_sorts_between_its_tick_and_the_next(tmp_path):
    names = ["training-state-000000-000002.safetensors",
             "training-state-000000-000001-interrupted.safetensors",
             "training-state-000000-000001.safetensors", "training-state-000000-000003.txt"]
    for name in names:
        (tmp_path / name).touch()
    assert [p.name for p in run_state.list_states(tmp_path)] == [names[2], names[1], names[0]]
    assert run_state.state_name(run_state.Counters(cur_nimg=168, cur_tick=1, tick_nimg=48)) == names[1]
    assert run_state.state_name(run_state.Counters(cur_nimg=240, cur_tick=2)) == names[0]


def run_in_process(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code


def test_sigterm_mid_tick_then_resume_equals_an_unstopped_run(data, tmp_path, capfd):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert run_in_process(run_args(data, straight)) == 0

    with sigterm_to_this_process_in_tick_2(stopped):
        code = run_in_process(run_args(data, stopped))
    err = capfd.readouterr().err
    assert code == 143, err[-3000:]  # 128 + SIGTERM: a restart loop runs --resume auto again
    assert "stopped by SIGTERM" in err and "continue with --resume auto" in err
    assert_stopped_mid_tick(stopped)

    assert run_in_process(run_args(data, stopped, "--resume", "auto")) == 0
    assert "-interrupted.safetensors at 0." in capfd.readouterr().err  # resumed from it
    assert_same_run(straight, stopped)


TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


@pytest.fixture(scope="module")
def unstopped_two_process_run(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "run"
    done = subprocess.run([*TORCHRUN, "--standalone", "--nproc-per-node=2", "-m", "visualizer.cli",
                           *run_args(data, out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
def test_sigterm_to_torchrun_mid_tick_then_resume_equals_an_unstopped_run(
        data, tmp_path, unstopped_two_process_run):
    stopped = tmp_path / "stopped"
    torchrun = [*TORCHRUN, "--standalone", "--nproc-per-node=2", "-m", "visualizer.cli"]
    result = stopped_in_tick_2([*torchrun, *run_args(data, stopped)], stopped)
    # torchrun itself exits 1 on a signal, after its workers wrote the state and exited 143
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.count("stopped by SIGTERM") == 2  # it forwarded the signal to both
    assert_stopped_mid_tick(stopped)
    assert run_state.load_state(run_state.list_states(stopped)[-1]).extra("rng").shape[0] == 2
    resumed = subprocess.run([*torchrun, *run_args(data, stopped, "--resume", "auto")],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_run(unstopped_two_process_run, stopped)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def two_nodes(args: list[str]) -> list[subprocess.Popen]:
    """The README's multi-node launch, both "nodes" on this machine: two torchrun agents, one
    process each, meeting at a c10d rendezvous on a loopback port."""
    launch = [*TORCHRUN, "--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
              f"--rdzv-endpoint=127.0.0.1:{free_port()}", "--rdzv-id=preemption-test",
              "-m", "visualizer.cli", *args]
    return [subprocess.Popen(launch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]


def finish(nodes: list[subprocess.Popen]) -> list[subprocess.CompletedProcess]:
    try:
        outputs = [node.communicate(timeout=300) for node in nodes]
        return [subprocess.CompletedProcess(node.args, node.returncode, *output)
                for node, output in zip(nodes, outputs)]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
                node.wait()


@pytest.mark.slow
def test_a_preempted_node_stops_both_nodes_consistently_and_they_resume_exactly(
        data, tmp_path, unstopped_two_process_run):
    """Only the preempted machine gets SIGTERM: the other node's process learns of it at the
    next iteration and stops after the same one."""
    stopped = tmp_path / "stopped"
    node0, node1 = nodes = two_nodes(run_args(data, stopped, "--resume", "auto"))
    sigterm_in_tick_2(stopped, send=lambda: node1.send_signal(signal.SIGTERM),
                      alive=lambda: node0.poll() is None and node1.poll() is None)
    first, second = finish(nodes)
    assert "stopped by SIGTERM" in second.stderr, second.stderr[-3000:]
    assert "stopped by a signal on another process" in first.stderr, first.stderr[-3000:]
    assert_stopped_mid_tick(stopped)

    resumed = finish(two_nodes(run_args(data, stopped, "--resume", "auto")))
    assert [node.returncode for node in resumed] == [0, 0], resumed[0].stderr[-3000:]
    assert_same_run(unstopped_two_process_run, stopped)
