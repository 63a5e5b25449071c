"""Per-hop analysis cost (median, p99) and onset delay at hop 128 and 256.

    python -m bench.audio_cost --json bench/results/audio_cost.json

Times `FeatureExtractor.process` per hop (median and p99, microseconds, one thread; wall time
and the thread's CPU time, which excludes waiting for a busy core) on rendered music at 48 kHz,
and measures the onset flag's algorithmic delay with clicks placed at random positions inside
hops: from the click's first sample entering the callback to the end of the hop whose frame
carries the onset flag. Needs `make bench-packages` (fluidsynth) and the dev extra (mido).
"""

from __future__ import annotations

import os

# One core, as the live loop's analysis thread has: no BLAS thread pools.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import math  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from rich.console import Console  # noqa: E402

from bench import parser  # noqa: E402
from bench.rigs.clicks import aubio_default_onset_delays, click_delays  # noqa: E402
from bench.rigs.musicgen import BENCH_SONGS, Song, synthesize_song  # noqa: E402
from visualizer.benchmarks.audio import hop_cost_us  # noqa: E402
from visualizer.benchmarks.report import report  # noqa: E402
from visualizer.core.measure import percentiles  # noqa: E402


def cost_rows(*, hops: Sequence[int] = (128, 256), sr: int = 48000,
              song: Song = BENCH_SONGS[0]) -> list[dict]:
    """Per-hop cost and onset delay per hop size and onset detector (see the module doc)."""
    rendered = synthesize_song(song, sr=sr)
    rows = []
    for hop in hops:
        for detector in ("multiband", "flux", "aubio"):
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


def main() -> None:
    args = parser(__doc__).parse_args()
    report("audio per-hop cost and onset delay (48 kHz, one thread)", COST_COLUMNS,
           cost_rows(), json_path=args.json, console=Console(width=200))


if __name__ == "__main__":
    main()
