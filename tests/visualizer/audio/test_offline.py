"""The offline analyzer: the live extractor on a simulated clock, and whole-song beat tracking."""

from __future__ import annotations

import numpy as np
import pytest

from tests.signals import SR, click_train
from visualizer.audio.features import ExtractorSettings, FeatureExtractor
from visualizer.audio.offline import LookaheadBeats, OfflineAnalyzer

HOP = 256


def test_same_frames_as_the_live_extractor_fed_hop_by_hop() -> None:
    audio, _ = click_train(bpm=120, duration_s=3.0)
    stereo = np.stack([audio, audio], axis=1)
    offline = OfflineAnalyzer(stereo, sample_rate=SR, settings=ExtractorSettings())
    blocks: list[tuple[np.ndarray, float]] = []
    offline.add_block_listener(lambda block, t: blocks.append((block.copy(), t)))
    live = FeatureExtractor(ExtractorSettings())
    expected = [live.process(audio[i:i + HOP], t_audio=(i + HOP) / SR)
                for i in range(0, audio.shape[0] - HOP + 1, HOP)]

    # The clock moves by uneven steps, like frames at 24 fps: every hop ending by then is done.
    got = []
    for t in np.arange(1, 73) / 24:
        frame = offline.advance_to(float(t))
        got.extend(offline.history.snapshot(last=offline.hops_done - len(got)))
        assert frame.t_audio <= t < frame.t_audio + HOP / SR
    assert got == expected[:len(got)] and len(got) == int(3.0 * SR) // HOP
    # Listeners get each hop's samples (all channels) and the time of its last sample.
    assert np.array_equal(np.concatenate([b for b, _ in blocks]), stereo[:len(got) * HOP])
    assert [t for _, t in blocks] == [f.t_audio for f in got]


def test_skip_to_analyses_without_announcing() -> None:
    audio, _ = click_train(bpm=120, duration_s=2.0)
    offline = OfflineAnalyzer(audio, sample_rate=SR, settings=ExtractorSettings())
    times: list[float] = []
    offline.add_block_listener(lambda block, t: times.append(t))
    offline.skip_to(1.0)
    offline.advance_to(1.1)
    assert offline.hops_done == round(1.1 * SR) // HOP
    assert times[0] > 1.0 and len(times) == offline.hops_done - round(1.0 * SR) // HOP


@pytest.mark.slow  # librosa's beat tracker compiles itself (numba) on its first call: ~6 s
def test_lookahead_knows_the_beat_from_the_first_click() -> None:
    audio, clicks = click_train(bpm=120, duration_s=8.0)
    beats = LookaheadBeats.track(audio, sr=SR)
    # librosa's tracker finds the clicks (it may skip the first one or two at the edge).
    matched = [np.min(np.abs(clicks - b)) for b in beats.beats_s]
    assert len(beats.beats_s) >= len(clicks) - 2 and max(matched) < 0.03

    offline = OfflineAnalyzer(audio, sample_rate=SR, settings=ExtractorSettings(),
                              lookahead=beats)
    causal = OfflineAnalyzer(audio, sample_rate=SR, settings=ExtractorSettings())
    early = offline.advance_to(1.25)  # two clicks in: the causal tracker is still listening
    assert abs(early.bpm - 120.0) < 1.0 and causal.advance_to(1.25).bpm == 0.0
    assert abs(early.beat_phase - 0.5) < 0.05  # halfway between the clicks at 1.0 and 1.5
    flagged = []
    offline = OfflineAnalyzer(audio, sample_rate=SR, settings=ExtractorSettings(),
                              lookahead=beats)
    for t in np.arange(1, 8 * SR // HOP) * HOP / SR:
        frame = offline.advance_to(float(t))
        if frame.beat:
            flagged.append(frame.t_audio)
    # Each tracked beat is flagged once, in the hop that contains it.
    assert len(flagged) == len(beats.beats_s)
    np.testing.assert_allclose(flagged, beats.beats_s, atol=HOP / SR + 1e-9)
