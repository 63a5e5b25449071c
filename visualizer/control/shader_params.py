"""Shader parameters as live parameters: ``shader.<pass>.<param>`` in the ParamStore.

Every ``@param`` of every pass file becomes one live parameter with the pass's own ValueSpec, so OSC
(``/gm/fx/<pass>/<param>``), MIDI and the web UI reach the shader chain the same way they reach
the latent routes. A value set there is a *live override*: it is applied on top of the running
preset every display frame, after the preset's feature bindings (the VJ's hand beats the
automation), to every step of that pass in the running and the incoming chain, across preset
switches, until ``fx_reset`` hands the parameters back to the presets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from visualizer.control.params import ControlEvent, ParamStore
from visualizer.core.errors import GansmaniaError
from visualizer.core.values import ValueSpec

if TYPE_CHECKING:
    from visualizer.render.library import ShaderLibrary
    from visualizer.render.renderer import Renderer

log = logging.getLogger(__name__)

PREFIX = "shader."
INTERNAL_PASSES = frozenset({"crossfade"})  # the renderer's own transition pass
RESET_SOURCE = "fx-reset"  # writes with this source put the store back; they override nothing


def param_name(pass_name: str, param: str) -> str:
    return f"{PREFIX}{pass_name}.{param}"


def shader_param_specs(library: ShaderLibrary) -> dict[str, ValueSpec]:
    """{live name: spec} for every parameter of every pass ``library`` finds (a pass that does
    not parse is skipped with a warning: the show starts without its live parameters)."""
    specs = {}
    for name in library.names():
        if name in INTERNAL_PASSES:
            continue
        try:
            source = library.source(name)
        except GansmaniaError as exc:
            log.warning("%s (its parameters are not live-controllable)", exc)
            continue
        specs.update({param_name(name, p.name): p.spec for p in source.params})
    return specs


class ShaderOverrides:
    """Collects live shader-parameter writes from the store and applies them to the chains.

    Writers run on any thread (OSC, MIDI); :meth:`apply` runs on the render thread. The override
    table is replaced, never mutated, so the render thread reads it without a lock.
    """

    def __init__(self, params: ParamStore) -> None:
        self.params = params
        self._overrides: Mapping[str, Mapping[str, Any]] = {}  # pass -> {param: value}
        self._restore: Mapping[str, Mapping[str, Any]] = {}  # reset, not yet applied to chains
        self._reported: set[str] = set()
        self.remove_listener = params.add_listener(self._on_event)

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        return {name: dict(values) for name, values in self._overrides.items()}

    def _on_event(self, event: ControlEvent) -> None:
        if event.kind != "param" or not event.name.startswith(PREFIX) or event.source == RESET_SOURCE:
            return
        pass_name, _, param = event.name[len(PREFIX):].partition(".")
        current = dict(self._overrides)
        current[pass_name] = {**current.get(pass_name, {}), param: event.value}
        self._overrides = current

    def reset(self, *, source: str = RESET_SOURCE) -> None:
        """Hand every overridden parameter back to the presets (store values back to defaults)."""
        names = [param_name(p, k) for p, values in self._overrides.items() for k in values]
        self._restore, self._overrides = self._overrides, {}
        defaults = {name: self.params.spec(name).default for name in names
                    if self.params.spec(name) is not None}
        if defaults:
            self.params.set_many(defaults, source=RESET_SOURCE)
        log.info("shader parameters back to the presets' (%d were overridden, by %s)",
                 len(names), source)

    def apply(self, renderer: Renderer) -> None:
        """Set the overridden parameters on every step of their passes (render thread)."""
        restore, self._restore = self._restore, {}
        if restore:  # the chains get their preset's values back (bound ones get them anyway)
            for chain in (renderer.chain, renderer.incoming):
                for index, name in enumerate(chain.names if chain is not None else ()):
                    if name in restore:
                        self._set(chain, index, name, {k: chain.steps[index].params[k]
                                                        for k in restore[name]
                                                        if k in chain.steps[index].params})
        overrides = self._overrides
        if not overrides:
            return
        for chain in (renderer.chain, renderer.incoming):
            if chain is None:
                continue
            for index, name in enumerate(chain.names):
                values = overrides.get(name)
                if values:
                    self._set(chain, index, name, values)

    def _set(self, chain, index: int, name: str, values: Mapping[str, Any]) -> None:
        try:
            chain.set_params(index, values)
        except GansmaniaError as exc:  # the pass file was edited live and lost a parameter
            if name not in self._reported:
                self._reported.add(name)
                log.warning("live override of pass %s: %s", name, exc)

