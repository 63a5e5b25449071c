"""Offline song -> video: the live show's own parts, driven by a simulated clock.

`render_song` builds the show with `visualizer.show.build_app`, as `gansmania live` does (same
controller, FX mapper, preset deck, shaders, renderer), handing in

- an `OfflineAnalyzer` (the live extractor, fed hop by hop up to the clock),
- a headless EGL output at the requested size,
- a `SyncWorker`: one controller step + synthesis per generator frame, in order,

and steps it frame by frame at ``t_k = start + k / fps`` (song seconds). Nothing depends on
wall time, so the same command gives the same frames. Frames and the song's audio go to a
`Recorder` (which encodes on its own thread while the next frame renders). With a show log
(``--replay``), its events are applied at their audio times: the show is re-rendered
frame-exact, at any size.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from visualizer.core.errors import GansmaniaError
from visualizer.record.showlog import ShowEvent, ShowLog

if TYPE_CHECKING:
    from visualizer.app import LiveApp
    from visualizer.settings import ShowConfig
    from visualizer.show import Show

log = logging.getLogger(__name__)

# Every action (visualizer.control.params.ACTIONS) is one or the other, on purpose (a test
# checks that they cover ACTIONS). Replayed: they change the picture.
REPLAYED_ACTIONS = frozenset({
    "preset", "preset_next", "preset_prev",  # the look (its own writes are not logged)
    "tap", "bpm",  # the tempo that beat-synced motion and FX follow
    "fx_reset",  # ends the live shader overrides: the "fx-reset" writes alone would not
})
# Skipped: they were about the live session, not the show, or their effect is logged already.
SKIPPED_ACTIONS = frozenset({
    # The walk.bank they set is logged as its own, absolute event; stepping again from the
    # action would step twice when both land on one frame.
    "seed_next", "seed_prev",
    "record_toggle", "record_start", "record_stop",  # the live takes; a render is its own file
    "hud_toggle",  # the HUD is never in a recording
    "fullscreen_toggle",  # the window, not the picture
    "learn",  # a MIDI binding; what the bound control then changed is logged as its own events
    "quit",  # a render ends at --end or the end of the song
})

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderJob:
    """What to render. Times are song seconds."""

    audio: Path
    out: Path
    seed: int | None = None  # seed bank for the latent walk (walk.bank); None = the preset's
    start_s: float = 0.0
    end_s: float | None = None  # None = the end of the song
    lookahead: bool = False  # whole-song beat tracking (librosa) instead of the causal tracker
    replay: ShowLog | None = None  # a show log to re-apply
    generator_fps: float = 0.0  # generator frames per second; 0 = one per output frame


@dataclass(frozen=True)
class RenderResult:
    path: Path
    frames: int  # video frames written
    duration_s: float  # of the video
    wall_s: float  # the whole render: loading the model and the song included
    render_s: float  # the frame loop alone (analysis, generator, shaders, read-back, encoding)
    encoder: str
    backend: str  # the generator backend that painted

    @property
    def speed(self) -> float:
        """Multiple of real time, the whole render (2.0 = a minute of song in 30 s)."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else math.inf

    @property
    def loop_speed(self) -> float:
        """Multiple of real time of the frame loop alone (what a longer song approaches)."""
        return self.duration_s / self.render_s if self.render_s > 0 else math.inf


class _Clock:
    """The simulated clock: song seconds, set by the render loop."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def render_song(show: Show, job: RenderJob, *, progress: Progress | None = None) -> RenderResult:
    """Render ``job.audio`` to ``job.out`` with ``show`` (its look, display.size, record.fps).

    ``progress(done, total)``: called after every frame. User errors are GansmaniaError.
    """
    from visualizer.audio.filesource import load_audio
    from visualizer.backends.worker import SyncWorker
    from visualizer.render.headless import HeadlessOutput
    from visualizer.show import build_app, offline

    audio, sr = load_audio(Path(job.audio))
    song_s = audio.shape[0] / sr
    start_s, end_s = _segment(job, song_s)
    show = offline(show)
    config = show.config
    fps = config.record.fps
    total = max(1, round((end_s - start_s) * fps))
    started = time.perf_counter()
    clock = _Clock()
    app = build_app(show, features=_analyzer(config, job, audio, sr), worker=SyncWorker,
                    output=HeadlessOutput(config.display.size), clock=clock)
    worker = app.worker
    backend_name = app.generator.name
    recorder = None
    try:
        if job.seed is not None:
            error = app.params.set("walk.bank", job.seed, source="cli")
            if error:
                raise GansmaniaError(f"--seed {job.seed}: {error}")
        recorder = _open_recorder(config, job, sr, audio.shape[1], start_s)
        current: dict[str, float] = {"t": start_s}
        app.add_frame_observer(lambda presented: recorder.add_frame(
            presented.image, t_s=current["t"], block=True), pixels=True)
        analyzer = app.analyzer
        analyzer.skip_to(start_s)
        gen_every = _generator_stride(fps, job.generator_fps)
        gen_dt = gen_every / fps
        events, next_event = job.replay.events if job.replay else (), 0
        first_sample = round(start_s * sr)
        rate = recorder.spec.rate
        loop_started = time.perf_counter()
        for k in range(total):
            t = start_s + k / fps
            clock.now_s = current["t"] = t
            # Frame k stands for the instant t (the recorder's slot k is centred on it), so it
            # shows the audio up to the middle of its slot: an event lands on the nearest frame.
            # Live can only show the past; offline there is no audio->photon latency to pay.
            analyzer.advance_to(t + 0.5 / fps)
            next_event = _apply_events(app, events, next_event, until_s=analyzer.now_s)
            if k % gen_every == 0:
                worker.paint(dt_s=gen_dt)
            app.step_frame(k, now_s=t, dt_s=1.0 / fps, time_s=t)
            # The samples of this frame's slot, in exact integer arithmetic (no drift).
            lo = first_sample + k * sr * rate.denominator // rate.numerator
            hi = first_sample + (k + 1) * sr * rate.denominator // rate.numerator
            recorder.add_audio(_slice(audio, lo, hi), t_s=lo / sr, block=True)
            if not recorder.recording:
                break
            if progress is not None:
                progress(k + 1, total)
        render_s = time.perf_counter() - loop_started
        status = recorder.stop()
    finally:
        if recorder is not None and recorder.recording:
            recorder.stop()
        app.close()
    if status.state == "failed":
        raise GansmaniaError(f"{job.out}: {status.message}")
    return RenderResult(path=Path(job.out), frames=status.frames, duration_s=status.duration_s,
                        wall_s=time.perf_counter() - started, render_s=render_s,
                        encoder=status.encoder, backend=backend_name)


def _segment(job: RenderJob, song_s: float) -> tuple[float, float]:
    end_s = song_s if job.end_s is None else min(job.end_s, song_s)
    if job.start_s < 0 or job.start_s >= song_s:
        raise GansmaniaError(f"--start {job.start_s:g}: outside {Path(job.audio).name} "
                             f"(0..{song_s:.2f} s)")
    if end_s <= job.start_s:
        raise GansmaniaError(f"--end {job.end_s:g} must be after --start {job.start_s:g}")
    return job.start_s, end_s


def _generator_stride(fps: float, generator_fps: float) -> int:
    """Paint every n-th output frame: ``generator_fps`` rounded to a divisor of the frame rate,
    so the generator's frames stay evenly spaced."""
    if generator_fps <= 0 or generator_fps >= fps:
        return 1
    return max(1, round(fps / generator_fps))


def _analyzer(config: ShowConfig, job: RenderJob, audio: np.ndarray, sr: int):
    """The offline analyzer of ``audio`` (with whole-song beats for --lookahead)."""
    from visualizer.audio.features import extractor_settings
    from visualizer.audio.offline import LookaheadBeats, OfflineAnalyzer

    lookahead = None
    if job.lookahead:
        channel = config.audio.channels
        mono = audio.mean(axis=1) if channel == 0 else audio[:, channel - 1]
        lookahead = LookaheadBeats.track(mono, sr=sr)
    return OfflineAnalyzer(audio, sample_rate=sr, settings=extractor_settings(config.audio, sr=sr),
                           channel=config.audio.channels, name=Path(job.audio).name,
                           history_s=config.audio.history_s, lookahead=lookahead)


def _open_recorder(config: ShowConfig, job: RenderJob, sr: int, channels: int, start_s: float):
    import os

    from visualizer.record.recorder import Recorder
    from visualizer.record.writer import StreamSpec

    spec = StreamSpec(size=config.display.size, fps=config.record.fps, sample_rate=sr,
                      channels=channels)
    # A fixed thread count: x264's output depends on it, and a render must repeat exactly.
    threads = config.record.threads or os.cpu_count() or 1
    return Recorder(Path(job.out), spec, origin_s=start_s, settings=config.record, config=config,
                    threads=threads).start()


def _apply_events(app: LiveApp, events: tuple[ShowEvent, ...], index: int, *,
                  until_s: float) -> int:
    """Apply the show log's events up to audio time ``until_s``; the index after them."""
    while index < len(events) and events[index].t_s <= until_s:
        event = events[index]
        index += 1
        source = event.source or "replay"
        if event.kind == "set":
            error = app.params.set(event.name, event.value, source=source)
        elif event.kind == "tempo":
            error = app.params.post("bpm", event.value, source=source)
        elif event.name in REPLAYED_ACTIONS:
            error = app.params.post(event.name, event.value, source=source)
        elif event.name in SKIPPED_ACTIONS:
            continue
        else:  # a log from another version of GANsmania
            error = "an action this version does not know; skipped"
        if error:
            log.warning("replay: event at %.3f s (%s %s): %s", event.t_s, event.kind, event.name,
                        error)
    return index


def _slice(audio: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """audio[lo:hi], padded with silence past the end (the last frame may reach beyond it)."""
    chunk = audio[lo:hi]
    if chunk.shape[0] == hi - lo:
        return chunk
    padded = np.zeros((hi - lo, audio.shape[1]), np.float32)
    padded[:chunk.shape[0]] = chunk
    return padded
