"""What a preset is: frozen dataclasses built by ``loader`` from a ``presets/NAME.toml`` file.

A preset file (every key but ``description`` optional)::

    description = "Kaleidoscope that spins on the beat and glows with loudness."
    model = ""                      # checkpoint; "" = the show's model
    [transition]                    # how the show fades *to* this preset
    beats = 8                       # unset = the show's presets.fade_beats
    mode = "luma"                   # mix | luma | dip
    [controller]                    # latent routes: visualizer.mapping.settings.ControllerSettings
    ...
    [[fx]]                          # the shader chain, in order: one table per pass
    shader = "zoom"                 # a pass from shaders/ (see `gansmania presets list --shaders`)
    pulse = 0.2                     # a parameter fixed at a value...
    zoom = { from = "bass", range = [1.0, 1.15] }   # ...or following a feature (features.FEATURES)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from visualizer.core.config import section, setting
from visualizer.mapping.settings import ControllerSettings
from visualizer.render.passes import ParamValue
from visualizer.render.renderer import CROSSFADE_MODES


@dataclass(frozen=True)
class TransitionSettings:
    # None: the show's presets.fade_beats decides.
    beats: float | None = setting(None, doc="cross-fade length in beats when switching to this "
                                            "preset; unset = the show's presets.fade_beats",
                                  min=0.0, max=64.0)
    mode: str = setting("mix", doc="how the cross-fade looks: plain mix, luma wipe (bright parts "
                                   "first) or a dip through black", choices=tuple(CROSSFADE_MODES))


@dataclass(frozen=True)
class PresetHeader:
    """Every top-level key of a preset file except ``[[fx]]`` (validated by the config machinery)."""

    description: str = setting("", doc="one line saying what the look is (shown by `presets list`)")
    model: str = setting("", doc="generator checkpoint (.safetensors): a path relative to the preset "
                                 "file, or a file name in the models folders; \"\" = the show's model")
    transition: TransitionSettings = section(TransitionSettings, doc="how the show fades to this preset")
    controller: ControllerSettings = section(ControllerSettings,
                                             doc="latent controller: seeds, routes, walk, truncation")


@dataclass(frozen=True)
class Binding:
    """A shader parameter following a feature: ``low`` at feature 0, ``high`` at feature 1."""

    feature: str  # a key of visualizer.presets.features.FEATURES
    low: float
    high: float
    curve: float = 1.0  # the feature is raised to this power first: > 1 keeps only the peaks

    def value(self, feature: float) -> float:
        return self.low + (self.high - self.low) * feature ** self.curve


@dataclass(frozen=True)
class FxStep:
    """One ``[[fx]]`` table: a pass with its fixed parameters and its bindings."""

    shader: str  # pass name (file stem in shaders/)
    params: Mapping[str, ParamValue]  # the parameters the preset fixes (others keep the pass default)
    bindings: Mapping[str, Binding]  # parameters that follow features, by parameter name
    line: int | None = None  # the line of its `shader = ...` key, for error messages

    def start_params(self) -> dict[str, float | bool]:
        """The parameters the chain is built with: fixed values, bindings at feature 0."""
        return {**self.params, **{name: b.value(0.0) for name, b in self.bindings.items()}}

    def bound_values(self, features: Mapping[str, float]) -> dict[str, float]:
        """The bound parameters' values for this frame's ``features`` (the chain clamps them)."""
        return {name: b.value(features[b.feature]) for name, b in self.bindings.items()}


@dataclass(frozen=True)
class Preset:
    """A validated preset: everything the show needs to put the look on screen."""

    name: str  # the file stem: what --preset, slots and the HUD call it
    path: Path
    description: str
    model: Path | None  # None: the show's model
    transition: TransitionSettings
    controller: ControllerSettings
    fx: tuple[FxStep, ...]

    def chain_spec(self) -> list[tuple[str, dict[str, float | bool]]]:
        """The shader chain as Renderer.set_chain/begin_transition take it."""
        return [(step.shader, step.start_params()) for step in self.fx]

    @property
    def shaders(self) -> tuple[str, ...]:
        return tuple(step.shader for step in self.fx)
