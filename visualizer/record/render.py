"""Offline song -> video: the live show's own parts, driven by a simulated clock.

`render_song` builds a `visualizer.app.LiveApp` exactly as `gansmania live` does (same
controller, FX mapper, preset deck, shaders, renderer) but with

- an `OfflineAnalyzer` (the live extractor, fed hop by hop up to the clock),
- a headless EGL output at the requested size,
- a synchronous generator: one controller step + synthesis per generator frame, in order,

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
from typing import TYPE_CHECKING, Any

import numpy as np

from visualizer.core.errors import GansmaniaError
from visualizer.record.showlog import ShowEvent, ShowLog

if TYPE_CHECKING:
    from visualizer.app import LiveApp
    from visualizer.backends.base import Generator
    from visualizer.settings import ShowConfig

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

LookInstaller = Callable[["LiveApp", str], None]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderJob:
    """What to render. Times are song seconds."""

    audio: Path
    out: Path
    preset: str = "drift"  # name or .toml path, as `live --preset`
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


class SyncWorker:
    """The generator worker's interface (``latest`` slot, counters), painting on demand in the
    render loop instead of on a thread: the order of steps is fixed, so frames repeat exactly."""

    def __init__(self, backend: Generator) -> None:
        from visualizer.core.slot import LatestSlot

        self.backend = backend
        self.latest = LatestSlot()
        self.frames_generated = 0
        self.error = None
        self.gen_ms: float | None = None

    def start(self) -> None:
        """Nothing runs in the background."""

    def stop(self, **_: Any) -> None:
        """Nothing runs in the background."""

    def paint(self, latent) -> None:
        from visualizer.backends.base import GeneratedFrame
        from visualizer.render.frames import to_rgb8

        started = time.perf_counter()
        image = to_rgb8(self.backend.synthesize(latent))
        self.gen_ms = (time.perf_counter() - started) * 1e3
        self.frames_generated += 1
        self.latest.put(GeneratedFrame(seq=latent.seq, t_audio=latent.t_audio, image=image,
                                       gen_ms=self.gen_ms))


class _Clock:
    """The simulated clock: song seconds, set by the render loop."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def render_song(show: ShowConfig, job: RenderJob, *, install_look: LookInstaller,
                progress: Progress | None = None) -> RenderResult:
    """Render ``job.audio`` to ``job.out`` with the show ``show`` (its display.size, record.fps).

    ``install_look(app, name)``: puts a preset on the app, as `gansmania live --preset` does.
    ``progress(done, total)``: called after every frame. User errors are GansmaniaError.
    """
    from visualizer.audio.filesource import load_audio

    audio, sr = load_audio(Path(job.audio))
    song_s = audio.shape[0] / sr
    start_s, end_s = _segment(job, song_s)
    fps = show.record.fps
    total = max(1, round((end_s - start_s) * fps))
    started = time.perf_counter()
    app, clock = _build(show, job, audio, sr)
    worker = SyncWorker(app.generator)
    backend_name = app.generator.name
    app.worker = worker
    recorder = None
    try:
        install_look(app, job.preset)
        if job.seed is not None:
            error = app.params.set("walk.bank", job.seed, source="cli")
            if error:
                raise GansmaniaError(f"--seed {job.seed}: {error}")
        recorder = _open_recorder(show, job, sr, audio.shape[1], start_s)
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
            frame = analyzer.advance_to(t + 0.5 / fps)
            next_event = _apply_events(app, events, next_event, until_s=analyzer.now_s)
            if k % gen_every == 0:
                worker.paint(app.controller.step(frame, app.params.snapshot(), gen_dt))
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


def _build(show: ShowConfig, job: RenderJob, audio: np.ndarray, sr: int) -> tuple[LiveApp, _Clock]:
    """A LiveApp as `build_app` makes it, with the offline analyzer, a headless output and the
    simulated clock."""
    from visualizer.app import LiveApp, load_model
    from visualizer.audio.features import extractor_settings
    from visualizer.record.offline_audio import LookaheadBeats, OfflineAnalyzer
    from visualizer.render.output import HeadlessOutput

    model = load_model(show.model)
    lookahead = None
    if job.lookahead:
        mono = audio.mean(axis=1) if show.audio.channels == 0 else audio[:, show.audio.channels - 1]
        lookahead = LookaheadBeats.track(mono, sr=sr)
    analyzer = OfflineAnalyzer(audio, sample_rate=sr, settings=extractor_settings(show.audio, sr=sr),
                               channel=show.audio.channels, name=Path(job.audio).name,
                               history_s=show.audio.history_s, lookahead=lookahead)
    output = HeadlessOutput(show.display.size)
    clock = _Clock()
    try:
        app = LiveApp(show, generator=model.backend, space=model.space, analyzer=analyzer,
                      output=output, backend_reason=model.reason, model_path=model.path,
                      clock=clock)
    except Exception:
        output.release()
        model.backend.close()
        raise
    app.renderer.hud_visible = False
    return app, clock


def _open_recorder(show: ShowConfig, job: RenderJob, sr: int, channels: int, start_s: float):
    import os

    from visualizer.record.recorder import Recorder
    from visualizer.record.writer import StreamSpec

    spec = StreamSpec(size=show.display.size, fps=show.record.fps, sample_rate=sr,
                      channels=channels)
    # A fixed thread count: x264's output depends on it, and a render must repeat exactly.
    threads = show.record.threads or os.cpu_count() or 1
    return Recorder(Path(job.out), spec, origin_s=start_s, settings=show.record, config=show,
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
