"""Reading the latency rig's films and recordings: when each click sounds, when the picture
changes after it, when a beat flash lands. Pure functions of the decoded file (bench/latency_rig.py
runs the show and the camera)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Film:
    """What ffmpeg filmed, on the wall clock (s)."""

    clicks_s: np.ndarray  # first sample of each click in the monitor's audio
    frame_s: np.ndarray  # grab time of each frame, shape (n,)
    show: np.ndarray  # mean grey level of the show's window per frame, shape (n,)
    show_pixels: np.ndarray  # the window's pixels per frame (n, h, w) uint8, for change detection
    root: np.ndarray  # mean grey level of the root patch per frame, shape (n,)


def audio_clicks(samples: np.ndarray, times_s: np.ndarray, *, threshold: float = 0.05,
                 refractory_s: float = 0.2) -> np.ndarray:
    """Times of the first sample above ``threshold`` after at least ``refractory_s`` quiet."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return np.zeros(0)
    starts = loud[np.concatenate([[True], np.diff(times_s[loud]) > refractory_s])]
    return times_s[starts]


def _decode(path: Path, on_video) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``path``: each video frame goes to ``on_video(t_s, frame)``; returns the audio as
    (mono samples in -1..1, their times in file seconds)."""
    import av

    chunks: list[np.ndarray] = []
    chunk_t: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            t = float(frame.pts * frame.time_base)
            if isinstance(frame, av.VideoFrame):
                on_video(t, frame)
                continue
            data = frame.to_ndarray().astype(np.float32)
            mono = data.reshape(-1) if data.shape[0] == 1 else data.mean(axis=0)
            if frame.format.name.startswith("s16"):
                mono = mono / 32768.0
            chunks.append(mono)
            chunk_t.append(t + np.arange(mono.shape[0]) / frame.sample_rate)
    if not chunks:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(chunks), np.concatenate(chunk_t)


def read_film(path: Path, *, window_px: int) -> Film:
    """The rig's film: the show's window is the first ``window_px`` columns, the root patch the
    rest."""
    frames_t, show, pixels, root = [], [], [], []

    def on_video(t: float, frame) -> None:
        grey = frame.to_ndarray()
        grey = grey if grey.ndim == 2 else grey[..., 0]
        frames_t.append(t)
        show.append(float(grey[:, :window_px].mean()))
        pixels.append(grey[::4, :window_px:4].copy())
        root.append(float(grey[:, window_px:].mean()))

    samples, times = _decode(path, on_video)
    return Film(clicks_s=audio_clicks(samples, times), frame_s=np.asarray(frames_t),
                show=np.asarray(show), show_pixels=np.asarray(pixels), root=np.asarray(root))


def read_recording(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A live recording: (click times, frame times, frame (h, w) grey pixels), file seconds."""
    frames_t, pixels = [], []

    def on_video(t: float, frame) -> None:
        frames_t.append(t)
        pixels.append(frame.to_ndarray(format="gray")[::4, ::4].copy())

    samples, times = _decode(path, on_video)
    return audio_clicks(samples, times), np.asarray(frames_t), np.asarray(pixels)


def change_times(clicks_s: np.ndarray, frame_s: np.ndarray, pixels: np.ndarray, *,
                 min_change: float, before_s: float = 0.05, after_s: float = 0.35,
                 lag_s: float | None = None, still: bool = False) -> np.ndarray:
    """For each click, the time of the first frame that visibly differs from the picture just
    before it (NaN when none does): the mean absolute difference to the last frame before
    ``click - before_s`` passes a quarter of its peak in ``after_s`` and ``min_change`` grey
    levels. A frame that changed before the click (up to ``before_s``) counts: a rig that only
    looked after the click could not see a clock that runs early. ``lag_s``: compare each frame
    with the one ``lag_s`` before it instead, for a picture that also drifts slowly (a jump
    stands out of a short-lag difference, a drift does not). ``still``: only clicks whose
    picture held still over the ``before_s`` before them count (the generator's picture may
    still be settling from the previous kick); the others are NaN."""
    out = np.full(clicks_s.shape, np.nan)
    for i, click in enumerate(clicks_s):
        base = np.flatnonzero(frame_s < click - before_s)
        window = np.flatnonzero((frame_s >= click - before_s) & (frame_s <= click + after_s))
        if base.size == 0 or window.size == 0:
            continue
        if lag_s is None:
            reference = pixels[base[-1]].astype(np.float32)
        else:
            earlier = np.maximum(np.searchsorted(frame_s, frame_s[window] - lag_s) - 1, 0)
            reference = pixels[earlier].astype(np.float32)
        change = np.abs(pixels[window].astype(np.float32) - reference).mean(axis=(1, 2))
        if still and np.any(change[frame_s[window] < click - 0.005] >= min_change):
            continue
        peak = change.max()
        if peak < min_change:
            continue
        out[i] = changed_at(frame_s, window[np.argmax(change >= max(0.25 * peak, min_change))])
    return out


def changed_at(frame_s: np.ndarray, first: int) -> float:
    """When the picture changed, given the first frame that shows it: the middle of the time
    since the frame before (the change happened in between; a film at 200 fps dates it to
    +/-2.5 ms, a 60 fps recording to +/-8 ms, both without bias)."""
    return float(frame_s[first] if first == 0 else 0.5 * (frame_s[first - 1] + frame_s[first]))


def beat_flash_times(clicks_s: np.ndarray, frame_s: np.ndarray, brightness: np.ndarray, *,
                     half_window_s: float = 0.2, min_jump: float = 20.0) -> np.ndarray:
    """For each beat (click), the time of the biggest brightness rise within +/- half a window
    (the flash's first frame), NaN when nothing rises by ``min_jump`` grey levels."""
    out = np.full(clicks_s.shape, np.nan)
    rises = np.diff(brightness, prepend=brightness[:1])
    for i, click in enumerate(clicks_s):
        window = np.flatnonzero(np.abs(frame_s - click) <= half_window_s)
        if window.size and rises[window].max() >= min_jump:
            out[i] = changed_at(frame_s, window[np.argmax(rises[window])])
    return out
