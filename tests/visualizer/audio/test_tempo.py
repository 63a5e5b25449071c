"""Beat and tempo on click trains (known BPM and beat times), taps, overrides and silence."""

import math

import mir_eval
import numpy as np
import pytest

from tests.signals import SR, click_train, silence
from visualizer.audio.analyzer import analyze_audio
from visualizer.audio.features import ExtractorSettings, FeatureExtractor


@pytest.fixture(scope="module", params=[90, 120, 128, 174])
def click_analysis(request):
    bpm = request.param
    audio, times = click_train(bpm=bpm, duration_s=16.0, accent_every=4)
    return bpm, times, analyze_audio(audio, sr=SR)


def test_click_train_tempo_is_within_one_bpm(click_analysis):
    bpm, _, result = click_analysis
    late = [value for t, value in result.bpm_track if t >= 8.0]
    assert abs(result.bpm - bpm) <= 1.0
    assert max(abs(v - bpm) for v in late) <= 1.0  # 174 is never read as 87


def test_click_train_beats_match_the_clicks_after_four_seconds(click_analysis):
    _, times, result = click_analysis
    reference = times[times >= 4.0]
    estimated = np.asarray(result.beats_s)
    estimated = estimated[estimated >= 4.0]
    assert mir_eval.beat.f_measure(reference, estimated, f_measure_threshold=0.07) >= 0.9


def test_silence_has_no_beats_and_no_tempo():
    result = analyze_audio(silence(duration_s=8.0), sr=SR)
    assert result.beats_s == ()
    assert result.bpm == 0.0


def run(extractor: FeatureExtractor, audio: np.ndarray, *, t0: float = 100.0, taps=()):
    """Feed ``audio`` hop by hop with capture times from t0; tap at the given times."""
    hop = extractor.hop
    frames, pending = [], sorted(taps)
    for i in range(audio.shape[0] // hop):
        t_audio = t0 + (i + 1) * hop / SR
        while pending and pending[0] <= t_audio:
            extractor.tap(pending.pop(0))
        frames.append(extractor.process(audio[i * hop:(i + 1) * hop], t_audio=t_audio))
    return frames


def test_tap_tempo_sets_bpm_and_phase():
    extractor = FeatureExtractor(ExtractorSettings(sr=SR))
    taps = [100.5, 101.0, 101.5, 102.0]  # 120 BPM
    frames = run(extractor, silence(duration_s=3.0), taps=taps)
    last = frames[-1]
    assert last.bpm == pytest.approx(120.0, abs=0.01)
    # The next beat continues the taps' grid: 102.0 + k * 0.5 s.
    assert (last.next_beat_t - 102.0) / 0.5 == pytest.approx(round((last.next_beat_t - 102.0)
                                                                   / 0.5), abs=0.02)
    assert last.t_audio < last.next_beat_t <= last.t_audio + 0.5 + 1e-6


def test_manual_bpm_overrides_and_releases():
    audio, _ = click_train(bpm=120, duration_s=14.0)
    extractor = FeatureExtractor(ExtractorSettings(sr=SR))
    frames = run(extractor, audio[:6 * SR])
    assert frames[-1].bpm == pytest.approx(120.0, abs=1.0)
    extractor.set_bpm(140.0)
    frames = run(extractor, audio[6 * SR:9 * SR], t0=106.0)
    assert frames[-1].bpm == pytest.approx(140.0, abs=1e-6)
    assert frames[-1].bpm_confidence == 1.0
    extractor.set_bpm(None)
    frames = run(extractor, audio[9 * SR:], t0=109.0)
    assert frames[-1].bpm == pytest.approx(120.0, abs=1.0)


def test_frames_carry_a_consistent_beat_clock():
    audio, _ = click_train(bpm=128, duration_s=10.0)
    frames = run(FeatureExtractor(ExtractorSettings(sr=SR, hop=128)), audio)
    known = [f for f in frames if f.bpm > 0]
    assert known
    for frame in known:
        period = 60.0 / frame.bpm
        assert 0.0 <= frame.beat_phase < 1.0
        assert frame.t_audio < frame.next_beat_t <= frame.t_audio + period + 1e-6
        # phase and next beat describe the same moment
        assert frame.beat_phase == pytest.approx(
            1.0 - (frame.next_beat_t - frame.t_audio) / period, abs=1e-6)
    beats = [f for f in known if f.beat]
    assert len(beats) >= 10
    assert known[-1].bpm_confidence > 0.5


def test_plain_aubio_tracker_is_selectable():
    audio, _ = click_train(bpm=120, duration_s=10.0)
    result = analyze_audio(audio, sr=SR, settings=ExtractorSettings(beat_tracker="aubio"))
    assert len(result.beats_s) >= 10
    assert result.bpm == pytest.approx(120.0, rel=0.05)
    assert not math.isnan(result.bpm)
