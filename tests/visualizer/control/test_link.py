"""Tempo sources: tap-only and Ableton Link (two real peers in a private network namespace),
and how a clock rewrites the show's beat."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from visualizer.audio.frames import silent_frame
from visualizer.control.link import LinkLeader
from visualizer.control.tempo import TapClock, TempoOverride, tap_period_bpm

ROOT = Path(__file__).resolve().parents[3]


def test_taps_set_tempo_and_put_a_beat_on_the_last_tap():
    clock = TapClock(clock=lambda: 0.0)
    assert clock.position(0.0) is None
    for t in (10.0, 10.5, 11.0, 11.5):  # 120 BPM
        clock.tap(t)
    bpm, beats = clock.position(11.5)
    assert bpm == pytest.approx(120.0) and beats % 1.0 == pytest.approx(0.0)
    assert clock.position(11.75)[1] - beats == pytest.approx(0.5)
    clock.tap(20.0)  # after a long pause: a new sequence, the old tempo stays until 2 taps
    assert clock.position(20.0)[0] == pytest.approx(120.0)
    clock.tap(20.4)  # 150 BPM, on a whole beat
    bpm, beats = clock.position(20.4)
    assert bpm == pytest.approx(150.0) and beats == pytest.approx(round(beats))
    assert "no automatic tempo" in clock.set_bpm(None)
    assert clock.set_bpm(1000.0).startswith("tempo 1000 BPM is out of range")
    assert tap_period_bpm([0.0, 0.01]) is None  # 6000 BPM is no tempo


def test_set_bpm_keeps_the_phase():
    now = [5.0]
    clock = TapClock(bpm=120.0, clock=lambda: now[0])
    before = clock.position(6.25)[1]  # 2.5 beats after the anchor
    now[0] = 6.25
    assert clock.set_bpm(60.0) is None
    assert clock.position(6.25)[1] == pytest.approx(before)
    assert clock.position(7.25)[1] == pytest.approx(before + 1.0)


def test_a_clock_rewrites_tempo_phase_and_beat_flags():
    clock = TapClock(bpm=100.0, clock=lambda: 0.0)  # a beat every 0.6 s from t = 0
    override = TempoOverride(clock)
    flags = []
    for i in range(40):  # 40 frames, 0.1 s apart
        frame = override(silent_frame(t_audio=i * 0.1, hop_index=i))
        flags.append(frame.beat)
        assert frame.bpm == pytest.approx(100.0) and frame.bpm_confidence == 1.0
        assert frame.beat_phase == pytest.approx((i * 0.1 / 0.6) % 1.0, abs=1e-9)
        assert frame.next_beat_t == pytest.approx((i * 0.1 // 0.6 + 1) * 0.6, abs=1e-9)
    assert [i for i, beat in enumerate(flags) if beat] == [6, 12, 18, 24, 30, 36]
    unknown = TempoOverride(TapClock())  # no tempo yet: the audio tracker's frame stays
    frame = silent_frame(t_audio=1.0, hop_index=0, bpm=90.0, beat_phase=0.3)
    assert unknown(frame) is frame


def test_the_leader_publishes_confident_tempo_changes_only():
    published = []

    class Session:
        def set_bpm(self, bpm):
            published.append(bpm)

    leader = LinkLeader(Session(), every_s=1.0)
    for t, bpm, confidence in [(0.0, 120.0, 0.2), (0.1, 120.0, 0.8), (0.5, 125.0, 0.9),
                               (1.2, 120.1, 0.9), (2.5, 126.0, 0.9), (2.6, 0.0, 0.0)]:
        frame = silent_frame(t_audio=t, hop_index=0, bpm=bpm)
        assert leader(dataclasses.replace(frame, bpm_confidence=confidence)).bpm == bpm
    assert published == [120.0, 126.0]  # unsure, too soon, too small a change: not sent


def test_two_link_peers_share_tempo_and_phase():
    """Two peers in one process, in a network namespace with only loopback (see link_peers)."""
    pytest.importorskip("link", reason="LinkPython-extern is not installed")
    result = subprocess.run([sys.executable, "-m", "tests.visualizer.control.link_peers"],
                            cwd=ROOT, capture_output=True, text=True, timeout=90)
    if result.returncode == 77:
        pytest.skip("Link test needs a private network namespace (root, unshare): "
                    + json.loads(result.stdout)["skip"])
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["peers"] == [1, 1]
    assert found["follow_bpm"] == pytest.approx(133.0, abs=0.01)
    assert found["follow_beats"] == pytest.approx(found["lead_beats"], abs=0.01)  # same phase
    assert found["frame_bpm"] == pytest.approx(133.0, abs=0.01)
    assert found["frame_phase"] == pytest.approx(found["follow_beats"] % 1.0, abs=0.01)
    assert found["led_bpm"] == pytest.approx(97.0, abs=0.01)
    assert found["tapped_bpm"] == pytest.approx(120.0, abs=0.01)
