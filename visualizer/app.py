"""The live show, wired: features -> latent feed -> generator worker -> render loop.

`visualizer.show.build_app` assembles it; `LiveApp.run()` is the render loop (main thread: glfw
wants it), and `step_frame` is one frame of it, which the offline render calls on its own
clock. Each display frame it

1. polls keys (-> ParamStore actions) and drains the action queue (handlers by kind);
2. takes the newest generated frame, if any, and uploads it (stale ones were dropped);
3. steps the FX mapper from the newest FeatureFrame (shader motion at display rate), with the
   beat phase predicted for the middle of the frame's time on screen;
4. runs the frame hooks (presets: transitions, shader-parameter bindings);
5. renders: blend of the two newest generator frames -> chain -> HUD -> present;
6. tells the frame observers (recorder) and sleeps to the next tick.

It never waits for the generator. Extension points for the other parts of the product:

- ``app.params`` (ParamStore): OSC/MIDI/web write parameters and post actions there;
- ``app.on_action(kind, handler)``: own an action (presets: "preset*", recorder: "record_*");
- ``app.add_frame_hook(hook)``: called every frame with a :class:`Tick` before rendering;
  ``app.transition`` (0..1) is handed to ``Renderer.render`` for a begun chain transition;
- ``app.set_chain(spec, name=)``: replace the shader chain (errors -> HUD, old chain stays);
- ``app.add_frame_observer(observer, pixels=True)``: every PresentedFrame (pixels read back
  without the HUD when asked), e.g. for recording; ``app.add_audio_listener``: captured audio;
- ``app.add_frame_tap(size, observer)``: the clean frames at a size of their own, read back
  asynchronously (a few frames late, stamped as the frame they show): NDI, streams;
- ``app.params.add_listener``: every parameter change and action as a ControlEvent (replay logs);
- ``app.report_error(source, message)``: a line on the HUD and in the log;
- ``app.osc_port``, ``app.preset_name`` and ``app.remote_qr`` (the web remote's address as QR
  modules): shown on the HUD.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visualizer.core.errors import GansmaniaError
from visualizer.live_stats import LiveStats

if TYPE_CHECKING:
    import numpy as np

    from training.direction_files import Directions

    from visualizer.audio.analyzer import FeatureSource
    from visualizer.audio.frames import FeatureFrame
    from visualizer.backends.base import ImageBackend
    from visualizer.backends.worker import WorkerFactory
    from visualizer.control.params import Action, ControlEvent, ParamSnapshot, ParamStore
    from visualizer.mapping.latent import LatentSpace
    from visualizer.render.library import ShaderLibrary
    from visualizer.render.output import Output
    from visualizer.render.renderer import ChainSpec, PresentedFrame, TappedFrame
    from visualizer.render.taps import FrameTap
    from visualizer.render.uniforms import AudioUniforms
    from visualizer.settings import ShowConfig

log = logging.getLogger(__name__)

KEY_ACTIONS: dict[str, tuple[str, Any]] = {
    "f": ("fullscreen_toggle", None), "h": ("hud_toggle", None), "r": ("record_toggle", None),
    "space": ("tap", None), "left": ("seed_prev", None), "right": ("seed_next", None),
    "l": ("learn", None),
    "escape": ("quit", None), **{str(n): ("preset", n) for n in range(1, 10)},
}

CPU_SHARED_GENERATOR_FPS = 30.0  # auto generator cap when it shares the CPU with llvmpipe
# Niceness of the generator's thread when it shares the CPU with llvmpipe: the display and the
# audio analysis win every contended time slice, so a hit reaches the shaders without queueing
# behind a generator frame; the generator takes what is left (its rate is capped anyway).
CPU_SHARED_GENERATOR_NICE = 5
ERROR_HOLD_S = 8.0  # an error stays on the HUD this long after its last occurrence


@dataclass(frozen=True)
class Tick:
    """What a frame hook sees, once per display frame, before rendering."""

    index: int  # display frame number
    now_s: float  # time.monotonic()
    dt_s: float  # since the previous frame
    time_s: float  # show time (since run() started)
    frame: FeatureFrame | None  # newest audio features
    uniforms: AudioUniforms  # what the chain will get (the FX mapper's output)
    params: ParamSnapshot


FrameHook = Callable[[Tick], None]
FrameObserver = Callable[["PresentedFrame"], None]
TapObserver = Callable[["TappedFrame"], None]


class FramePacer:
    """Sleeps to a fixed frame period; a frame that ran late restarts the schedule instead of
    rushing to catch up (a burst of frames would look worse than one late one)."""

    def __init__(self, fps: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.fps = fps
        self.period_s = 1.0 / fps
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._next is None or now - self._next > self.period_s:
            self._next = now + self.period_s
            return
        if self._next > now:
            self._sleep(self._next - now)
        self._next += self.period_s


@dataclass(frozen=True)
class ShowModel:
    """A show's generator: the backend that paints, and the torch model that maps seeds to w."""

    backend: ImageBackend
    space: LatentSpace
    path: Path
    reason: str  # why this backend was chosen (HUD, stats, log)
    directions: Directions | None = None  # the model's named directions, when it has a file


# ------------------------------------------------------------------------------- the app

class LiveApp:
    """The running show. `visualizer.show.build_app` builds it; tests may hand in parts."""

    def __init__(self, show: ShowConfig, *, model: ShowModel, features: FeatureSource,
                 output: Output, worker: WorkerFactory, library: ShaderLibrary | None = None,
                 params: ParamStore | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from visualizer.audio.features import FeatureExtractor, extractor_settings
        from visualizer.control.master import master_param_specs
        from visualizer.control.params import ParamStore
        from visualizer.control.shader_params import ShaderOverrides, shader_param_specs
        from visualizer.mapping.fx import FxController
        from visualizer.mapping.latent import LatentController, LatentFeed
        from visualizer.mapping.settings import controller_param_specs
        from visualizer.render.library import ShaderLibrary
        from visualizer.render.renderer import Renderer

        # The extractor's first construction imports scipy.signal/librosa (~1.4 s): do it now,
        # or the first second of a file would play before its analysis starts.
        FeatureExtractor(extractor_settings(show.audio))
        self.show = show
        self.generator = model.backend
        self.analyzer = features
        self.output = output
        self.model_path = model.path
        self.backend_reason = model.reason
        self.clock = clock
        self.params = params or ParamStore(controller_param_specs(show.controller))
        self.fx = FxController()
        display = show.display
        self.renderer = Renderer(output, library or ShaderLibrary(output.ctx),
                                 fx_scale=resolve_fx_scale(display.fx_scale, output=output,
                                                           generator_px=self.generator.resolution),
                                 upscale=display.upscale, fit=display.fit, hud_visible=display.hud)
        # Master controls and shader parameters are live parameters too (OSC, MIDI, web).
        live = {**master_param_specs(hud=show.display.hud), **shader_param_specs(self.renderer.library)}
        self.params.define({name: spec for name, spec in live.items() if self.params.spec(name) is None})
        self.shader_overrides = ShaderOverrides(self.params)
        self._hud_param = self.params.get("master.hud")  # applied to the renderer when it changes
        display_rate = self._display_rate()
        self._frame_s = 1.0 / display_rate
        controller = LatentController(model.space, directions=model.directions)
        latents = LatentFeed(controller, features, self.params.snapshot, clock=clock)
        self.worker = worker(self.generator, latents, max_fps=self._generator_cap(display_rate))
        self.osc_port: int | None = None
        self.preset_name = ""
        self.remote_qr: tuple[tuple[bool, ...], ...] = ()
        self.transition = 0.0
        self._handlers: dict[str, Callable[[Action], None]] = {
            "hud_toggle": lambda a: self.toggle_hud(),
            "fx_reset": lambda a: self.shader_overrides.reset(source=a.source),
            "fullscreen_toggle": lambda a: self.toggle_fullscreen(),
            "quit": lambda a: self.request_stop(),
            # The tap's time is when it was posted (OSC/MIDI arrival), not when it is drained.
            "tap": lambda a: self.analyzer.tap(a.t_s if a.value is None else a.value),
            "bpm": lambda a: self.analyzer.set_bpm(a.value),
            "seed_next": lambda a: self._step_bank(+1, a.source),
            "seed_prev": lambda a: self._step_bank(-1, a.source),
        }
        self._hooks: tuple[FrameHook, ...] = ()
        self._observers: tuple[tuple[FrameObserver, bool], ...] = ()
        self._tap_observers: dict[FrameTap, TapObserver] = {}
        # source -> (message, last time). Outputs report from their own threads (an NDI sender,
        # a recorder's encoder): writers hold the lock, the HUD reads a copy.
        self._errors: dict[str, tuple[str, float]] = {}
        self._errors_lock = threading.Lock()
        self._stop = False
        self._stats = LiveStats()

    def size_for(self, size: tuple[int, int]) -> tuple[int, int]:
        """The size (W, H) an output setting asks for (record.size, output.ndi.size...): itself,
        or the show's output size for 0x0."""
        return (int(size[0]), int(size[1])) if all(size) else tuple(self.output.size)

    @property
    def display_rate(self) -> float:
        """The rate the loop runs at (frames a second): the monitor's, or display.fps."""
        return 1.0 / self._frame_s

    # ------------------------------------------------------------------ extension points

    def on_action(self, kind: str, handler: Callable[[Action], None]) -> None:
        """Make ``handler`` own actions of ``kind`` (replacing the built-in one)."""
        from visualizer.control.params import ACTIONS

        if kind not in ACTIONS:
            raise ValueError(f"unknown action {kind!r}; allowed: {', '.join(ACTIONS)}")
        self._handlers[kind] = handler

    def add_frame_hook(self, hook: FrameHook) -> Callable[[], None]:
        self._hooks = (*self._hooks, hook)
        return lambda: setattr(self, "_hooks", tuple(h for h in self._hooks if h is not hook))

    def add_frame_observer(self, observer: FrameObserver, *, pixels: bool = False) -> Callable[[], None]:
        """``observer(presented)`` after every present; ``pixels``: read the frame back (without
        the HUD) into ``presented.image`` — costs a read-back per frame, so only while needed."""
        entry = (observer, pixels)
        self._observers = (*self._observers, entry)
        return lambda: setattr(self, "_observers", tuple(o for o in self._observers if o is not entry))

    def add_frame_tap(self, size: tuple[int, int], observer: TapObserver) -> Callable[[], None]:
        """``observer(tapped)`` with every frame the audience sees (no HUD) as RGBA at ``size``,
        read back asynchronously (see `visualizer.render.taps`). The remover hands over the frames
        still in flight, then frees the tap. Call both on the render thread."""
        tap = self.renderer.add_tap(size)
        self._tap_observers[tap] = observer

        def remove() -> None:
            if self._tap_observers.pop(tap, None) is not None:
                for tapped in self.renderer.remove_tap(tap):
                    self._notify(observer, tapped)
        return remove

    def add_audio_listener(self, listener: Callable[[np.ndarray, float], None]) -> Callable[[], None]:
        """``listener(block, t_audio)`` for every captured hop (see Analyzer.add_block_listener)."""
        return self.analyzer.add_block_listener(listener)

    def add_event_listener(self, listener: Callable[[ControlEvent], None]) -> Callable[[], None]:
        return self.params.add_listener(listener)

    def set_chain(self, spec: ChainSpec, *, name: str = "") -> str | None:
        """Swap the shader chain; on a bad chain the old one stays and the error (returned) goes
        to the HUD and the log."""
        from visualizer.render.passes import ShaderError

        try:
            self.renderer.set_chain(spec)
        except ShaderError as exc:
            return self.report_error("shader", str(exc))
        self.preset_name = name or self.preset_name
        return None

    def report_error(self, source: str, message: str) -> str:
        """Show ``message`` on the HUD (for ERROR_HOLD_S) and log it; returns it. Any thread."""
        line = " ".join(message.split())
        with self._errors_lock:
            previous = self._errors.get(source)
            self._errors[source] = (line, self.clock())
        if previous is None or previous[0] != line:
            log.error("%s: %s", source, line)
        return line

    def clear_error(self, source: str) -> None:
        """Take ``source``'s message off the HUD now (what it reported is over: a lost input is
        back); otherwise a message stays ERROR_HOLD_S after its last report. Any thread."""
        with self._errors_lock:
            self._errors.pop(source, None)

    def request_stop(self) -> None:
        self._stop = True

    def toggle_hud(self) -> None:
        visible = not self.renderer.hud_visible
        self.renderer.hud_visible = self._hud_param = visible
        self.params.set("master.hud", visible, source="keyboard")  # OSC feedback follows
        log.info("HUD %s", "on" if visible else "off")

    def toggle_fullscreen(self) -> None:
        toggle = getattr(self.output, "toggle_fullscreen", None)
        if toggle is None:
            log.info("fullscreen: not a window (headless output)")
            return
        try:
            toggle()
        except GansmaniaError as exc:
            self.report_error("display", str(exc))

    # ------------------------------------------------------------------ the loop

    def run(self, *, duration_s: float | None = None) -> dict[str, Any]:
        """Run until Esc/quit, a closed window, or ``duration_s``; returns the stats dict."""
        self.analyzer.start()
        try:
            self.worker.start()
            if self._shares_the_cpu():
                lower_thread_priority("generator", CPU_SHARED_GENERATOR_NICE)
            pacer = FramePacer(1.0 / self._frame_s)
            start = last = self.clock()
            self._stats.start(start)
            log.info("show running: %dx%d at %.0f fps, generator %s, audio %s",
                     *self.output.size, pacer.fps, self.generator.name, self.analyzer.name)
            index = 0
            lead_s = 0.0  # from the start of a frame to its present, smoothed
            while not self._stop and not self.output.closed:
                now = self.clock()
                if duration_s is not None and now - start >= duration_s:
                    break
                # Seen from its present until the next one: beat-locked effects aim at the middle,
                # so a beat lands on the frame nearest to it (within half a frame either way).
                seen_s = now + lead_s + 0.5 * self._frame_s
                presented = self.step_frame(index, now_s=now, dt_s=max(now - last, 1e-6),
                                            time_s=now - start, seen_s=seen_s)
                lead = presented.presented_s - now
                lead_s = lead if index == 0 else 0.9 * lead_s + 0.1 * lead
                last = now
                index += 1
                pacer.wait()
        finally:
            self._stats.stop(self.clock())
            self.worker.stop()
            self.analyzer.stop()
        return self.stats()

    def step_frame(self, index: int, *, now_s: float, dt_s: float, time_s: float,
                   seen_s: float | None = None, draw: bool = True) -> PresentedFrame | None:
        """One display frame at clock time ``now_s``: input, generator frame, FX, hooks, render,
        observers. `run` calls it in real time; `gansmania render` with a simulated clock.
        ``seen_s``: when the frame will be on screen (the beat is predicted for it); None (a
        render, whose frames show the features of their own time): the frame's beat phase.
        ``draw=False``: everything up to the drawing (state moves on: FX, hooks, looks, the
        generator frame's timing), nothing drawn, uploaded or observed; returns None. A
        render segment replays the song before its first frame so."""
        from visualizer.control.master import output_gain
        from visualizer.mapping.settings import controller_settings
        from visualizer.render.hud import HudState

        self._handle_input()
        self._take_generated(now_s, upload=draw)
        frame = self.analyzer.latest.get()
        self._stats.features(self.analyzer, frame)
        params = self.params.snapshot()
        uniforms = self.fx.step(frame, controller_settings(params), dt_s, time_s=time_s,
                                at_s=seen_s)
        tick = Tick(index, now_s, dt_s, time_s, frame, uniforms, params)
        for hook in self._hooks:
            self._run_hook(hook, tick)
        self.shader_overrides.apply(self.renderer)  # after the presets' bindings: the hand wins
        if params["master.hud"] != self._hud_param:
            self.renderer.hud_visible = self._hud_param = params["master.hud"]
        if not draw:
            return None
        hud = self._hud_state(frame, uniforms, HudState) if self.renderer.hud_visible else None
        presented = self.renderer.render(
            uniforms, blend=self._blend(now_s), transition=self.transition, hud=hud,
            capture=any(pixels for _, pixels in self._observers), gain=output_gain(params),
            hold=params["master.freeze"])
        self._stats.presented(presented)
        for observer, _ in self._observers:
            self._notify(observer, presented)
        for tapped in presented.tapped:
            self._notify(self._tap_observers[tapped.tap], tapped)
        return presented

    def _display_rate(self) -> float:
        """Frames per second to pace at: the refresh a vsynced window's swap waits for (the swap
        blocks there anyway; Xvfb's does not), else display.fps."""
        if self.show.display.vsync and not self.show.display.headless:
            refresh = getattr(self.output, "refresh_hz", None)  # a window's; headless has none
            if refresh:
                return refresh
        return self.show.display.fps

    def _generator_cap(self, display: float) -> float:
        """The generator's frame-rate cap (model.max_fps; 0 = auto, see its doc) for a display
        paced at ``display`` frames per second.

        Frames painted faster than the display shows them would all be dropped, so never above
        the display rate. On a CPU-only machine the generator and Mesa's rasteriser share the
        cores: every frame painted beyond ~30 fps is taken from the display's rate, and the
        cross-fade makes 30 generated frames a second look as smooth as 60.
        """
        if self.show.model.max_fps > 0:
            return min(self.show.model.max_fps, display)
        return min(CPU_SHARED_GENERATOR_FPS, display) if self._shares_the_cpu() else display

    def _shares_the_cpu(self) -> bool:
        """The generator paints on the CPU that also rasterises the display (llvmpipe)."""
        return _software_gl(self.output.ctx) and self.generator.device == "cpu"

    def _handle_input(self) -> None:
        for key in self.output.poll():
            kind, value = KEY_ACTIONS.get(key, (None, None))
            if kind is not None:
                self.params.post(kind, value, source="keyboard")
        for action in self.params.drain():
            handler = self._handlers.get(action.kind)
            if handler is None:
                log.info("action %s: nothing handles it in this show", action.kind)
                continue
            try:
                handler(action)
            except GansmaniaError as exc:
                self.report_error(action.kind, str(exc))
            except Exception as exc:  # an extension's bug must not end the show
                log.exception("action %s failed", action.kind)
                self.report_error(action.kind, f"{type(exc).__name__}: {exc}")

    def _take_generated(self, now: float, *, upload: bool = True) -> None:
        generated, version = self.worker.latest.get_with_version()
        if generated is None or version == self._stats.gen_version:
            return
        if upload and generated.image is not None:
            self.renderer.submit(generated.image, capture_s=generated.t_audio or None)
        self._stats.generated(generated, version, now)

    def _blend(self, now: float) -> float:
        """0..1 from the previous generator frame to the newest: a ramp over ``crossfade`` x the
        generator's frame interval, counted from one display frame after the new one arrived."""
        ramp_s = self.show.display.crossfade * (self._stats.gen_interval_s or 0.0)
        if ramp_s <= 0.0 or self._stats.arrived_s is None:
            return 1.0
        return min(1.0, (now - self._stats.arrived_s + self._frame_s) / ramp_s)

    def _step_bank(self, step: int, source: str) -> None:
        bank = int(self.params.get("walk.bank")) + step
        error = self.params.set("walk.bank", bank, source=source)
        if error:
            self.report_error("seed", error)

    def _run_hook(self, hook: FrameHook, tick: Tick) -> None:
        try:
            hook(tick)
        except Exception as exc:  # an extension's bug is reported, the frame still renders
            if "hook" not in self._errors:
                log.exception("frame hook %r failed", hook)
            self.report_error("hook", f"{type(exc).__name__}: {exc}")

    def _notify(self, observer: FrameObserver | TapObserver, presented: Any) -> None:
        try:
            observer(presented)
        except Exception as exc:  # e.g. a recorder whose disk filled up: the show goes on
            if "observer" not in self._errors:
                log.exception("frame observer %r failed", observer)
            self.report_error("observer", f"{type(exc).__name__}: {exc}")

    def _hud_state(self, frame: FeatureFrame | None, uniforms: AudioUniforms, hud_type):
        error = self.worker.error
        status = self.analyzer.status
        with self._errors_lock:
            if error is not None:
                self._errors["generator"] = (error.message, error.t_s)
            if self.params.last_error:
                self._errors["params"] = (self.params.last_error, self.params.last_error_s)
            if status.state == "failed":
                self._errors["audio"] = (f"audio: {status.message}", self.clock())
            errors = list(self._errors.values())
        now = self.clock()
        recent = [(t, m) for m, t in errors if now - t <= ERROR_HOLD_S]
        stats = self._stats
        return hud_type(
            fps=stats.recent_fps(now), generator_ms=self.worker.gen_ms,
            level=uniforms.level, bass=uniforms.bass, mid=uniforms.mid, high=uniforms.high,
            bpm=frame.bpm if frame is not None and frame.bpm > 0 else None,
            beat_phase=frame.beat_phase if frame is not None else 0.0,
            latency_ms=stats.recent_latency_ms(), preset=self.preset_name, osc_port=self.osc_port,
            error=max(recent)[1] if recent else "", qr=self.remote_qr)

    # ------------------------------------------------------------------ results

    def stats(self) -> dict[str, Any]:
        """The --stats dict (see `gansmania live --help`)."""
        return self._stats.result(self.worker, backend=self.generator.name,
                                  reason=self.backend_reason, output_size=self.output.size)

    def close(self, *, generator: bool = True) -> None:
        """Release GL, the output and the backend (after run() returned). ``generator=False``:
        the backend is not this app's alone (an offline render's planner borrows it)."""
        self.worker.stop()
        self.renderer.release()
        self.output.release()
        if generator:
            self.generator.close()


def resolve_fx_scale(scale: float, *, output: Output, generator_px: int) -> float:
    """``display.fx_scale``, with 0 (auto) decided for this machine and output.

    On a GPU the shader chain runs at the output size. On llvmpipe every FX pixel costs CPU the
    generator needs, and a chain finer than the generator's own picture adds no detail, only
    cost: auto runs it at about the generator's resolution (256 px shown at 720p: 0.36, which
    halves the display's CPU time against 1.0) and never below 0.25.
    """
    from visualizer.core.errors import ConfigError

    if scale == 0.0:
        if not _software_gl(output.ctx):
            return 1.0
        return min(1.0, max(0.25, generator_px / min(output.size)))
    if scale < 0.1:
        raise ConfigError(f"display.fx_scale = {scale:g} is out of range; allowed 0 (auto) or 0.1..1")
    return scale


def lower_thread_priority(name: str, nice: int) -> list[int]:
    """Raise the OS niceness of this process's Python threads called ``name`` to ``nice``
    (Linux schedules threads one by one; elsewhere nothing happens). Returns the thread ids
    changed. Only ever lowers a priority, which needs no privileges."""
    import os

    changed = []
    for thread in threading.enumerate():
        if thread.name != name or thread.native_id is None or not hasattr(os, "setpriority"):
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, thread.native_id) < nice:
                os.setpriority(os.PRIO_PROCESS, thread.native_id, nice)
                changed.append(thread.native_id)
        except OSError as exc:  # the thread ended meanwhile, or a sandbox refuses: run as is
            log.debug("cannot lower %s's priority: %s", name, exc)
    return changed


def _software_gl(ctx) -> bool:
    """True when OpenGL is rasterised on the CPU (Mesa llvmpipe/softpipe)."""
    renderer = ctx.info.get("GL_RENDERER", "").lower()
    return any(name in renderer for name in ("llvmpipe", "softpipe", "swrast"))
