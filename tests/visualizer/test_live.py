"""`gansmania live` end to end: headless EGL with a click track played in real time, a small
random-weight model, the real analyzer, controller, worker and render loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.visualizer.backends.models import FailingGenerator, SlowGenerator, small_checkpoint, small_generator
from tests.visualizer.live_helpers import click_track, frame_difference, headless_app, show_config
from visualizer.backends.torch_backend import TorchGenerator
from visualizer.core.config import load_config
from visualizer.settings import ShowConfig

GANSMANIA = [sys.executable, "-m", "visualizer.cli"]


def run_cli(*args: str, env: dict | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*GANSMANIA, *args], capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, **(env or {})})


def test_without_a_model_it_says_so_in_one_line(tmp_path, repo_root):
    data = tmp_path / "data"  # an install with the bundled presets and shaders but no model
    (data / "models").mkdir(parents=True)
    for folder in ("shaders", "presets"):
        (data / folder).symlink_to(repo_root / folder)
    result = run_cli("live", "--headless", "--duration", "1", env={"GANSMANIA_DATA": str(data)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gansmania: error: no bundled default model yet (models/default.safetensors is missing): "
        "pass --model PATH (a .safetensors checkpoint from `gansmania train`, or an NVlabs .pkl)"]


def test_a_clean_view_that_cannot_open_is_refused_in_one_line_before_the_model_loads(xvfb_display):
    result = run_cli("live", "--headless", "--clean-monitor", "0")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gansmania: error: display.clean_monitor = 0 asks for a second window, and headless "
        "(--headless) has no windows: drop one of them"]
    result = run_cli("live", "--clean-monitor", "1", "--clean-size", "640x360",
                     "--model", "no-such-model.safetensors")  # the monitor is named first
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gansmania: error: display.clean_monitor = 1: no such monitor; connected: 0 (screen "
        "1920x1080) (see `gansmania devices`)"]


def test_headless_run_writes_plausible_stats_and_the_resolved_config(tmp_path):
    audio, clicks = click_track(tmp_path / "click.wav", bpm=120.0, duration_s=6.0, first_s=0.5)
    model = small_checkpoint(tmp_path / "small.safetensors")
    stats_path = tmp_path / "s.json"
    duration_s = 5.0
    result = run_cli("live", "--headless", "--model", str(model), "--input", str(audio),
                     "--duration", str(duration_s), "--stats", str(stats_path), "--size", "256x144")
    assert result.returncode == 0, result.stderr
    stats = json.loads(stats_path.read_text())
    assert set(stats) >= {"display_fps", "gen_fps", "frames_displayed", "frames_generated",
                          "frames_dropped", "latency_ms", "onsets", "bpm"}
    assert stats["frames_displayed"] == pytest.approx(stats["display_fps"] * stats["duration_s"], abs=1)
    assert 0 < stats["frames_generated"] and 0 <= stats["frames_dropped"] < stats["frames_generated"]
    assert 0 < stats["latency_ms"]["median"] <= stats["latency_ms"]["p95"] < 1000
    assert duration_s - 0.5 <= stats["audio_s"] <= 6.0
    heard = int(np.sum(clicks < stats["audio_s"]))  # clicks analysed before the run stopped
    assert heard - 2 <= stats["onsets"] <= heard  # the last may fall in the final hop
    assert stats["bpm"] == pytest.approx(120.0, abs=2.0)
    assert stats["backend"] and stats["generator_errors"] == 0
    resolved = load_config(ShowConfig, tmp_path / "s.config.toml")
    assert resolved.audio.input == str(audio) and resolved.display.size == (256, 144)
    assert resolved.model.path == model
    assert "frames at" in result.stdout and "BPM" in result.stdout


def test_frames_change_with_the_audio(tmp_path):
    """Shown through a pass-through chain, so what moves is the generator's picture: the
    difference between consecutive frames in the 100 ms after each click is much larger than
    between clicks."""
    audio, clicks = click_track(tmp_path / "click.wav", bpm=100.0, duration_s=5.0)
    app = headless_app(show_config(audio))
    app.set_chain((), name="passthrough")
    shown: list[tuple[float, np.ndarray]] = []
    app.add_frame_observer(lambda p: shown.append((p.presented_s, p.image)), pixels=True)
    try:
        stats = app.run(duration_s=4.5)
        start = app.analyzer.source.time_of(0)  # capture time of the file's first sample
    finally:
        app.close()
    steps = [(t - start, frame_difference(image, previous))
             for (t, image), (_, previous) in zip(shown[1:], shown)]
    after = [d for t, d in steps if any(0.0 <= t - c < 0.1 for c in clicks)]
    between = [d for t, d in steps if any(0.25 <= t - c < 0.55 for c in clicks)]
    seen = f"{len(shown)} frames from {shown[0][0] - start:.2f} s, {stats}"
    assert len(after) >= 12 and len(between) >= 40, seen
    assert np.mean(after) > 3 * np.mean(between), (np.mean(after), np.mean(between), seen)
    assert stats["onsets"] >= 5


def test_a_5_fps_generator_does_not_slow_the_display(tmp_path):
    audio, _ = click_track(tmp_path / "click.wav", duration_s=4.0)
    generator = small_generator()
    show = show_config(audio, **{"display.fps": 30.0})
    app = headless_app(show, backend=SlowGenerator(TorchGenerator(generator), period_s=0.2),
                       generator=generator)
    shown: list[np.ndarray] = []
    app.add_frame_observer(lambda p: shown.append(p.image), pixels=True)
    try:
        stats = app.run(duration_s=3.0)
    finally:
        app.close()
    assert stats["gen_fps"] <= 5.5
    # The display kept its rate: 30 fps for 3 s, not the generator's 5 (a generous margin for a
    # loaded machine; a display that waited on the generator would show ~15 frames).
    assert stats["frames_displayed"] >= 0.8 * 30 * 3.0
    # Between generator frames it cross-fades: many more distinct pictures than painted ones.
    distinct = sum(frame_difference(a, b) > 0.05 for a, b in zip(shown, shown[1:]))
    assert distinct > 2 * stats["frames_generated"]


def test_a_failing_generator_keeps_the_last_good_frame_and_the_hud_shows_why(tmp_path):
    audio, _ = click_track(tmp_path / "click.wav", duration_s=4.0)
    generator = small_generator()
    failing = FailingGenerator(TorchGenerator(generator), good_frames=4)
    app = headless_app(show_config(audio, **{"display.hud": True, "model.max_fps": 20.0}),
                       backend=failing, generator=generator)
    shown: list[np.ndarray] = []
    app.add_frame_observer(lambda p: shown.append(p.image), pixels=True)
    try:
        stats = app.run(duration_s=1.5)
        with_hud = app.output.read()  # the last frame as presented, HUD included
    finally:
        app.close()
    assert stats["frames_generated"] == 4 and stats["generator_errors"] >= 2
    last = shown[-1]
    assert last.mean() > 10  # not black: the last good generator frame is still up
    assert frame_difference(last, shown[-20]) < 0.5  # and it stays
    # The HUD's error line is drawn in red over the picture (the HUD-less capture shows none).
    hud = with_hud.astype(int)
    drawn = np.abs(hud - last.astype(int)).max(axis=-1) > 40
    red = drawn & (hud[..., 0] > 200) & (hud[..., 1] < 160) & (hud[..., 2] < 140)
    assert red.sum() > 20
    assert app.worker.error.message.startswith("generator: RuntimeError: CUDA error")


def test_window_opens_toggles_fullscreen_and_hud_and_quits_on_escape(tmp_path, xvfb_display):
    from tests.visualizer.render.test_window import xdotool

    def keys(window: str) -> None:
        xdotool("key", "--window", window, "h")
        xdotool("key", "--window", window, "f")
        assert _wait(lambda: "1920x1080" in xdotool("getwindowgeometry", window))
        xdotool("key", "--window", window, "f")
        assert _wait(lambda: "320x180" in xdotool("getwindowgeometry", window))
        time.sleep(0.5)  # a few frames back in the window before quitting
        xdotool("key", "--window", window, "Escape")

    stderr, stats = _window_show(tmp_path, [], keys)
    assert "HUD on" in stderr and "fullscreen on monitor 0" in stderr
    assert stats["frames_displayed"] > 10 and stats["duration_s"] < 25  # Esc ended it, not --duration


def _window_show(tmp_path: Path, options: list[str], play) -> tuple[str, dict]:
    """`gansmania live` in a 320x180 window for at most 25 s, with ``options``; ``play(window)``
    runs once its loop does and must end the show. Returns (its log, its --stats)."""
    audio, _ = click_track(tmp_path / "click.wav", duration_s=30.0)
    model = small_checkpoint(tmp_path / "small.safetensors")
    stats_path = tmp_path / "s.json"
    log = tmp_path / "live.log"
    with log.open("w") as stderr_file:
        process = subprocess.Popen(
            [*GANSMANIA, "-v", "live", "--model", str(model), "--input", str(audio), "--size",
             "320x180", *options, "--duration", "25", "--stats", str(stats_path)],
            stdout=subprocess.DEVNULL, stderr=stderr_file, text=True)
    try:
        play(_wait_for_window(process, log))
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = log.read_text()
    assert process.returncode == 0, stderr
    return stderr, json.loads(stats_path.read_text())


def _wait(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _wait_for_window(process: subprocess.Popen, log: Path, timeout_s: float = 90.0) -> str:
    """The live window's id, once the show loop runs (keys sent earlier would all be handled in
    its first frame)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gansmania live exited early: {log.read_text()}")
        if "show running" in log.read_text():
            found = subprocess.run(["xdotool", "search", "--name", "^GANsmania$"],
                                   capture_output=True, text=True)
            if found.returncode == 0 and found.stdout.strip():
                return found.stdout.split()[0]
        time.sleep(0.2)
    pytest.fail("the live window did not appear")


@pytest.mark.slow
def test_clean_view_opens_beside_the_performer_window_and_escape_there_ends_the_show(tmp_path, xvfb_display):
    from tests.visualizer.render.test_clean import geometry, grab
    from tests.visualizer.render.test_window import xdotool

    def escape_in_the_clean_view(window: str) -> None:
        clean, box = geometry("GANsmania (clean)")
        assert box[2:] == (320, 180)
        assert _wait(lambda: grab(box).max() > 40, timeout_s=15)  # the show reaches the audience
        xdotool("key", "--window", clean, "Escape")

    stderr, stats = _window_show(tmp_path, ["--clean-monitor", "0", "--clean-size", "320x180"],
                                 escape_in_the_clean_view)
    assert "clean view on monitor 0: a 320x180 window" in stderr
    assert stats["frames_displayed"] > 0 and stats["duration_s"] < 25  # Esc ended it, not --duration
