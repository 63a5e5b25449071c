"""Onsets: clicks at known times are found within one hop, early, and silence gives none."""

import numpy as np
import pytest

from bench.rigs.clicks import click_delays
from tests.signals import SR, clicks_at, silence
from visualizer.audio.analyzer import analyze_audio
from visualizer.audio.features import ExtractorSettings


def known_clicks(hop: int, seed: int = 0) -> np.ndarray:
    """Clicks every 0.3 s, each at a random sample inside its hop."""
    rng = np.random.default_rng(seed)
    return np.arange(0.5, 7.5, 0.3) + rng.integers(0, hop, 24) / SR


@pytest.mark.parametrize("detector", ["flux", "aubio"])
@pytest.mark.parametrize("hop", [128, 256])
def test_every_click_is_found_within_one_hop(detector, hop):
    times = known_clicks(hop)
    audio = clicks_at(times, duration_s=8.0)
    result = analyze_audio(audio, sr=SR, settings=ExtractorSettings(hop=hop,
                                                                    onset_detector=detector))
    found = np.asarray(result.onsets_s)
    assert found.shape == times.shape, f"found {found}, expected {times}"
    assert np.max(np.abs(found - times)) <= hop / SR


def test_quiet_clicks_below_the_silence_gate_are_ignored():
    audio = clicks_at(known_clicks(256), duration_s=8.0, amplitude=10 ** (-75 / 20),
                      noise_db=None)
    assert analyze_audio(audio, sr=SR).onsets_s == ()


def test_silence_and_steady_noise_give_no_onsets():
    assert analyze_audio(silence(duration_s=3.0), sr=SR).onsets_s == ()
    noise = np.random.default_rng(0).normal(0, 0.05, 10 * SR).astype(np.float32)
    assert len(analyze_audio(noise, sr=SR).onsets_s) <= 1  # at most where the noise starts


@pytest.mark.parametrize("hop", [128, 256])
def test_the_flux_onset_flag_comes_within_two_hops(hop):
    delays, missed = click_delays(sr=SR, hop=hop, clicks=30)
    assert missed == 0
    assert delays.max() <= 2 * hop  # samples from the click to the end of the flagged hop
