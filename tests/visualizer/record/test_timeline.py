"""Stamped frames and audio onto the fixed-rate output timeline."""

from __future__ import annotations

import numpy as np

from visualizer.record.timeline import AudioTimeline, FrameTimeline


def frame(value: int) -> np.ndarray:
    return np.full((2, 2, 3), value, np.uint8)


def slots(timeline: FrameTimeline, stamps: list[float], *, end_slot: int | None = None) -> list[int]:
    """The frame number shown in each slot, feeding frames 0, 1, 2... at ``stamps``."""
    shown: list[int] = []
    runs = [timeline.add(frame(i), t_s=t) for i, t in enumerate(stamps)]
    runs.append(timeline.finish(end_slot=end_slot))
    for run in runs:
        if run is not None:
            assert run.first == len(shown)  # runs come in order, without holes
            shown.extend([int(run.image[0, 0, 0])] * run.count)
    return shown


def test_same_rate_maps_one_to_one() -> None:
    timeline = FrameTimeline(fps=30, origin_s=10.0)
    assert slots(timeline, [10.0 + k / 30 for k in range(6)]) == [0, 1, 2, 3, 4, 5]
    assert timeline.repeated == timeline.skipped == 0


def test_a_faster_display_skips_and_a_slower_one_repeats() -> None:
    fast = FrameTimeline(fps=30, origin_s=0.0)
    assert slots(fast, [k / 60 for k in range(8)]) == [0, 2, 4, 6, 7]  # the frame at each slot time
    assert fast.skipped == 3
    slow = FrameTimeline(fps=30, origin_s=0.0)
    assert slots(slow, [k / 10 for k in range(3)], end_slot=9) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert slow.repeated == 6


def test_present_stamps_are_filmed_as_a_camera_would_never_early() -> None:
    # A frame shown at 0.04 s is on screen from then on: slot 0 (0.0 s) cannot show it, even
    # though 0.04 is nearer to slot 0 than to slot 1 of a 10 fps file.
    nearest = FrameTimeline(fps=10, origin_s=0.0)
    shown = FrameTimeline(fps=10, origin_s=0.0, on_screen=True)
    stamps = [0.0, 0.04, 0.2, 0.26, 0.3]
    assert slots(nearest, stamps, end_slot=4) == [1, 1, 2, 4]
    assert slots(shown, stamps, end_slot=4) == [0, 1, 2, 4]
    # Each slot shows the frame that was on screen at its time.
    for k, frame in enumerate(slots(FrameTimeline(fps=10, origin_s=0.0, on_screen=True),
                                    stamps, end_slot=4)):
        assert frame == max(i for i, t in enumerate(stamps) if t <= k / 10)


def test_jittery_and_late_stamps_never_go_back() -> None:
    timeline = FrameTimeline(fps=10, origin_s=0.0)
    # Frame 2 is stamped before frame 1 (a stale audio stamp) and before slot 2, which is not
    # written yet: being the newer frame, it takes that slot instead of going back in time.
    assert slots(timeline, [0.0, 0.21, 0.05, 0.4]) == [0, 0, 2, 2, 3]
    assert timeline.skipped == 1


def test_frames_before_the_first_one_show_it_and_the_end_follows_the_audio() -> None:
    timeline = FrameTimeline(fps=10, origin_s=0.0)
    assert slots(timeline, [0.3, 0.4], end_slot=5) == [0, 0, 0, 0, 1]
    # A last frame stamped at the audio's very end would only outlast it: skipped.
    timeline = FrameTimeline(fps=10, origin_s=0.0)
    assert slots(timeline, [0.0, 0.1, 0.2], end_slot=2) == [0, 1]


def test_audio_gaps_become_silence_and_overlaps_are_trimmed() -> None:
    timeline = AudioTimeline(sample_rate=1000, channels=1, origin_s=5.0)
    ones = np.ones((100, 1), np.float32)
    assert [b.shape[0] for b in timeline.add(ones, t_s=4.95)] == [50]  # before the origin: cut
    assert [b.shape[0] for b in timeline.add(ones, t_s=5.05)] == [100]  # contiguous
    assert [b.shape[0] for b in timeline.add(ones, t_s=5.16)] == [100]  # 10 ms early: jitter
    gap = timeline.add(ones, t_s=5.5)  # 250 samples missing: silence first
    assert [b.shape[0] for b in gap] == [250, 100] and not gap[0].any()
    assert timeline.add(ones, t_s=5.5) == []  # entirely before what is written: dropped
    assert timeline.written == 600 and timeline.gaps == 1
    assert timeline.pad_to(650).shape == (50, 1) and timeline.pad_to(600) is None
