"""Clicks at random places inside hops, and the delay from each click to the hop whose feature
frame raises the onset flag (the onset detector's algorithmic delay, in samples)."""

from __future__ import annotations

import numpy as np

from visualizer.audio.features import ExtractorSettings, FeatureExtractor


def click_audio(*, sr: int, hop: int, clicks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Clicks every 0.25 s, each shifted randomly inside a hop, over -70 dBFS noise.

    Returns (audio shape (n,) float32, click start sample indices).
    """
    rng = np.random.default_rng(seed)
    starts = (np.arange(clicks) * 0.25 + 0.5) * sr + rng.integers(0, hop, clicks)
    audio = rng.normal(0.0, 10 ** (-70 / 20), int(starts[-1] + sr)).astype(np.float32)
    t = np.arange(int(0.01 * sr)) / sr
    burst = (np.sin(2 * np.pi * 1600 * t) + 0.5 * np.sin(2 * np.pi * 3200 * t)) * np.exp(-t / 0.002)
    for start in starts.astype(int):
        audio[start:start + burst.shape[0]] += 0.5 * burst.astype(np.float32)
    return audio, starts


def click_delays(*, sr: int, hop: int, detector: str = "multiband", clicks: int = 80,
                 seed: int = 0) -> tuple[np.ndarray, int]:
    """Onset flag delays (samples) for clicks at random positions; and how many were missed.

    Delay = end of the hop whose frame has ``onset`` set, minus the click's first sample.
    """
    audio, starts = click_audio(sr=sr, hop=hop, clicks=clicks, seed=seed)
    extractor = FeatureExtractor(ExtractorSettings(sr=sr, hop=hop, onset_detector=detector))
    flags = [(i + 1) * hop for i in range(audio.shape[0] // hop)
             if extractor.process(audio[i * hop:(i + 1) * hop], t_audio=0.0).onset]
    delays, missed = [], 0
    flags_array = np.asarray(flags)
    for start in starts:
        after = flags_array[(flags_array > start) & (flags_array <= start + 0.1 * sr)]
        if after.size:
            delays.append(after[0] - start)
        else:
            missed += 1
    return np.asarray(delays, dtype=float), missed


def aubio_default_onset_delays(*, sr: int, clicks: int = 80, seed: int = 0) -> np.ndarray:
    """The same click test for plain ``aubio.onset("default", 1024, 512)``, in samples."""
    import aubio

    hop = 512
    audio, starts = click_audio(sr=sr, hop=hop, clicks=clicks, seed=seed)
    onset = aubio.onset("default", 1024, hop, sr)
    flags = np.asarray([(i + 1) * hop for i in range(audio.shape[0] // hop)
                        if onset(audio[i * hop:(i + 1) * hop])[0]])
    delays = []
    for start in starts:
        after = flags[(flags > start) & (flags <= start + 0.2 * sr)]
        if after.size:
            delays.append(after[0] - start)
    return np.asarray(delays, dtype=float)
