"""Live capture through PyAudio from a real PulseAudio null sink's monitor: clicks played
with paplay arrive as onsets at the right wall-clock time; a missing device is a one-line
error; a device that vanishes turns into silence and is reopened when it returns."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.signals import SR, clicks_at, write_wav
from visualizer.audio.analyzer import Analyzer
from visualizer.audio.features import ExtractorSettings
from visualizer.audio.frames import SILENCE_DB
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


def start_pulse(runtime: Path) -> subprocess.Popen:
    binary = shutil.which("pulseaudio")
    if binary is None:
        pytest.fail("pulseaudio is not installed; run `make test`, which installs it")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime),
           "HOME": str(runtime)}
    process = subprocess.Popen(
        [binary, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
         "--disable-shm", "-L", f"module-native-protocol-unix socket={runtime / 'native'} "
         "auth-anonymous=1", "-L", "module-null-sink sink_name=vanishing rate=48000 channels=2",
         "-L", "module-always-sink"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("private PulseAudio daemon did not start")
        time.sleep(0.1)
    return process


def stop_pulse(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_a_vanishing_device_falls_to_silence_and_comes_back(tmp_path, monkeypatch):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'native'}")
    daemon = start_pulse(tmp_path)
    analyzer = Analyzer(LiveInput("pulse:vanishing.monitor", retry_s=0.5),
                        ExtractorSettings(hop=256))
    try:
        analyzer.start()
        assert collect(analyzer, 0.5), "no frames while the device works"
        stop_pulse(daemon)  # the device disappears mid-show
        deadline = time.monotonic() + 10
        while analyzer.status.state != "failed" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert analyzer.status.state == "failed"
        cpu_before = time.process_time()
        silent = collect(analyzer, 1.0)
        # the dead stream is aborted, not left to PortAudio's thread (which can spin on a
        # vanished PulseAudio server, printing to stderr, until the process ends)
        assert time.process_time() - cpu_before < 0.5
        assert silent and all(f.rms_db == SILENCE_DB for f, _ in silent)
        assert all(abs(f.t_audio - seen) < 0.5 for f, seen in silent)  # still in real time
        daemon = start_pulse(tmp_path)  # ... and returns
        deadline = time.monotonic() + 20
        while analyzer.status.state != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert analyzer.status.state == "running"
        assert analyzer.status.reopen_count == 1
    finally:
        analyzer.stop()
        stop_pulse(daemon)
