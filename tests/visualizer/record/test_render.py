"""`gansmania render`: song -> video with the live show's parts, on a simulated clock."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.signals import click_train, clicks_at
from tests.visualizer.record.media import (
    click_times,
    decode,
    ffprobe,
    flash_times,
    playable_seconds,
    stream,
)
from tests.visualizer.record.shows import show_config, write_wav
from visualizer.core.config import resolved_config_path
from visualizer.core.errors import GansmaniaError
from visualizer.offline import RenderJob, render_song
from visualizer.show import prepare_show

ROOT = Path(__file__).resolve().parents[3]

# Only a flash on onsets, white and full: an onset frame is unmistakable. No latent kick.
FLASH_PRESET = """
description = "test: a white flash on every onset, nothing else"
[controller.pulse]
strength = 0.0
[[fx]]
shader = "flash"
amount = 1.0
whiteness = 1.0
"""


def render(show, tmp_path: Path, audio: Path, name: str, **job) -> Path:
    out = tmp_path / name
    look = job.pop("preset", None)
    render_song(prepare_show(show, preset=look), RenderJob(audio=audio, out=out, **job))
    return out


@pytest.mark.slow
def test_a_10_s_render_is_h264_aac_at_the_requested_size_rate_and_length(
        tmp_path: Path, tiny_model: Path) -> None:
    audio, _ = click_train(bpm=120, duration_s=10.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    out = tmp_path / "song.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "visualizer.cli", "render", str(song), "--out", str(out),
         "--model", str(tiny_model), "--size", "160x90", "--fps", "25", "--seed", "3",
         "--lookahead", "--set", "model.backend=torch"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "250 frames, 10.00 s at 160x90, 25 fps" in result.stdout
    assert "ETA" in result.stderr  # the progress bar

    info = ffprobe(out)
    video, sound = stream(info, "video"), stream(info, "audio")
    assert video["codec_name"] == "h264" and sound["codec_name"] == "aac"
    assert (video["width"], video["height"]) == (160, 90) and video["r_frame_rate"] == "25/1"
    assert abs(float(video["duration"]) - 10.0) <= 1 / 25
    assert abs(float(info["format"]["duration"]) - 10.0) <= 1 / 25
    assert 'path = "' in resolved_config_path(out).read_text()  # the model, for the record


def test_the_same_render_twice_gives_identical_frames(tmp_path: Path, tiny_model: Path,
                                                     isolated_threads) -> None:
    audio, _ = click_train(bpm=128, duration_s=3.0)
    song = write_wav(tmp_path / "song.wav", audio)
    show = show_config(tiny_model)
    first = decode(render(show, tmp_path, song, "a.mp4", seed=5), audio=False)
    second = decode(render(show, tmp_path, song, "b.mp4", seed=5), audio=False)
    other = decode(render(show, tmp_path, song, "c.mp4", seed=6), audio=False)
    assert first.frames.shape == (72, 64, 96, 3)
    assert np.array_equal(first.frames, second.frames)
    assert not np.array_equal(first.frames, other.frames)  # the seed does matter
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


@pytest.mark.parametrize("fps", [24.0, 30.0])
def test_onset_flashes_land_within_a_frame_of_the_clicks(tmp_path: Path, tiny_model: Path,
                                                        isolated_threads, fps: float) -> None:
    clicks = [0.6, 1.27, 1.9, 2.43, 3.11, 3.7]  # off the frame grid, uneven
    song = write_wav(tmp_path / "clicks.wav", clicks_at(clicks, duration_s=4.2, amplitude=0.8))
    preset = tmp_path / "flash.toml"
    preset.write_text(FLASH_PRESET)
    out = render(show_config(tiny_model, fps=fps), tmp_path, song, "sync.mp4", preset=str(preset))

    decoded = decode(out)
    heard = click_times(decoded.audio, sample_rate=decoded.sample_rate, threshold=0.2)
    seen = flash_times(decoded)
    # Both measured in the output file: its audio track and its frames.
    assert len(heard) == len(clicks) and len(seen) == len(clicks), (heard, seen)
    np.testing.assert_allclose(heard, clicks, atol=2e-3)
    assert np.abs(seen - heard).max() <= 1 / fps, (seen, heard)


def test_start_and_end_cut_the_song(tmp_path: Path, tiny_model: Path, isolated_threads) -> None:
    clicks = [0.5, 1.5, 2.5]
    song = write_wav(tmp_path / "clicks.wav", clicks_at(clicks, duration_s=3.0, amplitude=0.8))
    out = render(show_config(tiny_model), tmp_path, song, "cut.mp4", start_s=1.0, end_s=2.0)
    decoded = decode(out)
    assert len(decoded.times_s) == 24 and abs(playable_seconds(out) - 1.0) < 1e-6
    # The file's 0 is the song's 1.0 s: the click at 1.5 s is at 0.5 s.
    np.testing.assert_allclose(click_times(decoded.audio, sample_rate=decoded.sample_rate,
                                           threshold=0.2), [0.5], atol=2e-3)


@pytest.mark.parametrize(("job", "message"), [
    ({"start_s": 5.0}, "--start 5: outside clicks.wav (0..3.00 s)"),
    ({"start_s": 2.0, "end_s": 1.0}, "--end 1 must be after --start 2"),
    ({"preset": "no-such-look"}, "unknown preset 'no-such-look'"),
])
def test_bad_requests_are_one_line_errors(tmp_path: Path, tiny_model: Path, isolated_threads,
                                          job: dict, message: str) -> None:
    song = write_wav(tmp_path / "clicks.wav", clicks_at([0.5], duration_s=3.0))
    with pytest.raises(GansmaniaError, match=re.escape(message)) as caught:
        render(show_config(tiny_model), tmp_path, song, "x.mp4", **job)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "x.mp4").exists()  # nothing is started before the request is checked
