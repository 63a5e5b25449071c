"""The ParamStore: the one place live parameters live, and the queue of one-shot actions.

Keyboard, OSC, MIDI and the web UI only *write* here; the generator worker and the render loop
only *read* an immutable :class:`ParamSnapshot` (one attribute read, no lock), so a controller
flooding messages can never stall a frame. Bad values never raise: :meth:`ParamStore.set`
returns a one-line error (and logs it), and the show goes on with the last good value.

A parameter is a dotted name and a :class:`~visualizer.core.values.ValueSpec`; values are
checked as live values (``ValueSpec.check(live=True)``: 1/0 for a bool, finite numbers).

Every change and every action is announced to listeners as a :class:`ControlEvent` (OSC
feedback, show replay logs); listeners run on the writer's thread and must not block.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from visualizer.core.values import BadValue, Value, ValueSpec

log = logging.getLogger(__name__)

# One-shot actions the app drains once per display frame; value meaning per kind.
ACTIONS: dict[str, str] = {
    "preset": "switch to a preset: a slot number (1-9) or a preset name",
    "preset_next": "the next preset",
    "preset_prev": "the previous preset",
    "seed_next": "the next bank of keyframe seeds (walk.bank + 1)",
    "seed_prev": "the previous bank of keyframe seeds (walk.bank - 1)",
    "tap": "a tap-tempo tap (value: time.monotonic() s of the tap, or None = now)",
    "bpm": "fix the tempo (value: BPM) or None for automatic tempo",
    "record_toggle": "start recording, or stop when recording",
    "record_start": "start recording",
    "record_stop": "stop recording",
    "hud_toggle": "show/hide the HUD",
    "fx_reset": "hand every live-overridden shader parameter back to the presets",
    "learn": "MIDI learn: bind the next CC or note moved to an OSC address (value: the address; "
             "None = the control touched last)",
    "fullscreen_toggle": "fullscreen on/off (window output only)",
    "quit": "end the show",
}


@dataclass(frozen=True)
class Action:
    """A one-shot command (see :data:`ACTIONS`), queued until the app drains it."""

    kind: str
    value: Any = None
    source: str = ""  # "keyboard", "osc", "midi", "web", ...
    t_s: float = 0.0  # time.monotonic() when it was posted


@dataclass(frozen=True)
class ControlEvent:
    """What listeners hear: a parameter change or an action, with who did it and when."""

    t_s: float  # time.monotonic()
    kind: str  # "param" or "action"
    name: str  # the parameter name or the action kind
    value: Any
    source: str


class ParamSnapshot(Mapping[str, Value]):
    """An immutable view of every parameter at one version. Cheap: the store builds a new one
    per change, readers just take the current one.

    :meth:`derived` memoises values computed from the snapshot (e.g. the ControllerSettings
    dataclass), so each reader builds them once per version, not once per frame.
    """

    __slots__ = ("_values", "version", "_derived", "_lock")

    def __init__(self, values: Mapping[str, Value], version: int) -> None:
        self._values = types.MappingProxyType(dict(values))
        self.version = version
        self._derived: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def derived(self, key: str, build: Callable[[ParamSnapshot], Any]) -> Any:
        """``build(self)``, computed once per snapshot and ``key`` (thread-safe)."""
        with self._lock:
            if key not in self._derived:
                self._derived[key] = build(self)
            return self._derived[key]

    def section(self, prefix: str) -> dict[str, Value]:
        """The parameters under ``prefix.`` with the prefix removed."""
        cut = len(prefix) + 1
        return {name[cut:]: value for name, value in self._values.items()
                if name.startswith(prefix + ".")}


Listener = Callable[[ControlEvent], None]


class ParamStore:
    """Named, typed live parameters plus a bounded action queue; safe from any thread."""

    def __init__(self, specs: Mapping[str, ValueSpec] | None = None, *, action_capacity: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, ValueSpec] = {}
        self._snapshot = ParamSnapshot({}, 0)
        self._listeners: list[Listener] = []
        self._actions: collections.deque[Action] = collections.deque()
        self._action_capacity = action_capacity
        self._clock = clock
        self.actions_dropped = 0  # actions lost because nobody drained the queue
        self.last_error = ""  # the latest rejected value or action, for the HUD
        self.last_error_s = -math.inf  # when it happened (clock time)
        self.define(specs or {})

    # ------------------------------------------------------------------ parameters

    def define(self, specs: Mapping[str, ValueSpec]) -> None:
        """Add parameters {name: spec} at their defaults (ValueError for a default its spec
        refuses). Redefining a name replaces its spec and keeps the current value when it still
        fits, so a preset can narrow a range without a jump."""
        defaults = {}
        for name, spec in specs.items():
            try:
                defaults[name] = spec.check(spec.default, live=True)
            except BadValue as exc:
                raise ValueError(f"param '{name}' default {exc}") from None
        with self._lock:
            values = dict(self._snapshot)
            for name, spec in specs.items():
                self._specs[name] = spec
                try:
                    values[name] = spec.check(values[name], live=True) if name in values \
                        else defaults[name]
                except BadValue:
                    values[name] = defaults[name]
            self._snapshot = ParamSnapshot(values, self._snapshot.version + 1)

    def spec(self, name: str) -> ValueSpec | None:
        return self._specs.get(name)

    def specs(self) -> dict[str, ValueSpec]:
        """Every parameter's spec by name, sorted (for OSC/MIDI/web to list and map)."""
        with self._lock:
            return {name: self._specs[name] for name in sorted(self._specs)}

    def snapshot(self) -> ParamSnapshot:
        """The current values: immutable, one attribute read, never waits on writers."""
        return self._snapshot

    @property
    def version(self) -> int:
        """Increments with every change (and every define)."""
        return self._snapshot.version

    def get(self, name: str) -> Value:
        return self._snapshot[name]

    def set(self, name: str, value: Any, *, source: str = "api") -> str | None:
        """Set one parameter. Returns None when applied, else a one-line error (also logged);
        never raises for a bad name or value."""
        return self.set_many({name: value}, source=source)

    def set_many(self, values: Mapping[str, Any], *, source: str = "api") -> str | None:
        """Set several parameters at once (one version, all or nothing): a preset switch or an
        OSC bundle lands whole. Returns None, or the first problem as one line."""
        now = self._clock()
        with self._lock:
            current = self._snapshot
            staged: dict[str, Value] = {}
            for name, value in values.items():
                spec = self._specs.get(name)
                if spec is None:
                    return self._reject(f"unknown param '{name}' (from {source}); "
                                        f"known: {_few(sorted(self._specs))}", now)
                try:
                    staged[name] = spec.check(value, live=True)
                except BadValue as exc:
                    return self._reject(f"param '{name}' {exc} (from {source})", now)
            changed = {n: v for n, v in staged.items() if current[n] != v}
            if changed:
                self._snapshot = ParamSnapshot({**current, **changed}, current.version + 1)
            listeners = list(self._listeners)
        for name, value in changed.items():
            self._announce(listeners, ControlEvent(now, "param", name, value, source))
        return None

    def _reject(self, message: str, now: float) -> str:
        self.last_error, self.last_error_s = message, now
        log.warning("%s", message)
        return message

    # ------------------------------------------------------------------ actions

    def post(self, kind: str, value: Any = None, *, source: str = "api") -> str | None:
        """Queue an action (see :data:`ACTIONS`). When the queue is full the oldest action is
        dropped: the newest intent wins. Returns None, or a one-line error for an unknown kind."""
        now = self._clock()
        if kind not in ACTIONS:
            with self._lock:
                return self._reject(f"unknown action '{kind}' (from {source}); "
                                    f"allowed: {', '.join(ACTIONS)}", now)
        action = Action(kind, value, source, now)
        with self._lock:
            if len(self._actions) >= self._action_capacity:
                self._actions.popleft()
                self.actions_dropped += 1
            self._actions.append(action)
            listeners = list(self._listeners)
        self._announce(listeners, ControlEvent(now, "action", kind, value, source))
        return None

    def drain(self) -> list[Action]:
        """Every queued action, oldest first; the queue is empty afterwards."""
        with self._lock:
            actions = list(self._actions)
            self._actions.clear()
        return actions

    # ------------------------------------------------------------------ listeners

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` after every change and action; returns a remover."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    @staticmethod
    def _announce(listeners: list[Listener], event: ControlEvent) -> None:
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener (OSC feedback, a log) must not stop the show
                log.exception("param listener %r failed on %s", listener, event.name)


# ---------------------------------------------------------------------- from schemas

def _few(names: list[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" ... ({len(names)} in all)" if len(names) > limit else "")
