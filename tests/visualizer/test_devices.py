"""`gansmania devices` with nothing attached, and with a PulseAudio null sink and an X display."""

import json
import os
import subprocess
import sys


def devices(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # NDI discovery waits 2 s by default; the NDI listing has its own test (tests/visualizer/ndi).
    return subprocess.run([sys.executable, "-m", "visualizer.cli", "devices", "--ndi-wait", "0.2", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def bare_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PULSE_SERVER")}
    # Point PulseAudio clients at nothing, so no session daemon is found or autospawned.
    env["PULSE_SERVER"] = "unix:/nonexistent/gansmania-test"
    return env


def test_without_sound_card_or_display_says_so_and_exits_0():
    result = devices(env=bare_env())
    assert result.returncode == 0, result.stderr
    assert "Audio inputs: none" in result.stdout
    assert "Monitors: no display" in result.stdout


def test_lists_the_null_sink_monitor(pulse_server):
    result = devices()
    assert result.returncode == 0, result.stderr
    assert pulse_server.monitor in result.stdout
    listed = json.loads(devices("--json").stdout)
    assert pulse_server.monitor in [s["name"] for s in listed["pulse_sources"]]
    # PortAudio reaches the daemon through ALSA's pulse plugin.
    assert any(d["name"] in ("pulse", "default") for d in listed["audio_inputs"])


def test_lists_the_xvfb_monitor(xvfb_display):
    listed = json.loads(devices("--json").stdout)
    assert listed["monitors"] and listed["monitors"][0]["width"] == 1920
