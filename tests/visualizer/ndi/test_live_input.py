"""NDI in, end to end: a test source on loopback mixed into a running headless show through the
mix_input pass; the source going away (a message on the HUD, the frames go on) and coming back;
`gansmania live --ndi-in` wiring, and its one line without the extra."""

from __future__ import annotations

import builtins
import json
import threading

import pytest

from tests.visualizer.live_helpers import click_track, headless_app, show_config
from tests.visualizer.ndi.senders import PatternSender, halves, shows_halves, wait_for
from visualizer.ndi.live_input import ERROR_SOURCE, INPUT, LiveNdiInput


class Shown:
    """What the show presented, frame by frame (written on the render thread)."""

    def __init__(self) -> None:
        self.pattern: list[bool] = []  # per presented frame: the test pattern is on screen

    def __call__(self, presented) -> None:
        self.pattern.append(shows_halves(presented.image))

    @property
    def showing(self) -> bool:
        return bool(self.pattern) and self.pattern[-1]


def test_the_source_is_mixed_in_and_the_show_outlives_it(tmp_path, ndi):
    audio, _ = click_track(tmp_path / "click.wav", duration_s=40.0)
    app = headless_app(show_config(audio))  # 256x144, like the 128x72 source: 16:9
    assert app.set_chain([("mix_input", {"amount": 1.0})]) is None
    shown = Shown()
    app.add_frame_observer(shown, pixels=True)
    sender = PatternSender(ndi, "gm-show-in", halves()).start()
    video_in = LiveNdiInput(app, "gm-show-in", lost_s=0.5)
    marks: dict[str, object] = {}

    def scenario() -> None:  # the stage: the source sends, leaves, comes back
        try:
            marks["shown"] = wait_for(lambda: shown.showing, timeout_s=20.0)
            sender.stop()
            marks["left_at"] = len(shown.pattern)
            marks["reported"] = wait_for(lambda: ERROR_SOURCE in app._errors, timeout_s=10.0)
            marks["reported_at"] = len(shown.pattern)
            marks["gone"] = wait_for(lambda: not shown.showing, timeout_s=5.0)
            marks["message"] = app._errors.get(ERROR_SOURCE, ("",))[0]
            # The show goes on without the source: frames keep coming, without the pattern.
            frames = len(shown.pattern)
            marks["frames_on"] = wait_for(lambda: len(shown.pattern) >= frames + 20, timeout_s=10.0)
            marks["back_from"] = len(shown.pattern)
            sender.start()
            marks["back"] = wait_for(lambda: shown.showing, timeout_s=20.0)
            marks["cleared"] = wait_for(lambda: ERROR_SOURCE not in app._errors, timeout_s=5.0)
        finally:
            app.request_stop()

    stage = threading.Thread(target=scenario, daemon=True)
    stage.start()
    try:
        stats = app.run(duration_s=60.0)
    finally:
        stage.join(timeout=60.0)
        video_in.close()
        sender.stop()
        app.close()
    assert marks["shown"], "the source never showed in the picture"
    assert marks["reported"] and marks["gone"] and marks["frames_on"], marks
    assert "gm-show-in" in marks["message"] and "is gone" in marks["message"]
    assert not any(shown.pattern[marks["reported_at"]:marks["back_from"]][5:])
    assert marks["back"], "the source did not come back into the picture"
    assert marks["cleared"], "the HUD still says the source is gone"
    assert stats["frames_displayed"] == len(shown.pattern)
    counts = video_in.stats()
    assert counts["losses"] == 1 and counts["status"] == "receiving"
    assert 0 < counts["frames_shown"] <= counts["frames_received"]


def test_frames_reach_the_renderer_once_each_and_a_lost_source_unbinds(tmp_path, ndi):
    # Without the thread of a running show: the frame hook alone, driven by hand.
    audio, _ = click_track(tmp_path / "click.wav", duration_s=2.0)
    app = headless_app(show_config(audio))
    sender = PatternSender(ndi, "gm-hook-in", halves(64, 36)).start()
    video_in = LiveNdiInput(app, "gm-hook-in", lost_s=0.3)
    index = iter(range(10**6))
    try:
        def step():
            app.step_frame(next(index), now_s=0.0, dt_s=1 / 60, time_s=0.0)
            return app.renderer.input_size(INPUT)

        assert wait_for(lambda: step() == (64, 36), timeout_s=10.0)
        for _ in range(50):  # far more display frames than the source sends meanwhile
            step()
        assert 0 < video_in.shown <= video_in.receiver.frames  # each frame uploaded once at most
        sender.stop()
        assert wait_for(lambda: step() is None, timeout_s=10.0)
        assert "is gone" in app._errors[ERROR_SOURCE][0]
    finally:
        video_in.close()
        sender.stop()
        app.close()


def test_live_with_ndi_in_mixes_the_source_and_counts_it(tmp_path, ndi, isolated_threads):
    from tests.visualizer.backends.models import small_checkpoint
    from visualizer.cli import main

    audio, _ = click_track(tmp_path / "click.wav", duration_s=6.0)
    model = small_checkpoint(tmp_path / "small.safetensors")
    stats_path = tmp_path / "stats.json"
    sender = PatternSender(ndi, "gm-cli-in", halves()).start()
    try:
        with pytest.raises(SystemExit) as exit_info:  # in this process: no second torch start-up
            main(["live", "--headless", "--model", str(model), "--backend", "torch",
                  "--input", str(audio), "--duration", "2", "--size", "256x144",
                  "--preset", "ndi_overlay", "--ndi-in", "gm-cli-in", "--stats", str(stats_path)])
    finally:
        sender.stop()
    assert exit_info.value.code == 0
    stats = json.loads(stats_path.read_text())["ndi_in"]
    assert stats["wanted"] == "gm-cli-in" and stats["source"].endswith("(gm-cli-in)")
    assert stats["frames_shown"] > 0 and stats["losses"] == 0 and stats["status"] == "receiving"


def test_live_without_the_extra_says_what_to_install_before_the_show(tmp_path, monkeypatch, capsys,
                                                                    isolated_threads):
    from visualizer import show
    from visualizer.cli import main
    from visualizer.ndi import runtime

    real_import = builtins.__import__

    def no_ndi(name, *args, **kwargs):
        if name == "NDIlib":
            raise ImportError("No module named 'NDIlib'")
        return real_import(name, *args, **kwargs)

    def no_show(*args, **kwargs):
        raise AssertionError("the show was built before the missing extra was reported")

    monkeypatch.setattr(runtime, "_module", None)
    monkeypatch.setattr(builtins, "__import__", no_ndi)
    monkeypatch.setattr(show, "build_app", no_show)
    audio, _ = click_track(tmp_path / "click.wav", duration_s=1.0)
    with pytest.raises(SystemExit) as exit_info:
        main(["live", "--headless", "--input", str(audio), "--ndi-in", "CAM", "--duration", "1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"gansmania: error: NDI needs the optional extra: {runtime.INSTALL_HINT}"]
