"""The bundled demo track: present, small, decodable, and at the tempo it was made at."""

import numpy as np
import pytest

from visualizer.audio.analyzer import analyze_audio
from visualizer.audio.demo import demo_track_path
from visualizer.audio.filesource import load_audio


def test_demo_track_is_bundled_small_and_about_124_bpm():
    path = demo_track_path()
    assert path.suffix == ".ogg" and path.stat().st_size < 1_000_000
    audio, sr = load_audio(path)
    assert 30 <= audio.shape[0] / sr <= 40
    assert np.abs(audio).max() > 0.5
    result = analyze_audio(audio[:20 * sr], sr=sr)
    assert result.bpm == pytest.approx(124, abs=1)


def test_input_demo_opens_the_bundled_track():
    from visualizer.audio.filesource import FileSource
    from visualizer.audio.sources import open_source

    source = open_source("demo")
    assert isinstance(source, FileSource) and source.path == demo_track_path()
