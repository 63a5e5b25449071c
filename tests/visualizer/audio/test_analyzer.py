"""Analyzer: the live analysis thread publishes frames in capture-time order, catches up when it
fell behind a live input, and falls back to silent frames when its source ends; analyze_audio
selects channels."""

import threading
import time

import numpy as np
import pytest

from tests.signals import SR, chord, click_train
from visualizer.audio.analyzer import Analyzer, analyze_audio
from visualizer.audio.capture import SourceStatus
from visualizer.audio.features import ExtractorSettings
from visualizer.audio.filesource import FileSource
from visualizer.audio.frames import SILENCE_DB
from visualizer.core.errors import GansmaniaError
from visualizer.core.ring import RingBuffer


def test_frames_arrive_live_then_fall_to_silence_when_the_source_ends():
    audio, clicks = click_train(bpm=120, duration_s=1.2, first_s=0.2)
    source = FileSource(audio=np.stack([audio, audio], axis=1), sample_rate=SR, block=256)
    analyzer = Analyzer(source, ExtractorSettings(hop=256), history_s=5.0)
    analyzer.start()
    try:
        version, frames = 0, []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            frame, version = analyzer.latest.wait_newer(version, timeout_s=1.0)
            if frame is not None and frame.t_audio - source.time_of(0) > 2.0:
                break
        analyzer.tap()  # safe from another thread while running
        analyzer.set_bpm(None)
        frames = analyzer.history.snapshot()
    finally:
        analyzer.stop()
    t = np.array([f.t_audio for f in frames])
    assert np.all(np.diff(t) > 0)
    assert [f.hop_index for f in frames] == list(range(frames[0].hop_index,
                                                       frames[0].hop_index + len(frames)))
    onsets = t[[f.onset for f in frames]] - source.time_of(0)
    assert len(onsets) == len(clicks)
    np.testing.assert_allclose(onsets, clicks, atol=2 * 256 / SR)
    tail = [f for f in frames if f.t_audio - source.time_of(0) > 1.6]
    assert tail and all(f.rms_db == SILENCE_DB and not f.onset for f in tail)
    median_us, p99_us = analyzer.cost_percentiles_us()
    assert 0 < median_us <= p99_us


class BehindSource:
    """A live input the analysis is already ``behind_s`` behind when it starts (as after a stall
    of the analysis thread), which then keeps delivering 256-sample blocks in real time."""

    name = "behind"
    sample_rate = SR
    channels = 1

    def __init__(self, audio: np.ndarray, *, behind_s: float) -> None:
        self.audio, self.behind = audio, int(behind_s * SR)
        self.ring = RingBuffer(capacity=2 * SR, channels=1)
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def status(self) -> SourceStatus:
        return SourceStatus("running")

    def start(self) -> None:
        self.ring.write(self.audio[:self.behind])
        self.t0 = time.monotonic() - self.behind / SR
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def time_of(self, n: int) -> float:
        return self.t0 + n / SR

    def _run(self) -> None:
        while not self._stop.is_set() and self.ring.written < self.audio.shape[0]:
            due = min(int((time.monotonic() - self.t0) * SR), self.audio.shape[0])
            if due > self.ring.written:
                self.ring.write(self.audio[self.ring.written:due])
            self._stop.wait(256 / SR)


def test_an_analysis_that_fell_behind_a_live_input_catches_up_hop_by_hop():
    # A thread that analysed at the input's own pace would stay 1 s behind for good (every
    # click 1 s late on screen); it must drain the backlog, every hop once and in order.
    audio, clicks = click_train(bpm=120, duration_s=12.0, first_s=0.25)
    source = BehindSource(audio, behind_s=1.0)
    analyzer = Analyzer(source, ExtractorSettings(hop=256), history_s=12.0)
    analyzer.start()
    try:
        behind = []
        deadline = time.monotonic() + 10.0  # the input runs 1 s longer: caught up, not waited out
        while time.monotonic() < deadline:
            behind.append(source.ring.written - source.ring.read_position)
            if behind[-1] < 2 * 256:
                break
            time.sleep(0.01)
        frames = analyzer.history.snapshot()
    finally:
        analyzer.stop()
    assert behind[0] >= 0.5 * SR and behind[-1] < 2 * 256
    assert [f.hop_index for f in frames] == list(range(len(frames)))
    np.testing.assert_allclose([f.t_audio - source.t0 for f in frames],
                               (np.arange(len(frames)) + 1) * 256 / SR, atol=1e-6)
    onsets = np.array([f.t_audio for f in frames if f.onset]) - source.t0
    heard = clicks[clicks < frames[-1].t_audio - source.t0 - 0.05]
    assert len(heard) >= 2 and len(onsets) == len(heard)
    np.testing.assert_allclose(onsets, heard, atol=2 * 256 / SR)


def test_a_channel_beyond_the_input_is_a_one_line_error():
    source = FileSource(audio=np.zeros((SR, 2), dtype=np.float32), sample_rate=SR)
    with pytest.raises(GansmaniaError, match="channels"):
        Analyzer(source, ExtractorSettings(), channel=3).start()


def test_analyze_audio_takes_one_channel_or_the_mix():
    a_major = chord((57, 61, 64), duration_s=2.0)
    c_major = chord((60, 64, 67), duration_s=2.0)
    stereo = np.stack([a_major, c_major], axis=1)
    right = analyze_audio(stereo, sr=SR, channel=2)
    assert np.argmax(right.chroma[1]) in (0, 4, 7)  # C, E or G
    left = analyze_audio(stereo, sr=SR, channel=1)
    assert np.argmax(left.chroma[1]) in (9, 1, 4)  # A, C# or E
    with pytest.raises(GansmaniaError):
        analyze_audio(stereo, sr=SR, channel=3)


def test_the_show_config_wires_a_file_input_and_checks_the_tempo_range(tmp_path):
    from tests.signals import write_wav
    from visualizer.audio.analyzer import analyzer_for
    from visualizer.core.config import load_config
    from visualizer.core.errors import ConfigError
    from visualizer.settings import ShowConfig

    wav = write_wav(tmp_path / "in.wav", chord((57,), duration_s=0.5))
    show = load_config(ShowConfig, overrides={"audio.input": str(wav), "audio.hop": 128})
    analyzer = analyzer_for(show.audio)
    assert isinstance(analyzer.source, FileSource)
    assert analyzer.settings.hop == 128 and analyzer.settings.onset.threshold == 3.0
    narrow = load_config(ShowConfig, overrides={"audio.min_bpm": 100.0, "audio.max_bpm": 150.0})
    with pytest.raises(ConfigError, match="max_bpm"):
        analyzer_for(narrow.audio)
