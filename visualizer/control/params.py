"""The ParamStore: the one place live parameters live, and the queue of one-shot actions.

Keyboard, OSC, MIDI and the web UI only *write* here; the generator worker and the render loop
only *read* an immutable :class:`ParamSnapshot` (one attribute read, no lock), so a controller
flooding messages can never stall a frame. Bad values never raise: :meth:`ParamStore.set`
returns a one-line error (and logs it), and the show goes on with the last good value.

Values arriving from the outside world are coerced the way live controllers send them: an
integral float is accepted for an int (``2.0``), 0/1 for a bool, a list for a tuple.

Every change and every action is announced to listeners as a :class:`ControlEvent` (OSC
feedback, show replay logs); listeners run on the writer's thread and must not block.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Value = bool | int | float | str | tuple
_KINDS = ("bool", "int", "float", "str", "tuple[int]", "tuple[float]")

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


class ParamError(ValueError):
    """A value that does not fit its ParamSpec; the message is one line."""


@dataclass(frozen=True)
class ParamSpec:
    """One live parameter: its type, default, allowed range or choices, and what it does."""

    name: str  # dotted, e.g. "pulse.strength"
    kind: str  # one of _KINDS
    default: Value
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Value, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"param {self.name!r}: kind must be one of {_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "default", self.validate(self.default))

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true/false (or 1/0)"
        lo = "" if self.min is None else f"{self.min:g}"
        hi = "" if self.max is None else f"{self.max:g}"
        base = {"int": "an integer", "float": "a number", "str": "a string",
                "tuple[int]": "a list of integers", "tuple[float]": "a list of numbers"}[self.kind]
        return f"{base} {lo}..{hi}" if lo or hi else base

    def validate(self, value: Any) -> Value:
        """``value`` coerced to this parameter's type, or ParamError (one line)."""
        coerced = self._coerce(value)
        items = coerced if isinstance(coerced, tuple) else (coerced,)
        if self.kind.startswith("tuple") and not items:
            self._fail(value, "is empty")
        for item in items:
            if self.choices and item not in self.choices:
                self._fail(value, "is not allowed")
            if isinstance(item, int | float) and not isinstance(item, bool):
                if (self.min is not None and item < self.min) or (self.max is not None and item > self.max):
                    self._fail(value, "is out of range")
        return coerced

    def _coerce(self, value: Any) -> Value:
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            self._fail(value, "is not a bool")
        if kind in ("int", "float"):
            return self._number(value, kind, value)
        if kind == "str":
            if isinstance(value, str):
                return value
            self._fail(value, "is not a string")
        if not isinstance(value, list | tuple):
            self._fail(value, "is not a list")
        return tuple(self._number(item, kind[6:-1], value) for item in value)

    def _number(self, item: Any, kind: str, whole: Any) -> int | float:
        if isinstance(item, bool) or not isinstance(item, int | float):
            self._fail(whole, "is not a number")
        if not math.isfinite(item):
            self._fail(whole, "is not finite")
        if kind == "int":
            if float(item) != int(item):
                self._fail(whole, "is not an integer")
            return int(item)
        return float(item)

    def _fail(self, value: Any, problem: str) -> typing.NoReturn:
        raise ParamError(f"param '{self.name}' = {value!r} {problem}; allowed {self.allowed()}")


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

    def __init__(self, specs: Iterable[ParamSpec] = (), *, action_capacity: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, ParamSpec] = {}
        self._snapshot = ParamSnapshot({}, 0)
        self._listeners: list[Listener] = []
        self._actions: collections.deque[Action] = collections.deque()
        self._action_capacity = action_capacity
        self._clock = clock
        self.actions_dropped = 0  # actions lost because nobody drained the queue
        self.last_error = ""  # the latest rejected value or action, for the HUD
        self.last_error_s = -math.inf  # when it happened (clock time)
        self.define(*specs)

    # ------------------------------------------------------------------ parameters

    def define(self, *specs: ParamSpec) -> None:
        """Add parameters (at their defaults). Redefining a name replaces its spec and keeps the
        current value when it still fits, so a preset can narrow a range without a jump."""
        with self._lock:
            values = dict(self._snapshot)
            for spec in specs:
                self._specs[spec.name] = spec
                try:
                    values[spec.name] = spec.validate(values[spec.name]) if spec.name in values \
                        else spec.default
                except ParamError:
                    values[spec.name] = spec.default
            self._snapshot = ParamSnapshot(values, self._snapshot.version + 1)

    def spec(self, name: str) -> ParamSpec | None:
        return self._specs.get(name)

    def specs(self) -> list[ParamSpec]:
        """Every parameter's spec, sorted by name (for OSC/MIDI/web to list and map)."""
        with self._lock:
            return [self._specs[name] for name in sorted(self._specs)]

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
                    staged[name] = spec.validate(value)
                except ParamError as exc:
                    return self._reject(f"{exc} (from {source})", now)
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

def specs_from_schema(schema: type, defaults: Any = None, *, prefix: str = "") -> list[ParamSpec]:
    """One ParamSpec per `visualizer.core.config.setting` field of the frozen dataclass
    ``schema`` (nested sections become dotted names), defaulting to ``defaults``' values."""
    defaults = schema() if defaults is None else defaults
    hints = typing.get_type_hints(schema)
    specs = []
    for field in dataclasses.fields(schema):
        name = f"{prefix}{field.name}"
        value = getattr(defaults, field.name)
        if dataclasses.is_dataclass(hints[field.name]):
            specs.extend(specs_from_schema(hints[field.name], value, prefix=f"{name}."))
            continue
        meta = field.metadata
        specs.append(ParamSpec(name=name, kind=_kind_of(hints[field.name], name), default=value,
                               doc=meta.get("doc", ""), min=meta.get("min"), max=meta.get("max"),
                               choices=meta.get("choices")))
    return specs


def values_of(config: Any, *, prefix: str = "") -> dict[str, Value]:
    """A frozen dataclass config flattened to {dotted name: value} (for :meth:`set_many`)."""
    values: dict[str, Value] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            values.update(values_of(value, prefix=f"{prefix}{field.name}."))
        else:
            values[f"{prefix}{field.name}"] = value
    return values


def nested(values: Mapping[str, Value]) -> dict[str, Any]:
    """{"a.b": 1} -> {"a": {"b": 1}} (tuples as lists), ready for `config.from_dict`."""
    tree: dict[str, Any] = {}
    for name, value in values.items():
        *path, leaf = name.split(".")
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = list(value) if isinstance(value, tuple) else value
    return tree


def _kind_of(hint: Any, name: str) -> str:
    simple = {bool: "bool", int: "int", float: "float", str: "str"}
    if hint in simple:
        return simple[hint]
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and args[0] in (int, float):
            return f"tuple[{args[0].__name__}]"
    raise TypeError(f"param {name!r}: type {hint!r} cannot be a live parameter")


def _few(names: list[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" ... ({len(names)} in all)" if len(names) > limit else "")
