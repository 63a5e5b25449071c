"""Offline song -> video: the live show's own parts, driven by a simulated clock.

`render_song` builds the show with `visualizer.show.build_app`, as `gansmania live` does (same
controller, FX mapper, preset deck, shaders, renderer), handing in

- an `OfflineAnalyzer` (the live extractor, fed hop by hop up to the clock),
- a headless EGL output at the requested size,
- a `SyncWorker`: one controller step + synthesis per generator frame, in order,

and steps it frame by frame at ``t_k = start + k / fps`` (song seconds). Nothing depends on
wall time, so the same command gives the same frames.

The generator runs ahead of the drawing (`visualizer.backends.ahead`, ``RenderJob.
generator_batch``): a planner thread walks the same frames on a second show that draws nothing
(its own analyzer, controller and looks; the model is shared) and hands each painted frame's
latents to a generator thread, which paints them (``generator_batch`` at a time) while the
render loop draws the frames before and the recorder encodes the ones before those. The render loop's own latents
are checked against the planned ones, so the frames are those of painting in the loop
(``generator_batch=0``, which the tests compare with).

Every render replays the song from its beginning: the frames before ``--start`` (and before a
segment's first frame, `RenderJob.part`) run the analysis, the events, the latent walk, the FX
mapper and the looks' hooks exactly as a whole render does, but paint and draw nothing
(``SyncWorker.paint(synthesize=False)``, ``LiveApp.step_frame(draw=False)``). The last
generator frames before the first written one are painted and drawn for real (the picture
cross-fades from the previous one), and when a look keeps a frame history (feedback trails,
`ShaderPass.uses_prev`) the frames of ``trail_warmup_s`` before it too, so its trails hold what
they hold in a whole render. Files are encoded with independent GOPs (constant QP): a render
cut on keyframes decodes to the same frames as the whole one (`visualizer.segments`).

Frames and the song's audio go to a `Recorder` (which encodes on its own thread while the next
frame renders). With a show log (``--replay``), its events are applied at their audio times:
the show is re-rendered frame-exact, at any size.
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
# Frames a look with a frame history (feedback trails) is drawn before a part's first frame.
# The trails fade frame by frame: the bundled ones (decay <= 0.96, less 1/255 a frame) forget
# a full-white frame within ~60 frames; 4 s leaves room for slower trails at 30 fps.
TRAIL_WARMUP_S = 4.0
# Frames the generator paints at once ahead of the drawing. One: for the bundled `cpu` model on
# one ONNX Runtime thread a batch costs more CPU per frame, not less (16.6 ms a frame alone,
# 17.7 in twos, 19.4 in eights on the 2-core VM: the larger activations leave the cache).
GENERATOR_BATCH = 1


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
    # Frames [first, stop) of the render (frame 0 at start_s): a segment; None = all of them.
    part: tuple[int, int] | None = None
    audio_track: bool = True  # False: video only (segments; their join adds the song once)
    trail_warmup_s: float = TRAIL_WARMUP_S  # before a part, with trails (see the docstring)
    # Frames the generator paints at once, on its own thread ahead of the drawing (see the
    # docstring); 0 = it paints in the render loop (no threads). Same frames either way.
    generator_batch: int = GENERATOR_BATCH


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
    import functools

    from visualizer.audio.filesource import load_audio
    from visualizer.backends.ahead import PaintAhead
    from visualizer.backends.worker import SyncWorker
    from visualizer.render.headless import HeadlessOutput
    from visualizer.show import build_app, offline, open_model

    audio, sr = load_audio(Path(job.audio))
    start_s, end_s = render_span(job, song_s=audio.shape[0] / sr)
    show = offline(show)
    config = show.config
    frames = _Frames.of(job, start_s=start_s, end_s=end_s, fps=config.record.fps)
    first, stop = frames.first, frames.stop
    started = time.perf_counter()
    lookahead = _lookahead(config, job, audio, sr)
    model = open_model(config.model)

    def build(worker, clock: _Clock) -> LiveApp:
        return build_app(show, model=model, features=_analyzer(config, job, audio, sr, lookahead),
                         worker=worker, output=HeadlessOutput(config.display.size), clock=clock)

    def plan(send: Callable) -> None:
        """The planner (`visualizer.backends.ahead`): this render's control on a show of its
        own that draws nothing, sending the latents of the frames the render paints."""
        clock = _Clock()
        app = build(functools.partial(SyncWorker, painter=send), clock)
        try:
            _seed(app, job)
            walk = _Walk(app, clock, frames, job, warn=False)
            for k in range(frames.replay_from, stop):
                walk.step(k, draw=False)
        finally:
            app.close(generator=False)  # the render's own app closes it

    ahead = PaintAhead(model.backend, plan, batch=job.generator_batch) \
        if job.generator_batch > 0 else None
    clock = _Clock()
    app = build(functools.partial(SyncWorker, painter=ahead.take) if ahead else SyncWorker, clock)
    backend_name = app.generator.name
    recorder = None
    try:
        _seed(app, job)
        recorder = _open_recorder(config, job, sr, audio.shape[1] if job.audio_track else 0,
                                  start_s + first / frames.fps)
        if ahead is not None:
            ahead.start()
        walk = _Walk(app, clock, frames, job, warn=True)
        first_sample = round(start_s * sr)
        rate = recorder.spec.rate
        loop_started = time.perf_counter()
        for k in range(frames.replay_from, stop):
            if k == first:
                loop_started = time.perf_counter()
                app.add_frame_observer(lambda presented: recorder.add_frame(
                    presented.image, t_s=clock.now_s, block=True), pixels=True)
            walk.step(k, draw=True)
            if k < first:
                continue
            if job.audio_track:
                # The samples of this frame's slot, in exact integer arithmetic (no drift).
                lo = first_sample + k * sr * rate.denominator // rate.numerator
                hi = first_sample + (k + 1) * sr * rate.denominator // rate.numerator
                recorder.add_audio(_slice(audio, lo, hi), t_s=lo / sr, block=True)
            if not recorder.recording:
                break
            if progress is not None:
                progress(k + 1 - first, stop - first)
        render_s = time.perf_counter() - loop_started
        status = recorder.stop()
    finally:
        if ahead is not None:
            ahead.close()
        if recorder is not None and recorder.recording:
            recorder.stop()
        app.close()
    if status.state == "failed":
        raise GansmaniaError(f"{job.out}: {status.message}")
    return RenderResult(path=Path(job.out), frames=status.frames, duration_s=status.duration_s,
                        wall_s=time.perf_counter() - started, render_s=render_s,
                        encoder=status.encoder, backend=backend_name)


@dataclass(frozen=True)
class _Frames:
    """A render's frame grid. Frame k is the instant ``start_s + k / fps``; it runs back to the
    song's start (``replay_from`` <= 0): the frames before ``first`` are replayed."""

    start_s: float
    fps: float
    first: int  # the first frame written
    stop: int  # after the last one
    replay_from: int
    gen_every: int  # the generator paints every gen_every-th frame
    draw_from: int  # the first frame drawn (not only replayed)
    trails_from: int  # the first drawn with a look that keeps a frame history

    @classmethod
    def of(cls, job: RenderJob, *, start_s: float, end_s: float, fps: float) -> _Frames:
        first, stop = _part(job, render_frames(start_s, end_s, fps))
        replay_from = -math.floor(start_s * fps + 1e-9)
        gen_every = _generator_stride(fps, job.generator_fps)
        return cls(start_s=start_s, fps=fps, first=first, stop=stop, replay_from=replay_from,
                   gen_every=gen_every, draw_from=_draw_from(first, replay_from, gen_every),
                   trails_from=first - math.ceil(job.trail_warmup_s * fps))


class _Walk:
    """One show's steps through a render's frames: the clock, the analysis, the show log's
    events, the generator and the frame. The render loop and its planner walk alike, so their
    latents are the same."""

    def __init__(self, app: LiveApp, clock: _Clock, frames: _Frames, job: RenderJob, *,
                 warn: bool) -> None:
        self.app, self.clock, self.frames, self.job = app, clock, frames, job
        self.warn = warn  # about a freeze before the first frame (the render loop's walk)
        self.drawing = False
        self._events = job.replay.events if job.replay else ()
        self._next_event = 0

    def step(self, k: int, *, draw: bool) -> None:
        """Frame k; ``draw=False``: the generator paints what the render paints, but nothing
        is drawn (the planner)."""
        app, frames = self.app, self.frames
        t = frames.start_s + k / frames.fps
        index = k - frames.replay_from  # frames since the song's start: the paint schedule's
        if not self.drawing:
            self.drawing = k >= frames.draw_from or (
                k >= frames.trails_from and index % frames.gen_every == 0
                and _keeps_history(app))
            if self.warn and self.drawing and k < frames.first \
                    and app.params.get("master.freeze"):
                log.warning("%s: the picture is frozen (master.freeze) before frame %d: the "
                            "held frame is not replayed, this part may differ from a whole "
                            "render", self.job.out, frames.first)
        self.clock.now_s = t
        # Frame k stands for the instant t (the recorder's slot k is centred on it), so it
        # shows the audio up to the middle of its slot: an event lands on the nearest frame.
        # Live can only show the past; offline there is no audio->photon latency to pay.
        app.analyzer.advance_to(t + 0.5 / frames.fps)
        self._next_event = _apply_events(app, self._events, self._next_event,
                                         until_s=app.analyzer.now_s)
        if index % frames.gen_every == 0:
            app.worker.paint(dt_s=frames.gen_every / frames.fps, synthesize=self.drawing)
        app.step_frame(index, now_s=t, dt_s=1.0 / frames.fps, time_s=t,
                       draw=self.drawing and draw)


def _seed(app: LiveApp, job: RenderJob) -> None:
    if job.seed is not None:
        error = app.params.set("walk.bank", job.seed, source="cli")
        if error:
            raise GansmaniaError(f"--seed {job.seed}: {error}")


def render_frames(start_s: float, end_s: float, fps: float) -> int:
    """Frames a render of song seconds [start_s, end_s) at ``fps`` writes."""
    return max(1, round((end_s - start_s) * fps))


def render_audio(job: RenderJob, *, fps: float) -> tuple[np.ndarray, int]:
    """The samples (n, channels) float32 and rate of the audio track a whole render of ``job``
    at ``fps`` writes: the slots of its frames, silence past the song's end."""
    from fractions import Fraction

    from visualizer.audio.filesource import load_audio

    audio, sr = load_audio(Path(job.audio))
    start_s, end_s = render_span(job, song_s=audio.shape[0] / sr)
    rate = Fraction(fps).limit_denominator(1001)  # the recorder's (StreamSpec.rate)
    first_sample = round(start_s * sr)
    frames = render_frames(start_s, end_s, fps)
    return _slice(audio, first_sample,
                  first_sample + frames * sr * rate.denominator // rate.numerator), sr


def _part(job: RenderJob, total: int) -> tuple[int, int]:
    if job.part is None:
        return 0, total
    first, stop = job.part
    if not 0 <= first < stop <= total:
        raise GansmaniaError(f"frames {first}..{stop}: not a part of the render's {total} frames "
                             f"(0 <= first < stop <= {total})")
    return first, stop


def _draw_from(first: int, replay_from: int, gen_every: int) -> int:
    """The first frame drawn (not only replayed) for a render whose first written frame is
    ``first``: the generator frame before the last one painted by then, as its picture
    cross-fades from that one."""
    last_paint = (first - replay_from) // gen_every * gen_every
    return max(replay_from, replay_from + last_paint - gen_every)


def _keeps_history(app: LiveApp) -> bool:
    """A chain on screen (or fading in) has a pass that reads its own previous frame."""
    chains = (app.renderer.chain, app.renderer.incoming)
    return any(step.shader.uses_prev for chain in chains if chain is not None
               for step in chain.steps)


def render_span(job: RenderJob, *, song_s: float) -> tuple[float, float]:
    """The song seconds [start, end) ``job`` renders of a song ``song_s`` long."""
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


def _lookahead(config: ShowConfig, job: RenderJob, audio: np.ndarray, sr: int):
    """Whole-song beats for --lookahead (librosa), else None; tracked once per render."""
    if not job.lookahead:
        return None
    from visualizer.audio.offline import LookaheadBeats

    channel = config.audio.channels
    mono = audio.mean(axis=1) if channel == 0 else audio[:, channel - 1]
    return LookaheadBeats.track(mono, sr=sr)


def _analyzer(config: ShowConfig, job: RenderJob, audio: np.ndarray, sr: int, lookahead):
    """The offline analyzer of ``audio`` (with ``lookahead``'s beats, if any)."""
    from visualizer.audio.features import extractor_settings
    from visualizer.audio.offline import OfflineAnalyzer

    return OfflineAnalyzer(audio, sample_rate=sr, settings=extractor_settings(config.audio, sr=sr),
                           channel=config.audio.channels, name=Path(job.audio).name,
                           history_s=config.audio.history_s, lookahead=lookahead)


def _open_recorder(config: ShowConfig, job: RenderJob, sr: int, channels: int, origin_s: float):
    import os

    from visualizer.record.recorder import Recorder
    from visualizer.record.writer import StreamSpec

    spec = StreamSpec(size=config.display.size, fps=config.record.fps, sample_rate=sr,
                      channels=channels)
    # A fixed thread count: x264's output depends on it, and a render must repeat exactly.
    threads = config.record.threads or os.cpu_count() or 1
    # Independent GOPs: a render's parts encode to the same frames as the whole.
    return Recorder(Path(job.out), spec, origin_s=origin_s, settings=config.record, config=config,
                    threads=threads, independent_gops=True).start()


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
