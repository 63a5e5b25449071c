"""`gansmania render --segments N`: parts rendered apart (in processes), joined by packet copy,
decode to the very frames of a one-worker render."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.signals import click_train
from tests.visualizer.record.media import decode, ffprobe, stream
from tests.visualizer.record.shows import show_config, write_wav
from visualizer.core.errors import GansmaniaError
from visualizer.offline import RenderJob, render_song
from visualizer.record.concat import Part, join_parts
from visualizer.record.writer import MediaWriter, StreamSpec
from visualizer.segments import render_segmented, split_frames
from visualizer.settings import RecordSettings
from visualizer.show import prepare_show

ROOT = Path(__file__).resolve().parents[3]
SIZE, FPS = (128, 72), 12.0  # a keyframe every 12 frames (record.keyframe_s = 1)
TRAILS = "dream_trails"  # a look with a feedback pass: its trails carry frames across a cut


def frame_hashes(path: Path) -> list[str]:
    return [hashlib.sha256(frame.tobytes()).hexdigest() for frame in decode(path, audio=False).frames]


def test_segments_start_on_keyframes_and_cover_the_render() -> None:
    segments = split_frames(100, 3, gop=12)
    assert [(s.first, s.stop) for s in segments] == [(0, 36), (36, 72), (72, 100)]
    assert all(s.first % 12 == 0 for s in segments)
    # Fewer keyframes than segments asked for: one segment per keyframe.
    assert [(s.first, s.stop) for s in split_frames(30, 8, gop=12)] == [(0, 12), (12, 24), (24, 30)]
    assert [(s.first, s.stop) for s in split_frames(5, 3, gop=12)] == [(0, 5)]


def test_two_segments_decode_to_the_whole_render_and_trails_need_their_warm_up(
        tmp_path: Path, tiny_model: Path, isolated_threads) -> None:
    audio, _ = click_train(bpm=128, duration_s=3.0)
    song = write_wav(tmp_path / "song.wav", audio)
    show = prepare_show(show_config(tiny_model, size=SIZE, fps=FPS), preset=TRAILS)
    whole = tmp_path / "whole.mp4"
    render_song(show, RenderJob(audio=song, out=whole, seed=4))
    joined = render_segmented(show, RenderJob(audio=song, out=tmp_path / "two.mp4", seed=4),
                              segments=2)
    assert joined.frames == 36
    assert frame_hashes(joined.path) == frame_hashes(whole)
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # the parts are gone
        "song.wav", "two.config.toml", "two.mp4", "whole.config.toml", "whole.mp4"]

    # Without the trail warm-up the second part starts with black trails: the test can tell.
    cold = render_segmented(show, RenderJob(audio=song, out=tmp_path / "cold.mp4", seed=4,
                                            trail_warmup_s=0.0), segments=2)
    hashes, reference = frame_hashes(cold.path), frame_hashes(whole)
    assert hashes[:24] == reference[:24] and hashes[24:] != reference[24:]


def test_a_render_from_a_keyframe_is_the_tail_of_the_whole_render(
        tmp_path: Path, tiny_model: Path, isolated_threads) -> None:
    """--start replays the song before it (walk, tempo, looks): its frames are the whole
    render's from there on, not a fresh start."""
    audio, _ = click_train(bpm=128, duration_s=3.0)
    song = write_wav(tmp_path / "song.wav", audio)
    show = prepare_show(show_config(tiny_model, size=SIZE, fps=FPS))
    render_song(show, RenderJob(audio=song, out=tmp_path / "whole.mp4", seed=2))
    render_song(show, RenderJob(audio=song, out=tmp_path / "tail.mp4", seed=2, start_s=1.0))
    assert frame_hashes(tmp_path / "tail.mp4") == frame_hashes(tmp_path / "whole.mp4")[12:]


def test_a_failing_segment_is_named_and_leaves_no_parts(tmp_path: Path, isolated_threads) -> None:
    audio, _ = click_train(bpm=128, duration_s=3.0)
    song = write_wav(tmp_path / "song.wav", audio)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    show = prepare_show(show_config(broken, size=SIZE, fps=FPS))
    out = tmp_path / "out" / "x.mp4"
    with pytest.raises(GansmaniaError, match=re.escape("segment 1/3 (frames 0..11): ")
                       + ".*broken.safetensors: not a readable") as caught:
        render_segmented(show, RenderJob(audio=song, out=out), segments=3)
    assert "\n" not in str(caught.value)
    assert list(out.parent.iterdir()) == []


def moving_frames(count: int, size: tuple[int, int] = (96, 64)) -> list[np.ndarray]:
    """Noise drifting across the picture, brightening: every frame differs, motion to predict."""
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 200, (size[1] * 2, size[0] * 2, 3), dtype=np.uint8)
    return [noise[k:k + size[1], 2 * k:2 * k + size[0]] + np.uint8(k) for k in range(count)]


def encode(path: Path, frames: list[np.ndarray], *, independent_gops: bool) -> Path:
    height, width = frames[0].shape[:2]
    writer = MediaWriter(path, StreamSpec(size=(width, height), fps=FPS, channels=0),
                         RecordSettings(encoder="libx264"), independent_gops=independent_gops)
    for frame in frames:
        writer.write_video(frame)
    writer.close()
    return path


@pytest.mark.parametrize("independent_gops", [True, False])
def test_parts_joined_decode_as_one_encode_only_with_independent_gops(
        tmp_path: Path, independent_gops: bool) -> None:
    """What the join relies on: with a constant QP a keyframe-aligned part encodes to the same
    frames as in one encode; with CRF (the live recordings' mode) the rate control's history
    makes them differ."""
    frames = moving_frames(36)
    whole = encode(tmp_path / "whole.mp4", frames, independent_gops=independent_gops)
    parts = [Part(encode(tmp_path / f"part{first}.mp4", frames[first:first + 12],
                         independent_gops=independent_gops), first) for first in (0, 12, 24)]
    audio = np.sin(np.linspace(0, 2000, 3 * 48000, dtype=np.float32))[:, None].repeat(2, 1)
    joined = join_parts(parts, tmp_path / "joined.mp4", fps=FPS, audio=audio, sample_rate=48000)
    assert joined.frames == 36 and joined.duration_s == 3.0
    decoded = decode(joined.path)
    assert np.abs(decoded.audio).max() > 0.5 and len(decoded.audio) >= 3 * 48000
    same = frame_hashes(joined.path) == frame_hashes(whole)
    assert same == independent_gops
    if independent_gops:  # a Matroska file from the same parts holds the same frames
        matroska = join_parts(parts, tmp_path / "joined.mkv", fps=FPS, audio=audio,
                              sample_rate=48000)
        assert frame_hashes(matroska.path) == frame_hashes(whole)


def test_parts_encoded_differently_are_refused(tmp_path: Path) -> None:
    paths = []
    for name, size in (("a.mp4", (64, 48)), ("b.mp4", (96, 48))):
        writer = MediaWriter(tmp_path / name, StreamSpec(size=size, fps=FPS, channels=0),
                             RecordSettings(), independent_gops=True)
        writer.write_video(np.zeros((48, size[0], 3), np.uint8), count=12)
        writer.close()
        paths.append(tmp_path / name)
    with pytest.raises(GansmaniaError, match=r"b\.mp4: encoded differently from a\.mp4"):
        join_parts([Part(paths[0], 0), Part(paths[1], 12)], tmp_path / "joined.mp4", fps=FPS)


@pytest.mark.slow
def test_three_worker_render_has_the_one_worker_frames(tmp_path: Path, tiny_model: Path) -> None:
    """The issue's proof, through the CLI: 3 segments in 3 processes against 1 worker, a look
    with feedback trails, decoded frame hashes equal, audio present, same length."""
    audio, _ = click_train(bpm=120, duration_s=6.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    outs = {}
    for segments in (1, 3):
        out = outs[segments] = tmp_path / f"render-{segments}.mp4"
        result = subprocess.run(
            [sys.executable, "-m", "visualizer.cli", "render", str(song), "--out", str(out),
             "--model", str(tiny_model), "--size", f"{SIZE[0]}x{SIZE[1]}", "--fps", f"{FPS:g}",
             "--seed", "7", "--preset", TRAILS, "--segments", str(segments), "--jobs", "3",
             "--set", "model.backend=torch"],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "72 frames, 6.00 s at 128x72, 12 fps" in result.stdout
    assert "3 segments joined" in result.stderr
    one, three = frame_hashes(outs[1]), frame_hashes(outs[3])
    assert len(one) == len(three) == 72 and one == three
    sound = stream(ffprobe(outs[3]), "audio")
    assert sound["codec_name"] == "aac" and abs(float(sound["duration"]) - 6.0) < 0.05
    np.testing.assert_array_equal(decode(outs[3]).audio, decode(outs[1]).audio)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clicks.wav", "render-1.config.toml", "render-1.mp4", "render-3.config.toml",
        "render-3.mp4"]


@pytest.mark.slow
def test_worker_processes_report_a_failure_and_stop_on_a_cancel(tmp_path: Path, tiny_model: Path,
                                                               isolated_threads) -> None:
    import multiprocessing

    audio, _ = click_train(bpm=128, duration_s=3.0)
    song = write_wav(tmp_path / "song.wav", audio)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    out = tmp_path / "out" / "x.mp4"
    with pytest.raises(GansmaniaError, match=r"^segment [123]/3 \(frames \d+\.\.\d+\): .*broken"):
        render_segmented(prepare_show(show_config(broken, size=SIZE, fps=FPS)),
                         RenderJob(audio=song, out=out), segments=3, jobs=2)
    assert list(out.parent.iterdir()) == []

    class Cancelled(Exception):
        pass

    def cancel(done: int, total: int) -> None:  # as the studio's job context does
        raise Cancelled

    with pytest.raises(Cancelled):
        render_segmented(prepare_show(show_config(tiny_model, size=SIZE, fps=FPS)),
                         RenderJob(audio=song, out=out), segments=2, jobs=2, progress=cancel)
    assert list(out.parent.iterdir()) == []
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("segment-")]
