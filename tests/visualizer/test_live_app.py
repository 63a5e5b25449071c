"""LiveApp's wiring without a long show: actions and their handlers, hooks, observers, pacing."""

from __future__ import annotations

import pytest

from tests.visualizer.live_helpers import click_track, headless_app, show_config
from visualizer.app import FramePacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_keeps_a_steady_period_and_restarts_after_a_late_frame():
    clock = FakeClock()
    pacer = FramePacer(50.0, clock=clock, sleep=clock.sleep)
    pacer.wait()  # starts the schedule
    for work_s in (0.005, 0.012, 0.001):
        clock.now += work_s
        pacer.wait()
    assert clock.slept == pytest.approx([0.015, 0.008, 0.019])  # each frame ends on a 20 ms tick
    clock.now += 0.2  # a frame ten periods late: no burst of catch-up frames afterwards
    pacer.wait()
    clock.now += 0.004
    pacer.wait()
    assert clock.slept[-1] == pytest.approx(0.016)


def test_actions_reach_their_handlers_and_failures_reach_the_hud(tmp_path):
    audio, _ = click_track(tmp_path / "click.wav", duration_s=3.0)
    app = headless_app(show_config(audio))
    seen, ticks, presented = [], [], []
    app.on_action("record_toggle", lambda action: seen.append((action.kind, action.source)))
    app.on_action("preset", lambda action: 1 / 0)  # a broken extension
    app.add_frame_hook(ticks.append)
    remove = app.add_frame_observer(presented.append)
    events = []
    app.add_event_listener(events.append)
    for kind, value in [("seed_next", None), ("seed_next", None), ("seed_prev", None),
                        ("hud_toggle", None), ("record_toggle", None), ("preset", 3)]:
        app.params.post(kind, value, source="osc")
    app.add_frame_hook(lambda tick: tick.index == 20 and app.params.post("quit", source="test"))
    try:
        stats = app.run(duration_s=20.0)
    finally:
        app.close()
    assert app.params.get("walk.bank") == 1 and app.renderer.hud_visible
    assert seen == [("record_toggle", "osc")]
    assert app._errors["preset"][0] == "ZeroDivisionError: division by zero"  # on the HUD
    # Posted during frame 20, the quit is drained at the start of frame 21: the last one.
    assert stats["frames_displayed"] == 22 == len(ticks) == len(presented)
    assert presented[0].image is None  # no pixels read back unless an observer asks
    assert [t.index for t in ticks] == list(range(22)) and ticks[-1].time_s > ticks[0].time_s
    assert ("param", "walk.bank", 1, "osc") in [(e.kind, e.name, e.value, e.source) for e in events]
    remove()


def test_auto_fx_scale_follows_the_generator_on_a_cpu_rasteriser():
    from visualizer.app import _software_gl, resolve_fx_scale
    from visualizer.core.errors import ConfigError
    from visualizer.render.headless import HeadlessOutput

    output = HeadlessOutput((1280, 720))
    try:
        auto = resolve_fx_scale(0.0, output=output, generator_px=256)
        if _software_gl(output.ctx):
            assert auto == pytest.approx(256 / 720)  # the chain at the generator's resolution
            assert resolve_fx_scale(0.0, output=output, generator_px=64) == 0.25  # the floor
        else:
            assert auto == 1.0
        assert resolve_fx_scale(0.5, output=output, generator_px=256) == 0.5  # a set value stays
        with pytest.raises(ConfigError, match="allowed 0 \\(auto\\) or 0.1..1"):
            resolve_fx_scale(0.05, output=output, generator_px=256)
    finally:
        output.release()


def test_the_generator_thread_yields_and_the_rest_of_the_process_does_not():
    """On a CPU shared with llvmpipe the show lowers the generator thread's priority: that
    thread alone (Linux schedules threads one by one), never raising anyone's."""
    import os
    import threading

    from visualizer.app import lower_thread_priority

    release = threading.Event()
    worker = threading.Thread(target=release.wait, name="generator", daemon=True)
    bystander = threading.Thread(target=release.wait, name="audio-analysis", daemon=True)
    worker.start()
    bystander.start()
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        assert lower_thread_priority("generator", before + 5) == [worker.native_id]
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == before + 5
        assert os.getpriority(os.PRIO_PROCESS, bystander.native_id) == before
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
        assert lower_thread_priority("generator", before + 2) == []  # never back up
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == before + 5
    finally:
        release.set()
        worker.join()
        bystander.join()
