"""The `audio` part of `gansmania bench`: the live feature extractor's cost per hop on the
bundled demo track, one thread. (`python -m bench.audio_cost` adds onset delays on rendered
music.)"""

from __future__ import annotations

import time

import numpy as np

from visualizer.audio.features import ExtractorSettings, FeatureExtractor


def hop_cost_us(audio: np.ndarray, *, sr: int, hop: int, detector: str = "multiband"
                ) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each `FeatureExtractor.process` call over ``audio`` (shape (n,)), microseconds.

    Returns (wall time, thread CPU time): on a busy machine the wall time includes waiting
    for a core; the CPU time is the work itself.
    """
    extractor = FeatureExtractor(ExtractorSettings(sr=sr, hop=hop, onset_detector=detector))
    n = audio.shape[0] // hop
    wall, cpu = np.zeros(n), np.zeros(n)
    for i in range(n):
        block = audio[i * hop:(i + 1) * hop]
        wall_started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
        extractor.process(block, t_audio=(i + 1) * hop / sr)
        cpu[i] = time.thread_time_ns() - cpu_started
        wall[i] = time.perf_counter_ns() - wall_started
    return wall / 1000.0, cpu / 1000.0


def rows(*, seconds: float, hop: int = 256) -> list[dict]:
    """One row per onset detector: ms per hop (median, p95) over the first ``seconds`` of the
    demo track, in `gansmania bench`'s shape."""
    import soundfile

    from visualizer.audio.demo import demo_track_path
    from visualizer.core.measure import percentiles

    audio, sr = soundfile.read(str(demo_track_path()), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)[: int(seconds * sr)]
    result = []
    for detector in ("multiband", "flux", "aubio"):
        wall_us, _ = hop_cost_us(audio, sr=sr, hop=hop, detector=detector)
        stats = percentiles(wall_us / 1000.0)
        hop_ms = hop / sr * 1000
        result.append({"part": "audio", "backend": f"features ({detector} onsets)",
                       "config": f"hop {hop} @ {sr} Hz", "n": len(wall_us),
                       "ms_med": stats["median"], "ms_p95": stats["p95"],
                       "note": f"{100 * stats['median'] / hop_ms:.1f}% of the {hop_ms:.2f} ms hop"})
    return result
