"""The generator ahead of an offline render (`visualizer.backends.ahead`): painted in batches on
its own thread, it gives the very frames of painting in the render loop, and a failure on its
threads stops the render with that error and a playable file."""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.signals import click_train
from tests.visualizer.record.media import decode, playable_seconds
from tests.visualizer.record.shows import show_config, write_wav
from visualizer.backends.ahead import PaintAhead
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.frames import LatentFrame
from visualizer.offline import RenderJob, render_song
from visualizer.render.frames import to_rgb8
from visualizer.show import prepare_show

SIZE, FPS = (96, 64), 12.0
TRAILS = "dream_trails"  # feedback trails: the frames before a part's first are drawn too


def frame_hashes(path: Path) -> list[str]:
    return [hashlib.sha256(f.tobytes()).hexdigest() for f in decode(path, audio=False).frames]


@pytest.fixture
def song(tmp_path: Path) -> Path:
    audio, _ = click_train(bpm=128, duration_s=2.5)
    return write_wav(tmp_path / "song.wav", audio)


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_painting_ahead_in_batches_gives_the_frames_of_painting_in_the_loop(
        tmp_path: Path, tiny_model: Path, song: Path, isolated_threads, backend: str,
        caplog: pytest.LogCaptureFixture) -> None:
    show = prepare_show(show_config(tiny_model, size=SIZE, fps=FPS,
                                    sets={"model.backend": backend}), preset=TRAILS)
    caplog.set_level(logging.INFO)
    for batch in (0, 4):  # 30 frames: seven batches of 4 and one of 2
        for name, job in {"whole": {}, "tail": {"start_s": 1.0},
                          "part": {"part": (12, 30), "audio_track": False}}.items():
            render_song(show, RenderJob(audio=song, out=tmp_path / f"{name}-{batch}.mp4", seed=3,
                                        generator_batch=batch, generator_fps=6.0
                                        if name == "part" else 0.0, **job))
    for name in ("whole", "tail", "part"):
        loop, ahead = frame_hashes(tmp_path / f"{name}-0.mp4"), frame_hashes(
            tmp_path / f"{name}-4.mp4")
        assert len(loop) > 10 and ahead == loop, name
    assert frame_hashes(tmp_path / "tail-4.mp4") == frame_hashes(tmp_path / "whole-4.mp4")[12:]
    # The planner's latents were the render's own: no frame was painted in the loop instead.
    assert "planned latents differ" not in caplog.text
    # The planner's show says nothing: its lines would repeat the render's.
    opened = [record.threadName for record in caplog.records
              if record.getMessage().startswith(f"preset {TRAILS}:")]
    assert opened == ["MainThread"] * 6


def test_only_backends_whose_batches_paint_alike_are_batched(tiny_model: Path,
                                                              isolated_threads) -> None:
    """ONNX Runtime's CPU batches paint each image as alone; torch's convolutions round a batch
    differently, so torch paints one frame at a time (still ahead, on its thread)."""
    from visualizer.show import open_model

    for backend, batch in (("onnxruntime", 4), ("torch", 1)):
        config = show_config(tiny_model, sets={"model.backend": backend})
        model = open_model(config.model)
        assert PaintAhead(model.backend, lambda send: None, batch=4).batch == batch
        model.backend.close()


def latents(model) -> Iterator[LatentFrame]:
    """Endless LatentFrames for ``model``'s backend: seq 0, 1, 2... from seeded noise."""
    rng = np.random.default_rng(0)
    backend = model.backend
    return (LatentFrame(seq=k, t_audio=0.0, noise_gain=1.0,
                        ws=rng.standard_normal((backend.num_ws, backend.w_dim)).astype(np.float32))
            for k in itertools.count())


def test_a_failing_planner_or_generator_raises_in_the_render_loop_and_close_stops_both(
        tiny_model: Path, isolated_threads, caplog: pytest.LogCaptureFixture) -> None:
    from visualizer.show import open_model

    model = open_model(show_config(tiny_model, sets={"model.backend": "onnxruntime"}).model)
    frames = list(itertools.islice(latents(model), 12))

    def planner_fails(send) -> None:
        for frame in frames[:6]:
            send(frame)
        raise GansmaniaError("preset broken.toml: no such shader 'nope'")

    ahead = PaintAhead(model.backend, planner_fails, batch=4).start()
    taken = [ahead.take(frame) for frame in frames[:6]]  # the frames before it are painted
    assert all(image.shape == (32, 32, 3) for image in taken)
    with pytest.raises(GansmaniaError, match="no such shader 'nope'"):
        ahead.take(frames[6])
    ahead.close()

    bad = LatentFrame(seq=5, t_audio=0.0, noise_gain=1.0, ws=np.zeros((1, 3), np.float32))

    def generator_fails(send) -> None:
        for frame in [*frames[:5], bad]:
            send(frame)

    ahead = PaintAhead(model.backend, generator_fails, batch=4).start()
    assert all(ahead.take(frame).shape == (32, 32, 3) for frame in frames[:4])
    with pytest.raises(ValueError, match=r"ws must be \[\d+, 32\], got \(1, 3\)"):
        ahead.take(frames[4])  # the second batch fails as a whole
    ahead.close()

    # Latents other than planned (a bug): said once, and painted in the render loop.
    ahead = PaintAhead(model.backend, lambda send: [send(f) for f in frames], batch=4).start()
    other = LatentFrame(seq=0, t_audio=0.0, noise_gain=0.5, ws=frames[0].ws)
    assert np.array_equal(ahead.take(other), to_rgb8(model.backend.synthesize(other)))
    assert "planned latents differ from the render's at step 0" in caplog.text
    assert np.array_equal(ahead.take(frames[1]), to_rgb8(model.backend.synthesize(frames[1])))

    # A render that stops early: close() ends a planner that would run forever.
    endless = PaintAhead(model.backend, lambda send: [send(f) for f in latents(model)], batch=4)
    endless.start()
    endless.take(frames[0])
    endless.close(timeout_s=10.0)
    assert not any(t.is_alive() for t in threading.enumerate() if t.name in ("planner",
                                                                             "generator"))
    model.backend.close()


def test_a_generator_failure_mid_render_is_its_error_and_leaves_a_playable_file(
        tmp_path: Path, tiny_model: Path, song: Path, isolated_threads,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from visualizer.backends.onnxruntime_backend import OnnxRuntimeGenerator

    calls = itertools.count()
    paint = OnnxRuntimeGenerator.synthesize_many

    def fails_third_batch(self, frames):
        if next(calls) == 2:
            raise RuntimeError("onnxruntime: Failed to allocate memory for requested buffer")
        return paint(self, frames)

    monkeypatch.setattr(OnnxRuntimeGenerator, "synthesize_many", fails_third_batch)
    show = prepare_show(show_config(tiny_model, size=SIZE, fps=FPS,
                                    sets={"model.backend": "onnxruntime"}))
    out = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError, match="Failed to allocate memory") as caught:
        render_song(show, RenderJob(audio=song, out=out, generator_batch=4))
    assert "\n" not in str(caught.value)
    # The frames before it are in the file, and it plays.
    assert 8 / FPS - 1e-6 <= playable_seconds(out) <= 10 / FPS + 1e-6
