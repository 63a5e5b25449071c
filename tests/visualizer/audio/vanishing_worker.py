"""The vanishing-device scenario of test_soundcard, in a process of its own.

Run as ``python -m tests.visualizer.audio.vanishing_worker RUNTIME_DIR``: starts a private
PulseAudio daemon in RUNTIME_DIR, captures its null sink's monitor, kills the daemon mid-show,
watches the input fall to silence, starts the daemon again and watches it come back. Prints
one JSON line of what it saw; the test judges it (and the size of this process's stderr).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.visualizer.audio.test_soundcard import collect
from visualizer.audio.analyzer import Analyzer
from visualizer.audio.features import ExtractorSettings
from visualizer.audio.frames import SILENCE_DB
from visualizer.audio.soundcard import LiveInput


def start_pulse(runtime: Path) -> subprocess.Popen:
    binary = shutil.which("pulseaudio")
    if binary is None:
        raise SystemExit("pulseaudio is not installed")
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
            raise SystemExit("private PulseAudio daemon did not start")
        time.sleep(0.1)
    return process


def stop_pulse(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def wait_for(analyzer: Analyzer, state: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while analyzer.status.state != state and time.monotonic() < deadline:
        time.sleep(0.05)
    return analyzer.status.state


def main() -> None:
    runtime = Path(sys.argv[1])
    os.environ["PULSE_SERVER"] = f"unix:{runtime / 'native'}"
    daemon = start_pulse(runtime)
    analyzer = Analyzer(LiveInput("pulse:vanishing.monitor", retry_s=0.5),
                        ExtractorSettings(hop=256))
    seen: dict = {}
    try:
        analyzer.start()
        seen["frames_while_working"] = len(collect(analyzer, 0.5))
        stop_pulse(daemon)  # the device disappears mid-show
        seen["state_after_loss"] = wait_for(analyzer, "failed", 10.0)
        cpu_before = time.process_time()
        silent = collect(analyzer, 1.0)
        seen["cpu_s_while_failed"] = time.process_time() - cpu_before
        seen["silent_frames"] = len(silent)
        seen["all_silent"] = all(frame.rms_db == SILENCE_DB for frame, _ in silent)
        seen["worst_lag_s"] = max((abs(frame.t_audio - at) for frame, at in silent), default=0.0)
        daemon = start_pulse(runtime)  # ... and returns
        seen["state_after_return"] = wait_for(analyzer, "running", 20.0)
        seen["reopen_count"] = analyzer.status.reopen_count
    finally:
        analyzer.stop()
        stop_pulse(daemon)
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
