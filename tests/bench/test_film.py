"""The latency rig's film reader on a file made here with known click and flash times."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from bench.rigs.film import beat_flash_times, change_times, read_film

FPS, SR, WINDOW_PX = 100, 48000, 16
CLICKS_S = (0.45, 1.25)
FLASHES_S = (0.50, 1.30)  # the show's window turns white; the root patch stays grey


def write_film(path):
    with av.open(str(path), "w", format="nut") as container:
        video = container.add_stream("rawvideo", rate=FPS)
        video.width, video.height, video.pix_fmt = WINDOW_PX + 8, 8, "gray"
        audio = container.add_stream("pcm_s16le", rate=SR, layout="mono")
        for i in range(2 * FPS):
            grey = np.full((8, WINDOW_PX + 8), 100, np.uint8)
            grey[:, :WINDOW_PX] = 255 if any(f <= i / FPS < f + 0.2 for f in FLASHES_S) else 0
            frame = av.VideoFrame.from_ndarray(grey, format="gray")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            container.mux(video.encode(frame))
        samples = np.zeros(2 * SR, np.int16)
        for t in CLICKS_S:
            samples[int(t * SR):int(t * SR) + 240] = 20000
        for start in range(0, samples.shape[0], 4800):
            block = av.AudioFrame.from_ndarray(samples[None, start:start + 4800], format="s16",
                                               layout="mono")
            block.sample_rate, block.pts, block.time_base = SR, start, Fraction(1, SR)
            container.mux(audio.encode(block))
        container.mux(video.encode())
        container.mux(audio.encode())


def test_clicks_and_flashes_are_read_at_their_times(tmp_path):
    write_film(tmp_path / "film.nut")
    film = read_film(tmp_path / "film.nut", window_px=WINDOW_PX)
    assert film.clicks_s == pytest.approx(CLICKS_S, abs=1e-3)
    assert film.root == pytest.approx(np.full(2 * FPS, 100.0))
    # The change is dated to the middle of the frame period in which it happened.
    half_frame = 0.5 / FPS
    changed = change_times(film.clicks_s, film.frame_s, film.show_pixels, min_change=20.0)
    assert changed == pytest.approx(np.asarray(FLASHES_S) - half_frame, abs=1e-6)
    flashes = beat_flash_times(film.clicks_s, film.frame_s, film.show)
    assert flashes == pytest.approx(np.asarray(FLASHES_S) - half_frame, abs=1e-6)
    # A click with no change after it is not given one.
    assert np.isnan(change_times(np.asarray([1.8]), film.frame_s, film.show_pixels,
                                 min_change=20.0)).all()
