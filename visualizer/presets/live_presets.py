"""Presets in `gansmania live`: a PresetDeck wired into the LiveApp's extension points.

- the start preset is shown before the first frame (a broken one stops `live` with its error);
- actions ``preset`` (slot 1-9 or a name: keys 1-9, OSC), ``preset_next``/``preset_prev``;
- a frame hook advances the deck (beat clock, fades, bindings, hot reload) and hands the
  transition progress, the preset name and any preset/shader error to the app (HUD + log);
- a preset's ``[controller]`` goes into the ParamStore, the one home of live parameters; the new
  keyframes glide in over the cross-fade (walk.bank_change_s for the fade, then the preset's own);
- with a ``[setlist]`` the show starts on its first look and moves on every phrase
  (``setlist``); a switch by hand holds it for a phrase.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from visualizer.core.errors import ConfigError
from visualizer.presets.deck import PresetDeck
from visualizer.presets.schema import Preset
from visualizer.presets.setlist import SetList

if TYPE_CHECKING:
    from visualizer.app import LiveApp, Tick
    from visualizer.control.params import Action

log = logging.getLogger(__name__)

_GLIDE_PARAM = "walk.bank_change_s"
_GLIDE_MAX_S = 30.0  # the param's declared maximum


class LivePresets:
    """Owns the deck inside a running LiveApp (see the module docstring)."""

    def __init__(self, app: LiveApp) -> None:
        self.app = app
        self.deck = PresetDeck(app.renderer, settings=app.show.presets, on_switch=self._switch)
        self.setlist = SetList(self.deck, app.show.setlist) if app.show.setlist.looks else None
        self._restore_glide_s: float | None = None  # the preset's own glide, once its fade ends

    def install(self, look: str | Preset) -> Preset:
        """Show ``look`` (a preset, its name or file; with a set list: the list's first look)
        and take over the preset actions and the per-frame hook."""
        preset = self.setlist.start() if self.setlist is not None else self.deck.start(look)
        self.app.on_action("preset", self._on_preset)
        self.app.on_action("preset_next", lambda action: self._by_hand(self.deck.step(+1)))
        self.app.on_action("preset_prev", lambda action: self._by_hand(self.deck.step(-1)))
        self.app.add_frame_hook(self._tick)
        self.app.preset_name = self.deck.name
        return preset

    def _on_preset(self, action: Action) -> None:
        value = action.value
        if isinstance(value, int) and not isinstance(value, bool):
            self._by_hand(self.deck.select_slot(value))
        elif isinstance(value, str) and value:
            self._by_hand(self.deck.select(value))
        else:
            self.app.report_error("preset", f"preset action wants a slot 1-9 or a name, got {value!r}")

    def _by_hand(self, switched: bool) -> None:
        if switched and self.setlist is not None:
            self.setlist.hold()

    def _tick(self, tick: Tick) -> None:
        from visualizer.mapping.settings import controller_settings

        controller = controller_settings(tick.params)
        fade_beats = tick.params.get("master.crossfade_beats", -1.0)
        self.deck.fade_beats_override = fade_beats if fade_beats >= 0.0 else None
        self.app.transition = self.deck.update(tick.frame, now_s=tick.now_s,
                                               gain=controller.fx.gain * controller.reactivity)
        if self.setlist is not None:
            self.setlist.update()  # a switch it starts now shows from the next frame
        self.app.preset_name = self.deck.name
        if self.deck.incoming is None and self._restore_glide_s is not None:
            self._set({_GLIDE_PARAM: self._restore_glide_s}, "preset")
            self._restore_glide_s = None
        if self.deck.error:
            self.app.report_error("preset", self.deck.error)

    def _switch(self, preset: Preset, glide_s: float) -> None:
        """The deck's hook: ``preset``'s controller settings become the live parameters."""
        from visualizer.core.config import values_of

        if preset.model is not None and self.app.model_path is not None \
                and preset.model.resolve() != Path(self.app.model_path).resolve():
            self.app.report_error("preset", f"preset {preset.name} uses model {preset.model}; "
                                            "switching models needs a restart (live --preset "
                                            f"{preset.name}); keeping {self.app.model_path}")
        values = values_of(preset.controller)
        if glide_s > 0.0:
            self._restore_glide_s = values[_GLIDE_PARAM]
            values[_GLIDE_PARAM] = min(glide_s, _GLIDE_MAX_S)
        self._set(values, f"preset {preset.name}")

    def _set(self, values: dict, source: str) -> None:
        error = self.app.params.set_many(values, source="preset")
        if error:
            raise ConfigError(f"{source}: {error}")


def install_presets(app: LiveApp, look: str | Preset) -> LivePresets:
    """Wire presets into ``app`` starting with ``look`` (a preset, or its name or .toml), or
    with the show's set list; GansmaniaError when the start preset or a look of the set list
    is broken."""
    presets = LivePresets(app)
    presets.install(look)
    return presets
