"""The audio side of an offline render: the live analyzer's extractor, driven by a simulated clock.

`OfflineAnalyzer` stands in for `visualizer.audio.analyzer.Analyzer`: the same
`FeatureExtractor`, the same hop, the same published `FeatureFrame`s, but hops are processed
when the render's clock reaches their end time (``advance_to``) instead of when a sound card
delivers them. Times are song seconds (0 = the file's first sample), so a hop's ``t_audio`` is
the time of its last sample, as live.

`LookaheadBeats` (``render --lookahead``) replaces the causal tempo/beat fields with librosa's
beat tracking over the whole song: beats are known from the first one, with no warm-up.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np

from visualizer.audio.capture import SourceStatus
from visualizer.audio.features import ExtractorSettings, FeatureExtractor
from visualizer.audio.frames import FeatureFrame
from visualizer.core.ring import History
from visualizer.core.slot import LatestSlot

log = logging.getLogger(__name__)

BlockListener = Callable[[np.ndarray, float], None]
LOCAL_BEATS = 4  # the tempo at a beat is measured over this many beats each side


class LookaheadBeats:
    """Beat times of the whole song (librosa), answering tempo/phase questions at any time."""

    def __init__(self, beats_s: np.ndarray) -> None:
        self.beats_s = np.asarray(beats_s, dtype=np.float64)  # sorted, seconds

    @classmethod
    def track(cls, mono: np.ndarray, *, sr: int, hop: int = 256) -> LookaheadBeats:
        """librosa.beat.beat_track over ``mono`` (samples,) float32."""
        import librosa

        _, frames = librosa.beat.beat_track(y=mono.astype(np.float32), sr=sr, hop_length=hop)
        beats = librosa.frames_to_time(frames, sr=sr, hop_length=hop)
        log.info("lookahead: %d beats over %.1f s", len(beats), mono.shape[0] / sr)
        return cls(beats)

    def _local_period(self, i: int) -> float:
        """The beat period around beat ``i``, over up to 8 intervals: each beat time is
        quantised to the tracker's hop, and one interval alone would make the tempo wobble."""
        beats = self.beats_s
        first = min(max(i - LOCAL_BEATS, 0), beats.shape[0] - 2)
        last = max(min(i + LOCAL_BEATS, beats.shape[0] - 1), first + 1)
        return float(beats[last] - beats[first]) / (last - first)

    def apply(self, frame: FeatureFrame, *, hop: int, sr: int) -> FeatureFrame:
        """``frame`` (a hop of ``hop`` samples at ``sr`` Hz) with bpm, beat, beat_phase and
        next_beat_t from the whole-song beats."""
        beats, t = self.beats_s, frame.t_audio
        if beats.shape[0] < 2:
            return frame
        i = int(np.searchsorted(beats, t, side="right"))  # beats[i - 1] <= t < beats[i]
        if i == 0 or i >= beats.shape[0]:
            # Before the first / after the last beat: extend the nearest beat interval.
            period = float(beats[1] - beats[0]) if i == 0 else float(beats[-1] - beats[-2])
            last = float(beats[0] - period) if i == 0 else float(beats[-1])
            while last + period <= t:
                last += period
            previous, following = last, last + period
        else:
            previous, following = float(beats[i - 1]), float(beats[i])
        period = following - previous
        # In whole samples: a beat on a hop boundary belongs to exactly one hop.
        end = round(t * sr)
        at = np.round(beats * sr)
        beat_in_hop = bool(np.any((at > end - hop) & (at <= end)))
        return dataclasses.replace(frame, bpm=60.0 / self._local_period(i), bpm_confidence=1.0,
                                   beat=beat_in_hop, beat_phase=(t - previous) / period % 1.0,
                                   next_beat_t=following)


class OfflineAnalyzer:
    """Analyses ``audio`` (frames, channels) float32 hop by hop up to the render clock."""

    def __init__(self, audio: np.ndarray, *, sample_rate: int, settings: ExtractorSettings,
                 channel: int = 0, name: str = "file", history_s: float = 10.0,
                 lookahead: LookaheadBeats | None = None) -> None:
        self.name = name
        self.audio = np.ascontiguousarray(audio.reshape(audio.shape[0], -1), dtype=np.float32)
        self.sample_rate = sample_rate
        self.settings = dataclasses.replace(settings, sr=sample_rate)
        self.channel = channel
        self.lookahead = lookahead
        self.extractor = FeatureExtractor(self.settings)
        self.hop = self.settings.hop
        self.latest: LatestSlot[FeatureFrame] = LatestSlot()
        self.history: History[FeatureFrame] = History(max(1, int(history_s * sample_rate / self.hop)))
        self.hops_done = 0
        self._listeners: tuple[BlockListener, ...] = ()
        mono = self.audio.mean(axis=1) if channel == 0 else self.audio[:, channel - 1]
        self._mono = np.ascontiguousarray(mono, dtype=np.float32)
        self._block = np.zeros(self.hop, dtype=np.float32)

    # The parts of the live Analyzer's interface the show uses.
    @property
    def status(self) -> SourceStatus:
        return SourceStatus("running", self.name)

    def start(self) -> None:
        """Nothing to open: the audio is in memory."""

    def stop(self) -> None:
        """Nothing to close."""

    def tap(self, t: float | None = None) -> None:
        """Tap tempo at song time ``t`` (default: the newest analysed hop's time)."""
        self.extractor.tap(self.now_s if t is None else t)

    def set_bpm(self, bpm: float | None) -> None:
        self.extractor.set_bpm(bpm)

    def add_block_listener(self, listener: BlockListener) -> Callable[[], None]:
        self._listeners = (*self._listeners, listener)
        return lambda: setattr(self, "_listeners",
                               tuple(x for x in self._listeners if x is not listener))

    def cost_percentiles_us(self) -> tuple[float, float]:
        return float("nan"), float("nan")

    @property
    def now_s(self) -> float:
        """Song time analysed so far: the end of the last processed hop."""
        return self.hops_done * self.hop / self.sample_rate

    def skip_to(self, t_s: float) -> None:
        """Start at song time ``t_s`` (render --start): hops before it are analysed, as the song
        must be heard to know its tempo, but not announced to listeners (the recorder)."""
        listeners, self._listeners = self._listeners, ()
        try:
            self.advance_to(t_s)
        finally:
            self._listeners = listeners

    def advance_to(self, t_s: float) -> FeatureFrame | None:
        """Process every hop ending at or before song time ``t_s``; the newest frame."""
        hop, sr = self.hop, self.sample_rate
        while (self.hops_done + 1) * hop <= round(t_s * sr):
            start = self.hops_done * hop
            end = start + hop
            block = self._block
            available = max(0, min(end, self._mono.shape[0]) - start)
            block[:available] = self._mono[start:start + available]
            block[available:] = 0.0  # past the end of the file: silence
            t_audio = end / sr
            frame = self.extractor.process(block, t_audio=t_audio)
            if self.lookahead is not None:
                frame = self.lookahead.apply(frame, hop=hop, sr=sr)
            for listener in self._listeners:
                listener(self._padded(start, end), t_audio)
            self.latest.put(frame)
            self.history.append(frame)
            self.hops_done += 1
        return self.latest.get()

    def _padded(self, start: int, end: int) -> np.ndarray:
        """The hop's samples, all channels, (hop, channels); silence past the end."""
        chunk = self.audio[start:end]
        if chunk.shape[0] == end - start:
            return chunk
        padded = np.zeros((end - start, self.audio.shape[1]), np.float32)
        padded[:chunk.shape[0]] = chunk
        return padded
