"""The live side of presets: the running look, slots on keys 1-9, beat-synced cross-fades,
feature bindings applied every frame, and hot reload of preset and shader files.

The live loop calls, once per display frame::

    progress = deck.update(frame, now_s=time.monotonic())     # newest FeatureFrame (or None)
    renderer.render(uniforms, transition=progress, hud=HudState(preset=deck.name, error=deck.error))

and ``deck.select_slot(n)`` for keys 1-9, ``deck.select(name)`` for OSC. Nothing here raises
during the show: a preset or shader that fails to load, parse or compile is logged, shown
through :attr:`PresetDeck.error`, and the last good look keeps running.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from visualizer.audio.frames import FeatureFrame
from visualizer.core.errors import GansmaniaError
from visualizer.presets.beats import BeatClock, Crossfade
from visualizer.presets.catalog import find_preset, slot_paths
from visualizer.presets.features import feature_values
from visualizer.presets.loader import load_preset
from visualizer.presets.schema import Preset
from visualizer.presets.watch import FileWatcher
from visualizer.render.chain import ShaderChain
from visualizer.render.renderer import Renderer
from visualizer.settings import PresetSettings

log = logging.getLogger(__name__)

# Called when a preset takes over the latent controller: (preset, glide time in seconds), at
# start, when a cross-fade begins (glide = the fade's length) and when the file is reloaded.
SwitchHook = Callable[[Preset, float], None]

RELOAD_INTERVAL_S = 0.25  # how often files are polled: an edit shows within this (+ a frame)
_DIRECTORIES = re.compile(r"(?:[A-Za-z]:)?(?:/[^\s:/]+)+/(?=[^\s:/]+)")


class PresetDeck:
    """Runs presets on ``renderer`` (see the module docstring)."""

    def __init__(self, renderer: Renderer, *, settings: PresetSettings,
                 preset_dirs: Sequence[Path] | None = None, model_dirs: Sequence[Path] | None = None,
                 on_switch: SwitchHook | None = None) -> None:
        self.renderer = renderer
        self.library = renderer.library
        self.settings = settings
        self.on_switch = on_switch
        self.clock = BeatClock(fallback_bpm=settings.fallback_bpm)
        self.progress = 0.0  # of the fade under way (0 also while it waits for its bar)
        # A live cross-fade length (beats; OSC /gm/crossfade) that beats every preset's own.
        self.fade_beats_override: float | None = None
        self._preset_dirs = preset_dirs
        self._model_dirs = model_dirs
        self.slots = slot_paths(settings.slots, dirs=preset_dirs)
        self._current: Preset | None = None
        self._incoming: Preset | None = None
        self._fade: Crossfade | None = None
        self._fade_started = False
        self._watcher = FileWatcher()
        self._next_reload_s = -float("inf")
        self._errors: dict[str, str] = {}  # source (a file) -> its problem; the newest is shown
        self._pending: set[Path] = set()  # preset files on screen whose newest version failed

    # ------------------------------------------------------------------ state

    @property
    def current(self) -> Preset | None:
        """The preset on screen (the one being left, during a fade)."""
        return self._current

    @property
    def incoming(self) -> Preset | None:
        """The preset being faded to (or waiting for its bar)."""
        return self._incoming

    @property
    def name(self) -> str:
        """What the HUD shows: ``drift``, or ``drift > tunnel 40%`` during a fade."""
        current = self._current.name if self._current else ""
        if self._incoming is None:
            return current
        when = f"{self.progress:.0%}" if self._fade_started else "next " + self.settings.quantize
        return f"{current} > {self._incoming.name} {when}"

    @property
    def error(self) -> str:
        """The newest unresolved problem, directories cut for the HUD ("" when all is well)."""
        if not self._errors:
            return ""
        return _DIRECTORIES.sub("", next(reversed(self._errors.values())))

    @property
    def errors(self) -> dict[str, str]:
        """Every unresolved problem by source file, full one-line messages."""
        return dict(self._errors)

    def find(self, ref: str | Path) -> Path:
        """The file of preset ``ref`` (name or file) in this deck's folders; GansmaniaError
        (one line) when there is none."""
        return find_preset(ref, dirs=self._preset_dirs)

    def load(self, path: Path) -> Preset:
        """The preset at ``path``, validated against this deck's shader library."""
        return load_preset(path, library=self.library, model_dirs=self._model_dirs)

    # ------------------------------------------------------------------ switching

    def start(self, look: str | Path | Preset) -> Preset:
        """Show ``look`` (a preset's name or file, or one already loaded) at once. Raises
        GansmaniaError: before the show a bad preset should stop `live` with its one-line
        error, not start on a black screen."""
        preset = look if isinstance(look, Preset) else self.load(find_preset(look, dirs=self._preset_dirs))
        self.renderer.cancel_transition()
        self.renderer.set_chain(preset.chain_spec())
        self._current, self._incoming, self._fade, self.progress = preset, None, None, 0.0
        self._notify(preset, glide_s=0.0)
        self._watch()
        self._clear_stale()
        log.info("preset %s: %s", preset.name, preset.description)
        return preset

    def select(self, ref: str | Path, *, start_beat: float | None = None) -> bool:
        """Fade to ``ref`` (name or file) from the next bar (see PresetSettings), or from beat
        ``start_beat`` of the clock (a set list's phrase boundary); False, with the error
        recorded for the HUD, when it cannot be loaded or built."""
        key = str(ref)
        try:
            path = find_preset(ref, dirs=self._preset_dirs)
            key = str(path)
            preset = self.load(path)
            if self._fade is not None and self._fade_started:
                self._finish_fade()  # the fade under way lands before the next one leaves
            self.renderer.begin_transition(preset.chain_spec(), mode=preset.transition.mode)
        except GansmaniaError as exc:
            self._report(_source(exc, key), exc)
            return False
        self._clear_stale()
        beats = self.settings.fade_beats if preset.transition.beats is None else preset.transition.beats
        if self.fade_beats_override is not None:
            beats = self.fade_beats_override
        start = start_beat if start_beat is not None else self.clock.next_start(
            quantize=self.settings.quantize, beats_per_bar=self.settings.beats_per_bar)
        self._incoming, self._fade, self._fade_started = preset, Crossfade(start, beats), False
        self._watch()
        log.info("preset %s in %.2f beats, fading over %g beats (%s)", preset.name,
                 start - self.clock.position, beats, preset.transition.mode)
        return True

    def select_slot(self, number: int) -> bool:
        """Fade to the preset on key ``number`` (1-9); False when the slot is empty or broken."""
        if not 1 <= number <= len(self.slots):
            log.info("no preset on key %s (%d slots)", number, len(self.slots))
            return False
        return self.select(self.slots[number - 1])

    def step(self, offset: int) -> bool:
        """Fade to the slot ``offset`` places after (before, when negative) the one showing."""
        if not self.slots:
            return False
        showing = self._incoming or self._current
        paths = [p.resolve() for p in self.slots]
        here = paths.index(showing.path.resolve()) if showing and showing.path.resolve() in paths else -1
        if here < 0 and offset < 0:
            here = 0  # not on a slot: "previous" goes to the last slot, "next" to the first
        return self.select(self.slots[(here + offset) % len(self.slots)])

    # ------------------------------------------------------------------ per frame

    def update(self, frame: FeatureFrame | None, *, now_s: float, gain: float = 1.0) -> float:
        """Advance one display frame: beat clock, fade, bindings, hot reload (every 0.25 s).

        ``gain`` scales the amount features (not the phases) as the controller's reactivity
        scales the shader uniforms. Returns the transition progress for
        ``Renderer.render(transition=...)``.
        """
        position = self.clock.update(frame, now_s=now_s)
        if self.settings.watch and now_s >= self._next_reload_s:
            self._next_reload_s = now_s + RELOAD_INTERVAL_S
            self.reload()
        progress = 0.0
        if self._fade is not None and self._incoming is not None:
            progress = self._fade.progress(position)
            if progress > 0.0 and not self._fade_started:
                self._fade_started = True
                self._notify(self._incoming, glide_s=self._fade.beats * 60.0 / self.clock.bpm)
            if progress >= 1.0:
                self._finish_fade()
                progress = 0.0
        self.progress = progress
        features = feature_values(frame, bar_phase=self.clock.bar_phase(self.settings.beats_per_bar),
                                  gain=gain)
        _bind(self._current, self.renderer.chain, features)
        _bind(self._incoming, self.renderer.incoming, features)
        return progress

    def _finish_fade(self) -> None:
        self.renderer.end_transition()
        self._current, self._incoming, self._fade = self._incoming, None, None
        self._fade_started = False
        self.progress = 0.0
        self._watch()

    # ------------------------------------------------------------------ hot reload

    def reload(self) -> None:
        """Apply preset and shader files that changed on disk; a broken one keeps the last good
        version running and is reported."""
        for path in self._watcher.poll():
            self._reload_preset(path)
        try:
            reloaded = self.renderer.reload_shaders()
        except GansmaniaError as exc:
            self._report(_source(exc, "shaders"), exc)
            reloaded = []
        for name in reloaded:
            log.info("reloaded shader pass %s", name)
        if self._recheck_shader_errors():
            for path in list(self._pending):  # they may have failed only for that pass
                self._reload_preset(path)

    def _reload_preset(self, path: Path) -> None:
        try:
            preset = self.load(path)
            if self._current is not None and path == self._current.path:
                # A fresh chain even when only numbers changed: the renderer rebuilds chains from
                # the spec it was given when a pass file changes, so the spec must be the new one.
                self.renderer.set_chain(preset.chain_spec())
                changed = (preset.controller, preset.model) != (self._current.controller,
                                                                self._current.model)
                self._current = preset
                if changed:
                    self._notify(preset, glide_s=0.0)
            if self._incoming is not None and path == self._incoming.path:
                self.renderer.begin_transition(preset.chain_spec(), mode=preset.transition.mode)
                self._incoming = preset
        except GansmaniaError as exc:
            self._pending.add(path)
            self._errors.pop(str(path), None)  # this file's older problem is history now
            self._report(_source(exc, str(path)), exc)
            return
        self._pending.discard(path)
        self._clear(str(path))
        self._clear_stale()
        log.info("reloaded preset %s from %s", preset.name, path)

    def _recheck_shader_errors(self) -> bool:
        """Forget shader errors whose pass compiles now; True when any was forgotten."""
        fixed = False
        for key in [k for k in self._errors if k.endswith(".glsl")]:
            try:
                self.library.load(Path(key).stem)  # recompiles only when the file changed
            except GansmaniaError:
                continue
            self._clear(key)
            fixed = True
        return fixed

    def _watch(self) -> None:
        on_screen = {p.path for p in (self._current, self._incoming) if p is not None}
        self._pending &= on_screen
        self._watcher.watch(on_screen)

    # ------------------------------------------------------------------ reporting

    def _notify(self, preset: Preset, *, glide_s: float) -> None:
        if self.on_switch is None:
            return
        try:
            self.on_switch(preset, glide_s)
        except GansmaniaError as exc:
            self._report(str(preset.path), exc)

    def _report(self, key: str, exc: Exception) -> None:
        message = str(exc)
        if self._errors.get(key) != message:
            log.warning("%s (keeping the last good look)", message)
        self._errors.pop(key, None)
        self._errors[key] = message

    def _clear(self, key: str) -> None:
        if self._errors.pop(key, None) is not None:
            log.info("%s: fixed", key)

    def _clear_stale(self) -> None:
        """After a successful switch or reload, forget problems with nothing on screen: failed
        switches, and broken passes no preset on screen uses (they stay broken in the library,
        and are reported again if a preset asks for them)."""
        on_screen = [p for p in (self._current, self._incoming) if p is not None]
        keep = {str(p) for p in self._pending}
        keep |= {str(self.library.path(name)) for p in on_screen for name in p.shaders
                 if name in self.library.names()}
        for key in [k for k in self._errors if k not in keep]:
            self._clear(key)


def _source(exc: GansmaniaError, default: str) -> str:
    """The file an error is about: a pass file for shader errors (so fixing it clears them)."""
    path = getattr(exc, "shader", None) or getattr(exc, "path", None)
    return str(path) if path is not None and str(path).endswith(".glsl") else default


def _bind(preset: Preset | None, chain: ShaderChain | None, features: dict[str, float]) -> None:
    """Set ``preset``'s feature-bound parameters on ``chain`` for this frame."""
    if preset is None or chain is None or chain.names != preset.shaders:
        return  # the chain is a last good version of another shape: leave it as it is
    for index, step in enumerate(preset.fx):
        if step.bindings:
            chain.set_params(index, step.bound_values(features))
