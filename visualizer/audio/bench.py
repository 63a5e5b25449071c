"""Audio benchmarks: accuracy on rendered music, per-hop cost and onset delay.

`accuracy_rows` renders `musicgen.BENCH_SONGS` (drums + bass + chords through fluidsynth, with
ground truth) and scores the project's extractor beside plain aubio with default settings:
beat F-measure (mir_eval, 70 ms, beats after 5 s), BPM error (median relative error after 5 s,
skipping 6 s after a tempo change), metrical-level errors, onset F-measure (mir_eval, 50 ms).

`cost_rows` times `FeatureExtractor.process` per hop (median and p99, microseconds, one
thread; wall time and the thread's CPU time, which excludes waiting for a busy core) on
rendered music, and measures the onset flag's algorithmic delay with clicks placed
at random positions inside hops: from the click's first sample entering the callback to the
end of the hop whose frame carries the onset flag.

The `bench/audio_*.py` scripts print these rows; `gansmania bench` can call them too.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

import numpy as np

from visualizer.audio.analyzer import analyze_audio
from visualizer.audio.features import ExtractorSettings, FeatureExtractor
from visualizer.audio.musicgen import BENCH_SONGS, Rendered, Song, render_song

BEAT_SKIP_S = 5.0  # beats and tempo before this are the trackers' warm-up, not scored
TEMPO_CHANGE_SKIP_S = 6.0  # nor the first seconds after a tempo change
METRICAL_RATIOS = (0.5, 2.0, 1 / 3, 3.0, 2 / 3, 1.5)


@dataclasses.dataclass(frozen=True)
class TrackerResult:
    beats_s: np.ndarray
    onsets_s: np.ndarray
    bpm_track: np.ndarray  # shape (hops, 2): time s, bpm


def ours(rendered: Rendered, *, hop: int = 256) -> TrackerResult:
    result = analyze_audio(rendered.audio, sr=rendered.sr, settings=ExtractorSettings(hop=hop))
    return TrackerResult(np.asarray(result.beats_s), np.asarray(result.onsets_s),
                         np.asarray(result.bpm_track))


def plain_aubio(rendered: Rendered) -> TrackerResult:
    """aubio.tempo and aubio.onset, "default" method, 1024/512, no parameter touched."""
    import aubio

    sr, hop = rendered.sr, 512
    tempo = aubio.tempo("default", 1024, hop, sr)
    onset = aubio.onset("default", 1024, hop, sr)
    beats, onsets, track = [], [], []
    audio = rendered.audio
    for i in range(audio.shape[0] // hop):
        block = audio[i * hop:(i + 1) * hop]
        if tempo(block)[0]:
            beats.append(tempo.get_last_s())
        if onset(block)[0]:
            onsets.append(onset.get_last_s())
        track.append(((i + 1) * hop / sr, tempo.get_bpm()))
    return TrackerResult(np.asarray(beats), np.asarray(onsets), np.asarray(track))


def score(rendered: Rendered, result: TrackerResult) -> dict[str, float]:
    """Beat F, onset F, BPM error (%), the median BPM and its metrical ratio to the truth."""
    import mir_eval

    reference = rendered.beats_s[rendered.beats_s >= BEAT_SKIP_S]
    estimated = result.beats_s[result.beats_s >= BEAT_SKIP_S]
    beat_f = float(mir_eval.beat.f_measure(reference, estimated, f_measure_threshold=0.07))
    onset_f = float(mir_eval.onset.f_measure(rendered.onsets_s, result.onsets_s,
                                             window=0.05)[0])
    t, bpm = result.bpm_track[:, 0], result.bpm_track[:, 1]
    truth = rendered.bpm_at(t)
    scored = (t >= BEAT_SKIP_S) & ~np.isnan(truth)
    for start, _, _ in rendered.tempo_segments[1:]:
        scored &= ~((t >= start) & (t < start + TEMPO_CHANGE_SKIP_S))
    ratio = bpm[scored] / truth[scored]
    error = float(np.median(np.abs(ratio - 1.0))) * 100 if scored.any() else math.nan
    median_ratio = float(np.median(ratio)) if scored.any() else math.nan
    metrical = next((r for r in METRICAL_RATIOS if abs(median_ratio / r - 1) < 0.04), 1.0)
    return {"beat_f": beat_f, "onset_f": onset_f, "bpm_error_pct": error,
            "bpm": float(np.median(bpm[scored])) if scored.any() else math.nan,
            "metrical_ratio": metrical}


def accuracy_rows(songs: Sequence[Song] = BENCH_SONGS, *, hop: int = 256,
                  sr: int = 44100) -> tuple[list[dict], dict]:
    """One row per song (ours vs plain aubio) and a summary dict (means, error counts)."""
    rows = []
    for song in songs:
        rendered = render_song(song, sr=sr)
        a, b = score(rendered, ours(rendered, hop=hop)), score(rendered, plain_aubio(rendered))
        tempi = [bpm for _, _, bpm in rendered.tempo_segments]
        changes = [bpm for i, bpm in enumerate(tempi) if i == 0 or bpm != tempi[i - 1]]
        truth = " -> ".join(f"{bpm:g}" for bpm in changes)
        rows.append({
            "song": song.name, "true_bpm": truth,
            "beat_f": a["beat_f"], "aubio_beat_f": b["beat_f"],
            "bpm": a["bpm"], "aubio_bpm": b["bpm"],
            "bpm_err_%": a["bpm_error_pct"], "aubio_bpm_err_%": b["bpm_error_pct"],
            "level": _level(a["metrical_ratio"]), "aubio_level": _level(b["metrical_ratio"]),
            "onset_f": a["onset_f"], "aubio_onset_f": b["onset_f"],
        })
    summary = {
        "mean_beat_f": float(np.mean([r["beat_f"] for r in rows])),
        "aubio_mean_beat_f": float(np.mean([r["aubio_beat_f"] for r in rows])),
        "mean_bpm_err_%": float(np.nanmean([r["bpm_err_%"] for r in rows])),
        "aubio_mean_bpm_err_%": float(np.nanmean([r["aubio_bpm_err_%"] for r in rows])),
        "metrical_errors": sum(r["level"] != "ok" for r in rows),
        "aubio_metrical_errors": sum(r["aubio_level"] != "ok" for r in rows),
        "mean_onset_f": float(np.mean([r["onset_f"] for r in rows])),
        "aubio_mean_onset_f": float(np.mean([r["aubio_onset_f"] for r in rows])),
        "hop": hop, "sr": sr,
    }
    rows.append({"song": "MEAN", "true_bpm": "", "beat_f": summary["mean_beat_f"],
                 "aubio_beat_f": summary["aubio_mean_beat_f"],
                 "bpm_err_%": summary["mean_bpm_err_%"],
                 "aubio_bpm_err_%": summary["aubio_mean_bpm_err_%"],
                 "level": f"{summary['metrical_errors']} wrong",
                 "aubio_level": f"{summary['aubio_metrical_errors']} wrong",
                 "onset_f": summary["mean_onset_f"],
                 "aubio_onset_f": summary["aubio_mean_onset_f"]})
    return rows, summary


def _level(ratio: float) -> str:
    return "ok" if ratio == 1.0 else f"x{ratio:.3g}"


ACCURACY_COLUMNS = ("song", "true_bpm", "beat_f", "aubio_beat_f", "bpm", "aubio_bpm",
                    "bpm_err_%", "aubio_bpm_err_%", "level", "aubio_level", "onset_f",
                    "aubio_onset_f")


# ---------------------------------------------------------------------------------- cost

def hop_cost_us(audio: np.ndarray, *, sr: int, hop: int, detector: str = "flux"
                ) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each `FeatureExtractor.process` call over ``audio``, microseconds.

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


def click_delays(*, sr: int, hop: int, detector: str = "flux", clicks: int = 80,
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


def cost_rows(*, hops: Sequence[int] = (128, 256), sr: int = 48000,
              song: Song = BENCH_SONGS[0]) -> list[dict]:
    """Per-hop cost and onset delay per hop size and onset detector (see the module doc)."""
    from visualizer.core.bench import percentiles

    rendered = render_song(song, sr=sr)
    rows = []
    for hop in hops:
        for detector in ("flux", "aubio"):
            wall, cpu = hop_cost_us(rendered.audio, sr=sr, hop=hop, detector=detector)
            wall_p, cpu_p = percentiles(wall), percentiles(cpu)
            delays, missed = click_delays(sr=sr, hop=hop, detector=detector)
            hop_us = hop / sr * 1e6
            rows.append({
                "hop": hop, "onset_detector": detector, "hop_ms": hop / sr * 1000,
                "median_us": wall_p["median"], "p99_us": wall_p["p99"],
                "cpu_median_us": cpu_p["median"], "cpu_p99_us": cpu_p["p99"],
                "median_%_of_hop": 100 * wall_p["median"] / hop_us,
                "cpu_p99_%_of_hop": 100 * cpu_p["p99"] / hop_us,
                "onset_delay_hops": float(delays.mean() / hop) if delays.size else math.nan,
                "onset_delay_max_hops": float(delays.max() / hop) if delays.size else math.nan,
                "onset_delay_ms": float(delays.mean() / sr * 1000) if delays.size else math.nan,
                "clicks_missed": missed,
            })
    aubio_delays = aubio_default_onset_delays(sr=sr)
    rows.append({"hop": 512, "onset_detector": "plain aubio (default)", "hop_ms": 512 / sr * 1000,
                 "onset_delay_hops": float(aubio_delays.mean() / 512),
                 "onset_delay_max_hops": float(aubio_delays.max() / 512),
                 "onset_delay_ms": float(aubio_delays.mean() / sr * 1000)})
    return rows


COST_COLUMNS = ("hop", "onset_detector", "hop_ms", "median_us", "p99_us", "cpu_median_us",
                "cpu_p99_us", "median_%_of_hop", "cpu_p99_%_of_hop", "onset_delay_hops",
                "onset_delay_max_hops", "onset_delay_ms", "clicks_missed")
