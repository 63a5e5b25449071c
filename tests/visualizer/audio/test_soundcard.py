"""Live capture through PyAudio from a real PulseAudio null sink's monitor: clicks played
with paplay arrive as onsets at the right wall-clock time; a missing device is a one-line
error; a device that vanishes turns into silence and is reopened when it returns."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.signals import SR, clicks_at, write_wav
from visualizer.audio.analyzer import Analyzer
from visualizer.audio.features import ExtractorSettings
from visualizer.audio.soundcard import LiveInput
from visualizer.core.errors import GansmaniaError

CLICKS_S = np.array([0.5, 1.0, 1.25, 1.75, 2.5])


def collect(analyzer: Analyzer, until_s: float) -> list:
    version, deadline = analyzer.latest.version, time.monotonic() + until_s
    received = []
    while time.monotonic() < deadline:
        frame, version = analyzer.latest.wait_newer(version, timeout_s=0.5)
        if frame is not None:
            received.append((frame, time.monotonic()))
    return received


def test_clicks_played_into_the_sink_arrive_on_time(pulse_server, tmp_path):
    wav = write_wav(tmp_path / "clicks.wav", clicks_at(CLICKS_S, duration_s=3.0))
    analyzer = Analyzer(LiveInput(f"pulse:{pulse_server.monitor}", block=256),
                        ExtractorSettings(hop=256), history_s=20.0)
    analyzer.start()
    try:
        assert analyzer.status.state == "running"
        # Capture must be flowing before playing: PulseAudio holds back what is played into a
        # sink nobody listens to yet (ALSA's pulse plugin can take ~2 s to start).
        deadline = time.monotonic() + 10
        while analyzer.source.ring.written < 0.3 * SR and time.monotonic() < deadline:
            time.sleep(0.05)
        played_at = time.monotonic()
        player = subprocess.Popen(["paplay", f"--device={pulse_server.sink}", str(wav)])
        received = collect(analyzer, 4.0)
        player.wait(timeout=10)
        frames = analyzer.history.snapshot()  # every frame; `latest` skips to the newest
    finally:
        analyzer.stop()
    onsets = np.array([f.t_audio for f in frames if f.onset and f.t_audio > played_at])
    onsets -= played_at
    assert len(onsets) == len(CLICKS_S), f"onsets at {onsets}, clicks at {CLICKS_S}"
    # Intervals between clicks survive capture to within a hop and a half ...
    np.testing.assert_allclose(np.diff(onsets), np.diff(CLICKS_S), atol=1.5 * 256 / SR)
    # ... and t_audio agrees with the wall clock: after paplay started, within its latency.
    lateness = onsets - CLICKS_S
    assert np.all(lateness > -0.02) and np.all(lateness < 0.5), lateness
    # A frame is never stamped later than the moment it was published.
    assert all(frame.t_audio <= seen + 1e-3 for frame, seen in received)


def test_a_missing_device_is_a_one_line_error(pulse_server):
    with pytest.raises(GansmaniaError) as info:
        LiveInput("no-such-sound-card-xyz").start()
    message = str(info.value)
    assert "no-such-sound-card-xyz" in message and "\n" not in message
    assert "pulse" in message  # the message lists what there is


@pytest.mark.slow
def test_a_vanishing_device_falls_to_silence_and_comes_back(tmp_path):
    # In a process of its own: when the PulseAudio server dies, PortAudio's ALSA thread can spin
    # and print to stderr; the product must abort it (checked below by the CPU and the size of
    # stderr), and if it ever does not, the spin is one failed test, not gigabytes of captured
    # output taking the whole test run down.
    if shutil.which("pulseaudio") is None:
        pytest.fail("pulseaudio is not installed; run `make test`, which installs it")
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stderr:
        worker = subprocess.run([sys.executable, "-m", "tests.visualizer.audio.vanishing_worker",
                                 str(tmp_path)], stdout=subprocess.PIPE, stderr=stderr, text=True,
                                timeout=120, cwd=Path(__file__).resolve().parents[3])
    tail = errors.read_bytes()[-2000:].decode(errors="replace")
    assert worker.returncode == 0, tail
    seen = json.loads(worker.stdout.strip().splitlines()[-1])
    assert seen["frames_while_working"] > 0, "no frames while the device works"
    assert seen["state_after_loss"] == "failed"
    # The dead stream is aborted, not left to PortAudio's thread: no CPU, no flood of messages.
    assert seen["cpu_s_while_failed"] < 0.5
    assert errors.stat().st_size < 1_000_000, tail
    assert seen["silent_frames"] > 0 and seen["all_silent"]
    assert seen["worst_lag_s"] < 0.5  # still in real time
    assert seen["state_after_return"] == "running"
    assert seen["reopen_count"] == 1
