"""bench.latency_rig end to end: `gansmania live` in a window on Xvfb hearing a PulseAudio null
sink, filmed by ffmpeg. What must hold on a busy 2-core machine: ffmpeg's own clocks agree with
the wall clock, every flash comes after its click, the film, --stats and a presented recording
agree within a display frame, and a locked beat flash lands near the beat. The latency goals
themselves are the benchmark's (bench/results/latency_rig.json), not asserted here."""

from __future__ import annotations

import numpy as np
import pytest

from bench.latency_rig import GRAB_FPS, Services, run

pytestmark = pytest.mark.slow

GRAB_MS = 1e3 / GRAB_FPS


@pytest.fixture(scope="module")
def measured(pulse_server, xvfb_display, tmp_path_factory):
    services = Services(display=xvfb_display, pulse_server=pulse_server.server,
                        sink=pulse_server.sink, monitor=pulse_server.monitor)
    rows, clocks = run(seconds=14.0, names=("shader", "beat"), services=services,
                       work=tmp_path_factory.mktemp("latency-rig"))
    return {row["case"]: row for row in rows}, clocks


def test_ffmpeg_films_sound_and_picture_on_the_wall_clock(measured):
    rows, _ = measured
    for row in rows.values():
        ref = row["reference"]
        # Three references each; on a busy machine one may be lost (a late xsetroot, a listener
        # read that caught the click's tail): two still check the clocks.
        assert len(ref["audio_arrival_after_stamp_ms"]) >= 2 and len(ref["video_after_paint_ms"]) >= 2, ref
        # A second client on the monitor gets each click after ffmpeg's stamp of it, by no more
        # than the capture buffers: the film's audio clock is neither early nor late.
        assert all(-2.0 <= v <= 25.0 for v in ref["audio_arrival_after_stamp_ms"]), ref
        # The root paint is filmed between the xsetroot call and a grab (plus a busy scheduler).
        for shown, call in zip(ref["video_after_paint_ms"], ref["paint_call_ms"]):
            assert -call - 2.0 <= shown <= 2 * GRAB_MS + 20.0, ref


def test_every_flash_follows_its_click_and_the_three_measures_agree(measured):
    rows, clocks = measured
    row = rows["shader"]
    assert row["clicks"] >= 12 and row["flashes"] >= 0.8 * row["clicks"], row
    assert row["min_ms"] > 0.0, row  # nothing flashes before the sound reached the monitor
    assert row["median_ms"] < 250.0, row
    # --stats (from the onset hop's stamp; its median) and the presented recording (its own
    # audio against its frames, click by click) say what the film says, within a display frame
    # and the film's grain.
    assert row["stats_minus_film_ms"] is not None and row["recording_minus_film_ms"] is not None, row
    assert abs(row["stats_minus_film_ms"]) <= row["frame_ms"] + GRAB_MS, row
    assert abs(row["recording_minus_film_ms"]) <= row["frame_ms"] + GRAB_MS, row
    # The program's own stamps against the film: a present stamp is when the X server has the
    # frame; the capture clock is within a frame of when the monitor had the click.
    assert clocks["present_ms"]["count"] >= 10 and clocks["capture_ms"]["count"] >= 8, clocks
    assert abs(clocks["present_ms"]["median"]) <= GRAB_MS, clocks
    assert abs(clocks["capture_ms"]["median"]) <= row["frame_ms"], clocks


def test_a_locked_beat_flash_lands_near_the_beat(measured):
    rows, _ = measured
    row = rows["beat"]
    errors = np.array([v for v in row["samples_ms"] if v is not None])
    assert row["clicks"] >= 8 and errors.size >= 0.8 * row["clicks"], row
    assert row["bpm"] == pytest.approx(120.0, abs=1.0), row
    # Predicted, not reacted to: a reacting flash would trail the beat by the whole
    # audio->photon latency (40-70 ms here); the prediction puts it within a couple of frames.
    assert abs(np.median(errors)) <= 2 * row["frame_ms"], row
