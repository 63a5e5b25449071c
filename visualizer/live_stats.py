"""What a live run measured: display and generator rates, audio->photon latency from the
frames' stamps, onsets and tempo, and where the CPU went. `live --stats` writes its result.

Two latencies, both from the capture clock to the present stamp:

- ``latency_ms``: how old the audio behind the generator image on screen is (every new image);
- ``onset_ms``: for every onset, from its hop's capture time to the first frame that shows it,
  on each path: ``shader`` (the frame's uniforms came from that hop or a newer one) and
  ``generator`` (the image did). This is what `bench.latency_rig` measures from outside, less
  the part of the hop the onset sat in (under one hop).
"""

from __future__ import annotations

import collections
import math
import os
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visualizer.audio.frames import FeatureFrame
    from visualizer.render.renderer import PresentedFrame

HUD_WINDOW_S = 1.0  # fps and latency on the HUD: over the last second
PATHS = ("shader", "generator")  # the ways an onset reaches the screen (see onset_ms)


class LiveStats:
    """Counters and samples behind --stats and the HUD numbers (render thread only)."""

    def __init__(self) -> None:
        self.gen_version = 0  # worker slot version last taken
        self.arrived_s: float | None = None  # when the newest generator frame was taken
        self.gen_interval_s: float | None = None  # smoothed time between generator frames
        self.frames_displayed = self.frames_taken = 0
        self.latencies_ms: list[float] = []
        self.gen_ms: list[float] = []
        self._pending: float | None = None  # t_audio of a taken frame not yet presented
        self._presents: collections.deque[float] = collections.deque()
        self._recent_latency: collections.deque[tuple[float, float]] = collections.deque()
        self._hop = -1
        # Capture times of onsets not yet shown on each path (oldest first), and what each took.
        self._unshown: dict[str, collections.deque[float]] = {p: collections.deque() for p in PATHS}
        self.onset_ms: dict[str, list[float]] = {p: [] for p in PATHS}
        self.audio_s = 0.0  # seconds of audio analysed up to the newest frame seen
        self.onsets = 0
        self.bpms: list[float] = []
        self._start = self._end = 0.0
        self._cpu_start: dict[str, float] = {}
        self._cpu_end: dict[str, float] = {}

    def start(self, now: float) -> None:
        self._start = now
        self._cpu_start = thread_cpu_s()

    def stop(self, now: float) -> None:
        self._end = now
        self._cpu_end = thread_cpu_s()

    def generated(self, frame, version: int, now: float) -> None:
        self.frames_taken += 1
        self.gen_version = version
        if self.arrived_s is not None:
            interval = now - self.arrived_s
            self.gen_interval_s = interval if self.gen_interval_s is None else \
                0.8 * self.gen_interval_s + 0.2 * interval
        self.arrived_s = now
        self.gen_ms.append(frame.gen_ms)
        self._pending = frame.t_audio if frame.t_audio > 0 else None

    def presented(self, presented: PresentedFrame) -> None:
        self.frames_displayed += 1
        self._presents.append(presented.presented_s)
        if self._pending is not None and presented.frame_capture_s == self._pending:
            latency = (presented.presented_s - self._pending) * 1e3
            self.latencies_ms.append(latency)
            self._recent_latency.append((presented.presented_s, latency))
            self._pending = None
        shown = {"shader": presented.fx_capture_s, "generator": presented.frame_capture_s}
        for path, waiting in self._unshown.items():
            stamp = shown[path]
            while waiting and stamp is not None and stamp >= waiting[0] - 1e-9:
                self.onset_ms[path].append((presented.presented_s - waiting.popleft()) * 1e3)

    def features(self, analyzer, frame: FeatureFrame | None) -> None:
        """Count onsets and tempo over every hop, including those the display skipped."""
        if frame is None or frame.hop_index == self._hop:
            return
        missing = frame.hop_index - self._hop if self._hop >= 0 else frame.hop_index + 1
        for f in analyzer.history.snapshot(last=min(missing, analyzer.history.capacity)):
            if f.hop_index > self._hop:
                self.onsets += f.onset
                if f.onset:
                    for waiting in self._unshown.values():
                        waiting.append(f.t_audio)
                if f.bpm > 0:
                    self.bpms.append(f.bpm)
        self._hop = frame.hop_index
        self.audio_s = (frame.hop_index + 1) * analyzer.settings.hop / analyzer.settings.sr

    def recent_fps(self, now: float) -> float | None:
        while self._presents and now - self._presents[0] > HUD_WINDOW_S:
            self._presents.popleft()
        if len(self._presents) < 2:
            return None
        return (len(self._presents) - 1) / max(self._presents[-1] - self._presents[0], 1e-6)

    def recent_latency_ms(self) -> float | None:
        while self._recent_latency and self._recent_latency[-1][0] - self._recent_latency[0][0] > HUD_WINDOW_S:
            self._recent_latency.popleft()
        return statistics.median(l for _, l in self._recent_latency) if self._recent_latency else None

    def result(self, worker, *, backend: str, reason: str, output_size) -> dict[str, Any]:
        from visualizer.core.measure import percentiles

        generated = worker.frames_generated

        elapsed = max(self._end - self._start, 1e-6)
        latency = percentiles(self.latencies_ms)
        gen = percentiles(self.gen_ms)
        # A tempo is reported once it settled: the median over the second half of the run.
        bpm = statistics.median(self.bpms[len(self.bpms) // 2:]) if self.bpms else 0.0
        return {
            "display_fps": self.frames_displayed / elapsed,
            "gen_fps": generated / elapsed,
            "frames_displayed": self.frames_displayed,
            "frames_generated": generated,
            # Painted but never shown: a newer one arrived before the display took it.
            "frames_dropped": max(generated - self.frames_taken, 0),
            "latency_ms": {"median": _finite(latency["median"]), "p95": _finite(latency["p95"])},
            "onsets": self.onsets,
            "onset_ms": {path: _summary(self.onset_ms[path]) for path in PATHS},
            # The audio starts before the display loop, so it may run ahead of duration_s.
            "audio_s": self.audio_s,
            "bpm": round(bpm, 2),
            "duration_s": elapsed,
            "generator_ms": {"median": _finite(gen["median"]), "p95": _finite(gen["p95"])},
            "backend": backend,
            "backend_reason": reason,
            "output_size": list(output_size),
            "generator_errors": 0 if worker.error is None else worker.error.count,
            # Where the CPU went during the run (cores busy on average, by thread name): on a
            # small CPU this says whether the display, the rasteriser or the generator is short.
            "cpu_cores": {name: round((used - self._cpu_start.get(name, 0.0)) / elapsed, 3)
                          for name, used in sorted(self._cpu_end.items())
                          if used - self._cpu_start.get(name, 0.0) > 0.005 * elapsed},
        }


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds used so far by this process's threads, summed by thread name (Linux /proc;
    empty elsewhere). Names: MainThread's is the process name, "generator", "audio-analysis",
    "llvmpipe-N" (Mesa's rasteriser), torch/OpenMP workers..."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used: dict[str, float] = {}
    for task in Path("/proc/self/task").glob("*"):
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        name = "llvmpipe" if name.startswith("llvmpipe") else name
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used


def _summary(samples_ms: list[float]) -> dict[str, Any]:
    from visualizer.core.measure import percentiles

    q = percentiles(samples_ms)
    return {"median": _finite(q["median"]), "p95": _finite(q["p95"]), "count": len(samples_ms)}


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value
