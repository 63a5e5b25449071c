"""The analysis thread of the live loop, and the same extractor run offline over a file.

`Analyzer` reads hops from a source's ring, runs the `FeatureExtractor` and publishes each
`FeatureFrame` into ``latest`` (a latest-value slot) and ``history`` (the last few seconds).
When the source fails or falls silent it keeps publishing silent frames at the hop rate, so
the visuals calm down instead of freezing, and it picks the audio up again when it returns.

`analyze_audio`/`analyze_file` run the identical extractor as fast as the CPU allows and
collect what `gansmania analyze` prints. `FeatureSource` is what the show reads features
from: this Analyzer live, `visualizer.audio.offline.OfflineAnalyzer` in a render.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from visualizer.audio.capture import AudioSource, SourceStatus
from visualizer.audio.features import ExtractorSettings, FeatureExtractor
from visualizer.audio.frames import FeatureFrame
from visualizer.audio.sources import mixdown
from visualizer.core.errors import GansmaniaError
from visualizer.core.ring import History
from visualizer.core.slot import LatestSlot

log = logging.getLogger(__name__)

BlockListener = Callable[[np.ndarray, float], None]


class FeatureSource(Protocol):
    """What the show reads features from: the live `Analyzer` (a thread on a sound card or a
    file in real time) and the offline one (`gansmania render`, stepped by a simulated clock)."""

    name: str  # what is analysed: a device or file name (log, HUD)
    latest: LatestSlot[FeatureFrame]  # the newest frame
    history: History[FeatureFrame]  # the recent past (stats, recorders)
    settings: ExtractorSettings  # hop and sample rate of the frames

    @property
    def status(self) -> SourceStatus: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def tap(self, t: float | None = None) -> None:
        """Tap tempo at time ``t`` (the frames' clock; default now)."""

    def set_bpm(self, bpm: float | None) -> None:
        """Hold the tempo at ``bpm``; None returns it to the tracker."""

    def add_block_listener(self, listener: BlockListener) -> Callable[[], None]:
        """``listener(block, t_audio)`` for every analysed hop; returns its remover."""

    def cost_percentiles_us(self) -> tuple[float, float]:
        """Analysis cost per hop, median and p95 (µs); NaN when not measured."""


class Analyzer:
    """Runs the feature extractor on ``source`` in a thread (see the module docstring)."""

    def __init__(self, source: AudioSource, settings: ExtractorSettings, *, channel: int = 0,
                 history_s: float = 10.0, stall_s: float = 0.25) -> None:
        """``settings.sr`` is replaced by the source's rate; ``channel``: 1-based, 0 = mix."""
        self.source = source
        self.settings = settings
        self.channel = channel
        self.history_s = history_s
        self.stall_s = stall_s
        self.latest: LatestSlot[FeatureFrame] = LatestSlot()
        self.history: History[FeatureFrame] = History(1)
        self.extractor: FeatureExtractor | None = None
        self.cost_us = np.zeros(1024, dtype=np.float64)  # per-hop analysis cost, a ring
        self._cost_count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._block_listeners: tuple[BlockListener, ...] = ()
        # An external tempo (Ableton Link, MIDI clock, tap-only): it rewrites each frame's bpm,
        # beat phase and beat flag on the analysis thread (visualizer.control.tempo).
        self.tempo_override: Callable[[FeatureFrame], FeatureFrame] | None = None

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def status(self) -> SourceStatus:
        return self.source.status

    def start(self) -> None:
        """Start the source (bad devices/files raise a one-line GansmaniaError) and the thread."""
        self.source.start()
        if self.channel > self.source.channels:
            self.source.stop()
            raise GansmaniaError(f"{self.source.name} has {self.source.channels} channels; "
                                 f"audio.channels={self.channel} is out of range")
        settings = dataclasses.replace(self.settings, sr=self.source.sample_rate)
        self.extractor = FeatureExtractor(settings)
        self.history = History(max(1, int(self.history_s * settings.sr / settings.hop)))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audio-analysis", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.source.stop()

    def tap(self, t: float | None = None) -> None:
        """Tap tempo at ``t`` (time.monotonic() s, default now); safe from any thread."""
        if self.extractor is not None:
            self.extractor.tap(time.monotonic() if t is None else t)

    def set_bpm(self, bpm: float | None) -> None:
        """Fix the tempo (None: automatic); safe from any thread."""
        if self.extractor is not None:
            self.extractor.set_bpm(bpm)

    def add_block_listener(self, listener: BlockListener) -> Callable[[], None]:
        """Call ``listener(block, t_audio)`` on the analysis thread for every hop it reads:
        ``block`` (hop, channels) float32 is reused afterwards (copy what you keep), ``t_audio``
        the capture time of its last sample. Recorders use it; it must never block. Returns a
        remover."""
        self._block_listeners = (*self._block_listeners, listener)

        def remove() -> None:
            self._block_listeners = tuple(l for l in self._block_listeners if l is not listener)

        return remove

    def cost_percentiles_us(self) -> tuple[float, float]:
        """(median, p99) of the recent per-hop analysis cost, microseconds."""
        n = min(self._cost_count, self.cost_us.shape[0])
        if n == 0:
            return math.nan, math.nan
        recent = self.cost_us[:n]
        return float(np.median(recent)), float(np.percentile(recent, 99))

    def _run(self) -> None:
        extractor = self.extractor
        hop, sr = extractor.hop, extractor.sr
        ring = self.source.ring
        block = np.zeros((hop, ring.channels), dtype=np.float32)
        mono = np.zeros(hop, dtype=np.float32)
        silence = np.zeros(hop, dtype=np.float32)
        hop_s = hop / sr
        last_audio = time.monotonic()
        next_silent = math.inf
        while not self._stop.is_set():
            if ring.read(block):
                t_audio = self.source.time_of(ring.read_position)
                for listener in self._block_listeners:
                    self._call_listener(listener, block, t_audio)
                self._publish(extractor, mixdown(block, mono, channel=self.channel), t_audio)
                last_audio = time.monotonic()
                next_silent = math.inf
                continue
            now = time.monotonic()
            if now - last_audio > self.stall_s:
                # The source failed, stalled or ended: features fall to silence, in real time.
                if next_silent == math.inf:
                    next_silent = now
                if now >= next_silent:
                    self._publish(extractor, silence, next_silent)
                    next_silent += hop_s
                    continue
            self._stop.wait(hop_s / 4)

    def _call_listener(self, listener: BlockListener, block: np.ndarray, t_audio: float) -> None:
        try:
            listener(block, t_audio)
        except Exception:  # a failing recorder must not stop the analysis the show runs on
            log.exception("audio block listener %r failed; detached it", listener)
            self._block_listeners = tuple(l for l in self._block_listeners if l is not listener)

    def _publish(self, extractor: FeatureExtractor, mono: np.ndarray, t_audio: float) -> None:
        started = time.perf_counter()
        frame = extractor.process(mono, t_audio=t_audio)
        override = self.tempo_override
        if override is not None:
            frame = override(frame)
        self.cost_us[self._cost_count % self.cost_us.shape[0]] = (
            time.perf_counter() - started) * 1e6
        self._cost_count += 1
        self.latest.put(frame)
        self.history.append(frame)


@dataclass(frozen=True)
class Analysis:
    """What `analyze_audio` found (times in seconds from the start of the audio)."""

    duration_s: float
    sr: int
    hop: int
    bpm: float  # median tempo over the part where it was known; 0.0 when never known
    beats_s: tuple[float, ...]
    onsets_s: tuple[float, ...]
    chroma: tuple[tuple[float, ...], ...]  # per second: mean chroma (12 floats) of that second
    bpm_track: tuple[tuple[float, float], ...]  # (time s, bpm) per hop, for benchmarks
    onset_delay_s: float  # mean algorithmic delay of the onset flag
    hop_cost_us: tuple[float, ...] = ()  # per-hop cost, when measured

    def to_json(self) -> dict:
        """Exactly what `gansmania analyze --json` writes."""
        return {"duration_s": round(self.duration_s, 4), "bpm": round(self.bpm, 2),
                "beats_s": [round(t, 4) for t in self.beats_s],
                "onsets_s": [round(t, 4) for t in self.onsets_s],
                "chroma": [[round(v, 4) for v in row] for row in self.chroma]}


def analyze_audio(audio: np.ndarray, *, sr: int, settings: ExtractorSettings | None = None,
                  channel: int = 0, measure_cost: bool = False) -> Analysis:
    """Run the streaming extractor over ``audio`` (shape (frames,) or (frames, channels)).

    The audio is fed hop by hop exactly as live; the file's time stands in for capture time.
    """
    base = settings or ExtractorSettings()
    settings = dataclasses.replace(base, sr=sr)
    extractor = FeatureExtractor(settings)
    hop = settings.hop
    frames = audio.reshape(audio.shape[0], -1)
    if channel > frames.shape[1]:
        raise GansmaniaError(f"the audio has {frames.shape[1]} channels; channel {channel} "
                             "is out of range")
    mono_all = np.ascontiguousarray(frames.mean(axis=1) if channel == 0 else
                                    frames[:, channel - 1], dtype=np.float32)
    n_hops = -(-mono_all.shape[0] // hop)  # the last partial hop is padded with silence
    padded = np.zeros(n_hops * hop, dtype=np.float32)
    padded[:mono_all.shape[0]] = mono_all
    beats, onsets, bpm_track, costs = [], [], [], []
    chroma_sum = np.zeros((int(math.ceil(mono_all.shape[0] / sr)), 12))
    chroma_count = np.zeros(chroma_sum.shape[0])
    for i in range(n_hops):
        block = padded[i * hop:(i + 1) * hop]
        t_end = (i + 1) * hop / sr
        started = time.perf_counter()
        frame = extractor.process(block, t_audio=t_end)
        if measure_cost:
            costs.append((time.perf_counter() - started) * 1e6)
        if frame.onset and extractor.onset_n is not None:
            onsets.append(max(extractor.onset_n, 0) / sr)
        if frame.beat:
            beats.append(extractor.beat_n / sr)
        bpm_track.append((t_end, frame.bpm))
        second = min(int((i * hop + hop / 2) / sr), chroma_sum.shape[0] - 1)
        chroma_sum[second] += frame.chroma
        chroma_count[second] += 1
    known = [bpm for _, bpm in bpm_track if bpm > 0]
    chroma = chroma_sum / np.maximum(chroma_count, 1)[:, None]
    return Analysis(
        duration_s=mono_all.shape[0] / sr, sr=sr, hop=hop,
        bpm=float(np.median(known[len(known) // 2:])) if known else 0.0,
        beats_s=tuple(beats), onsets_s=tuple(onsets),
        chroma=tuple(tuple(float(v) for v in row) for row in chroma),
        bpm_track=tuple(bpm_track), onset_delay_s=extractor.onset_delay_samples / sr,
        hop_cost_us=tuple(costs))


def analyze_file(path: Path, *, settings: ExtractorSettings | None = None,
                 channel: int = 0) -> Analysis:
    """`analyze_audio` on a decoded file; unreadable/empty files are one-line errors."""
    from visualizer.audio.filesource import load_audio

    audio, sr = load_audio(Path(path))
    return analyze_audio(audio, sr=sr, settings=settings, channel=channel)


def analyzer_for(audio) -> Analyzer:
    """An (unstarted) Analyzer for the show config's [audio] section (`visualizer.settings`)."""
    from visualizer.audio.features import extractor_settings
    from visualizer.audio.sources import open_source

    source = open_source(audio.input, sample_rate=audio.sample_rate, block=audio.block,
                         channels=audio.channels, monitor=audio.monitor, loop=audio.loop)
    return Analyzer(source, extractor_settings(audio), channel=audio.channels,
                    history_s=audio.history_s)
