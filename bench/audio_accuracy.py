"""Beat, tempo and onset accuracy on rendered music: GANsmania's extractor vs plain aubio.

    python -m bench.audio_accuracy --json bench/results/audio_accuracy.json

Renders `bench.rigs.musicgen.BENCH_SONGS` (drums + bass + chords through fluidsynth, with
ground truth) and scores the project's extractor beside plain aubio with default settings:
beat F-measure (mir_eval, 70 ms, beats after 5 s), BPM error (median relative error after 5 s,
skipping 6 s after a tempo change), metrical-level errors, onset F-measure (mir_eval, 50 ms).
Needs fluidsynth and fluid-soundfont-gm (`make bench-packages`) and the dev extra (mido).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from rich.console import Console

from bench import parser
from bench.rigs.musicgen import BENCH_SONGS, SynthesizedSong, Song, synthesize_song
from visualizer.audio.analyzer import analyze_audio
from visualizer.audio.features import ExtractorSettings
from visualizer.benchmarks.report import report

BEAT_SKIP_S = 5.0  # beats and tempo before this are the trackers' warm-up, not scored
TEMPO_CHANGE_SKIP_S = 6.0  # nor the first seconds after a tempo change
METRICAL_RATIOS = (0.5, 2.0, 1 / 3, 3.0, 2 / 3, 1.5)


@dataclasses.dataclass(frozen=True)
class TrackerResult:
    beats_s: np.ndarray
    onsets_s: np.ndarray
    bpm_track: np.ndarray  # shape (hops, 2): time s, bpm


def ours(rendered: SynthesizedSong, *, hop: int = 256) -> TrackerResult:
    result = analyze_audio(rendered.audio, sr=rendered.sr, settings=ExtractorSettings(hop=hop))
    return TrackerResult(np.asarray(result.beats_s), np.asarray(result.onsets_s),
                         np.asarray(result.bpm_track))


def plain_aubio(rendered: SynthesizedSong) -> TrackerResult:
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


def score(rendered: SynthesizedSong, result: TrackerResult) -> dict[str, float]:
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
        rendered = synthesize_song(song, sr=sr)
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


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--hop", type=int, default=256, choices=(64, 128, 256))
    args = options.parse_args()
    rows, summary = accuracy_rows(hop=args.hop)
    report("audio accuracy: ours vs plain aubio (beat F 70 ms, onset F 50 ms, after 5 s)",
           ACCURACY_COLUMNS, rows, json_path=args.json, extra={"summary": summary},
           console=Console(width=200))


if __name__ == "__main__":
    main()
