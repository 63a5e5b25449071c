"""Recording and logging inside `gansmania live`: --record, --log, the record actions, a full
disk, a killed process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.signals import click_train
from tests.visualizer.record.media import decode, ffprobe, playable_seconds, stream
from tests.visualizer.record.shows import first_frame_seeing, show_config, write_wav
from visualizer.offline import RenderJob, render_song
from visualizer.record.live_recording import LiveRecording
from visualizer.record.showlog import read_show_log
from visualizer.show import build_app, prepare_show

ROOT = Path(__file__).resolve().parents[3]


def live_app(model: Path, song: Path, **sets):
    show = show_config(model, size=(96, 64), fps=30.0,
                       sets={"audio.input": str(song), "display.fps": 30.0, **sets})
    return build_app(prepare_show(show, preset="drift"))


def at(seconds: float, action) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    return timer


def test_live_record_and_log_replay_offline(tmp_path: Path, tiny_model: Path,
                                            isolated_threads) -> None:
    audio, _ = click_train(bpm=120, duration_s=6.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    app = live_app(tiny_model, song)
    recording = LiveRecording(app, record=tmp_path / "live.mp4", log_path=tmp_path / "show.gmlog")
    switched: list[float] = []

    def switch_bank() -> None:
        app.params.set("walk.bank_change_s", 0.0, source="osc")
        app.params.set("walk.bank", 5, source="osc")
        switched.append(time.monotonic())

    at(2.0, switch_bank)
    try:
        app.run(duration_s=4.0)
    finally:
        recording.close()
        app.close()

    # The recording: what was shown, with the captured audio.
    info = ffprobe(tmp_path / "live.mp4")
    assert stream(info, "video")["codec_name"] == "h264"
    assert stream(info, "audio")["codec_name"] == "aac"
    assert 2.5 <= playable_seconds(tmp_path / "live.mp4") <= 4.1

    # The log: the two changes, at the audio time they took effect (about 2 s into the song).
    log = read_show_log(tmp_path / "show.gmlog")
    assert log.header.preset == "drift" and log.header.audio == str(song)
    events = [(e.kind, e.name, e.value, e.source) for e in log.events]
    assert events == [("set", "walk.bank_change_s", 0.0, "osc"), ("set", "walk.bank", 5, "osc")]
    bank_at = log.events[1].t_s
    assert 1.5 < bank_at < 2.6

    # Offline, the switch lands exactly on the first frame whose audio reaches that time.
    show = show_config(tiny_model, size=(64, 48), fps=24.0, sets={"record.quality": 0})
    frames = {}
    for name, replay in (("plain", None), ("replay", log)):
        out = tmp_path / f"{name}.mp4"
        render_song(prepare_show(show, preset="drift"),
                    RenderJob(audio=song, out=out, end_s=3.0, replay=replay))
        frames[name] = decode(out, audio=False).frames.astype(np.int16)
    change = np.abs(frames["replay"] - frames["plain"]).reshape(72, -1).max(axis=1)
    expected = first_frame_seeing(bank_at, fps=24.0)
    assert not change[:expected].any() and change[expected] > 40


def test_record_actions_and_a_full_disk(tmp_path: Path, tiny_model: Path, isolated_threads,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import visualizer.record.live_recording as live_module
    from tests.visualizer.record.test_recorder import FillingDisk

    disks = iter([None, FillingDisk(space=30_000)])  # the second take's disk fills up
    real_recorder = live_module.Recorder
    monkeypatch.setattr(live_module, "Recorder",
                        lambda *args, **kw: real_recorder(*args, raw=next(disks), **kw))
    audio, _ = click_train(bpm=120, duration_s=6.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    app = live_app(tiny_model, song, **{"record.folder": str(tmp_path / "takes")})
    recording = LiveRecording(app)
    messages: list[tuple[str, str]] = []
    report = app.report_error
    app.report_error = lambda source, message: messages.append((source, message)) or report(
        source, message)
    # R (record_toggle) starts a take and stops it; then a take on a full disk fails.
    at(0.8, lambda: app.params.post("record_toggle", source="keyboard"))
    at(2.3, lambda: app.params.post("record_toggle", source="keyboard"))
    at(2.6, lambda: app.params.post("record_toggle", source="keyboard"))
    try:
        stats = app.run(duration_s=5.0)
    finally:
        recording.close()
        app.close()

    takes = sorted((tmp_path / "takes").glob("gansmania-*.mp4"))
    assert len(takes) == 1  # the second take never reached the (fake) disk
    assert 1.0 <= playable_seconds(takes[0]) <= 1.8
    assert (tmp_path / "takes" / f"{takes[0].stem}.config.toml").exists()
    # The full disk: one HUD message, and the show ran on to the end.
    assert [source for source, _ in messages] == ["record"]
    assert messages[0][1].startswith("recording stopped: disk full")
    assert stats["duration_s"] >= 4.9 and not recording.recorder.recording


def test_record_start_records_to_the_path_it_names(tmp_path: Path, tiny_model: Path,
                                                   isolated_threads) -> None:
    audio, _ = click_train(bpm=120, duration_s=6.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    takes = tmp_path / "takes"
    app = live_app(tiny_model, song, **{"record.folder": str(takes)})
    recording = LiveRecording(app)
    messages: list[tuple[str, str]] = []
    report = app.report_error
    app.report_error = lambda source, message: messages.append((source, message)) or report(
        source, message)
    named = tmp_path / "named.mkv"
    post = app.params.post
    at(0.6, lambda: post("record_start", str(named), source="osc"))
    at(1.3, lambda: post("record_stop", source="osc"))
    at(1.5, lambda: post("record_start", str(named), source="osc"))  # exists: not overwritten
    at(1.6, lambda: post("record_start", "set 2/encore", source="osc"))  # relative, no suffix
    at(2.3, lambda: post("record_stop", source="osc"))
    at(2.5, lambda: post("record_start", source="osc"))  # no path: a timestamped take
    at(3.1, lambda: post("record_stop", source="osc"))
    try:
        app.run(duration_s=3.5)
    finally:
        recording.close()
        app.close()

    assert ffprobe(named)["format"]["format_name"].startswith("matroska")  # the suffix's container
    assert 0.3 <= playable_seconds(named) <= 1.0
    encore = takes / "set 2" / "encore.mp4"
    assert 0.3 <= playable_seconds(encore) <= 1.0
    assert len(list(takes.glob("gansmania-*.mp4"))) == 1
    assert messages == [("record", f"record_start {named}: {named} exists; not overwritten")]


@pytest.mark.parametrize(("value", "message"), [
    (42, "record_start: the path must be text, got 42"),
    ("take.avi", "record_start take.avi: unknown container '.avi'; allowed: .mp4, .m4v, .mov, .mkv"),
    (".", "is a folder; name a file (.mp4, .m4v, .mov, .mkv)"),
])
def test_a_bad_record_start_path_is_one_line(tmp_path: Path, value, message: str) -> None:
    from visualizer.core.errors import GansmaniaError
    from visualizer.record.live_recording import requested_path
    from visualizer.settings import RecordSettings

    with pytest.raises(GansmaniaError, match=re.escape(message)) as caught:
        requested_path(value, RecordSettings(folder=tmp_path))
    assert "\n" not in str(caught.value)


def test_record_start_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from visualizer.record.live_recording import requested_path
    from visualizer.settings import RecordSettings

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    settings = RecordSettings(folder=tmp_path / "takes", container="mkv")
    assert requested_path(None, settings) is None and requested_path("  ", settings) is None
    assert requested_path("/abs/Take.MOV", settings) == Path("/abs/Take.MOV")
    assert requested_path("intro", settings) == tmp_path / "takes" / "intro.mkv"
    assert requested_path("~/x.mp4", settings) == tmp_path / "home" / "x.mp4"


@pytest.mark.slow
def test_a_live_recording_killed_after_5_s_plays_back(tmp_path: Path, tiny_model: Path) -> None:
    audio, _ = click_train(bpm=120, duration_s=4.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    out = tmp_path / "show.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "visualizer.cli", "live", "--headless", "--model", str(tiny_model),
         "--input", str(song), "--size", "96x64", "--record", str(out),
         "--set", "model.backend=torch", "--set", "audio.loop=true"],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in process.stderr:
            if "recording to" in line or time.monotonic() > deadline:
                break
        assert "recording to" in line, "live never started recording"
        time.sleep(5.0)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    info = ffprobe(out)
    assert stream(info, "video")["codec_name"] == "h264"
    assert float(info["format"]["duration"]) >= 4.0
    assert playable_seconds(out) >= 4.0
