"""Beat phase on mastered-loud club loops: are the beats on the kicks or on the off-beat?

    python -m bench.club_loops --json bench/results/club_loops.json [--set tuning|held_out|all]

Each loop is `tests.signals.club_loop` (a sine kick on every beat, off-beat hats, a bass line
sharing the kick's mel band, soft-clipped), 20 s long. For our tracker and plain aubio it
reports the median phase of the beats after 5 s against the kicks (in periods, 0: on the
kicks, -0.5: on the off-beat) and beat F (70 ms) after 5 s; a loop counts as on the beat when
its median phase is within 0.05 period of the kicks.

TUNING loops are those earlier attempts read (96/128/160 BPM, seeds 0, 1, 3, 4; 100/120/140,
seeds 1, 2; no snare, no bass and a gentler limiter at 96/128/160, seed 3): a design may be
fitted on them. HELD_OUT loops were fixed before the kick-phase work began and are read once,
after its design is final: other tempi and seeds, a lower kick, an off-beat-only bass, a lower
bass line (E minor: 82-98 Hz, nearer the kick) and sixteenth hats.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import mir_eval
import numpy as np

from bench import median_beat_phase, rows_by_set
from tests.signals import SR, club_loop
from visualizer.audio.analyzer import analyze_audio
from visualizer.audio.features import ExtractorSettings
from visualizer.benchmarks.report import report

DURATION_S = 20.0
SKIP_S = 5.0  # beats before this are the tracker settling in
ON_BEAT = 0.05  # a median phase within this fraction of a period of the kicks is on the beat


@dataclasses.dataclass(frozen=True)
class Loop:
    name: str
    bpm: float
    seed: int
    variant: dict = dataclasses.field(default_factory=dict)  # club_loop's keyword arguments


_TUNING_VARIANTS = {"no_snare": {"snare": False}, "no_bass": {"bass": "none"},
                    "drive_1": {"drive": 1.0}}
_HELD_OUT_VARIANTS = {"low_kick": {"kick_hz": (130.0, 42.0)}, "offbeat_bass": {"bass": "offbeat"},
                      "e_minor_bass": {"roots": (40, 40, 43, 38)},
                      "sixteenth_hats": {"hats": "sixteenths"}}
TUNING = ([Loop("full", bpm, seed) for bpm in (96, 128, 160) for seed in (0, 1, 3, 4)]
          + [Loop("full", bpm, seed) for bpm in (100, 120, 140) for seed in (1, 2)]
          + [Loop(name, bpm, 3, variant) for name, variant in _TUNING_VARIANTS.items()
             for bpm in (96, 128, 160)])
HELD_OUT = ([Loop("full", bpm, seed) for bpm in (104, 118, 136, 150, 172) for seed in (5, 6)]
            + [Loop(name, bpm, 7, variant) for name, variant in _HELD_OUT_VARIANTS.items()
               for bpm in (118, 150)])
SETS = {"tuning": TUNING, "held_out": HELD_OUT}
COLUMNS = ("set", "loop", "bpm", "seed", "phase", "beat_f", "aubio_phase", "aubio_beat_f")


def measure(loop: Loop, tracker: str) -> tuple[float, float]:
    """(median beat phase, beat F after SKIP_S) of ``tracker`` on ``loop``."""
    audio, kicks = club_loop(bpm=loop.bpm, duration_s=DURATION_S, seed=loop.seed,
                             **loop.variant)
    beats = np.asarray(analyze_audio(audio, sr=SR,
                                     settings=ExtractorSettings(beat_tracker=tracker)).beats_s)
    f = mir_eval.beat.f_measure(kicks[kicks >= SKIP_S], beats[beats >= SKIP_S],
                                f_measure_threshold=0.07)
    return median_beat_phase(beats[beats >= SKIP_S], kicks[0], loop.bpm), float(f)


def loop_rows(loops: Sequence[Loop], set_name: str) -> list[dict]:
    rows = []
    for loop in loops:
        phase, f = measure(loop, "predictive")
        aubio_phase, aubio_f = measure(loop, "aubio")
        rows.append({"set": set_name, "loop": loop.name, "bpm": loop.bpm, "seed": loop.seed,
                     "phase": round(phase, 3), "beat_f": round(f, 3),
                     "aubio_phase": round(aubio_phase, 3), "aubio_beat_f": round(aubio_f, 3)})
    return rows


def summary_row(rows: Sequence[dict], set_name: str) -> dict:
    def on_beat(key: str) -> str:
        return f"{sum(abs(r[key]) <= ON_BEAT for r in rows)}/{len(rows)} on"

    return {"set": set_name, "loop": "ON THE BEAT / MEAN F", "phase": on_beat("phase"),
            "beat_f": round(float(np.mean([r["beat_f"] for r in rows])), 3),
            "aubio_phase": on_beat("aubio_phase"),
            "aubio_beat_f": round(float(np.mean([r["aubio_beat_f"] for r in rows])), 3)}


def main() -> None:
    rows, json_path = rows_by_set(__doc__, SETS, loop_rows, summary_row)
    report(f"club loops: median beat phase vs the kicks (periods; on the beat within "
           f"{ON_BEAT}) and beat F after {SKIP_S:g} s", COLUMNS, rows,
           json_path=json_path)


if __name__ == "__main__":
    main()
