"""The control address space: a table from OSC-style addresses to ParamStore writes and actions.

Routing is separate from transport (like python-osc's Dispatcher vs its servers): this table
knows nothing about sockets. OSC (`visualizer.control.osc`), MIDI (`visualizer.control.midi`,
through its mapping file), the keyboard and the web UI all end in :meth:`RouteTable.dispatch`,
whose only effect is ``params.set`` or ``params.post`` — so every surface reaches the same
parameters the same way, and a test can drive the table without a socket.

Addresses (``gansmania osc-addresses`` prints them; the README has the table):

- named master controls: ``/gm/intensity``, ``/gm/blackout``, ``/gm/freeze``, ``/gm/truncation``,
  ``/gm/crossfade``, ``/gm/seed``, ``/gm/hud``, ``/gm/reactivity``, ``/gm/bpm``, ``/gm/tap``...
- ``/gm/map/<section>/<field>``: every latent-controller parameter (``/gm/map/pulse/strength``),
  and ``/gm/map/<route>/strength`` for every feature route;
- ``/gm/fx/<pass>/<param>``: every shader parameter (a live override, see shader_params);
- ``/gm/param/<dotted/name>``: any parameter in the store by its name, dots as slashes.

Values are validated against the parameter's spec *before* they reach the store, so a flood of
bad values costs no store lock and the caller can rate-limit its own logging of them.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from visualizer.control.params import ParamStore
from visualizer.core.values import BadValue, ValueSpec

log = logging.getLogger(__name__)

ROOT = "/gm"
STATE_ROOT = "/gm/state"
MAP_ROOT = "/gm/map"
FX_ROOT = "/gm/fx"
PARAM_ROOT = "/gm/param"

# Feature route -> the parameter that says how far that feature moves the picture.
STRENGTHS: dict[str, str] = {
    "pulse": "pulse.strength",  # onsets/beats -> a kick along a latent direction
    "chroma": "chroma.strength",  # harmony -> 12 latent directions
    "jitter": "jitter.strength",  # highs -> fine-layer jitter
    "noise": "noise.bass",  # bass -> the generator's noise gain
    "fx": "fx.gain",  # every feature -> the shaders' audio uniforms
}

PRESET_SLOTS = 9  # keys 1-9


class RouteError(ValueError):
    """Arguments a route cannot use; the message is one line."""


@dataclass(frozen=True)
class Route:
    """One address: what it writes, what it takes and how to show it in a table.

    ``kind`` "param": ``target`` is a ParamStore name and the arguments are its value;
    "action": ``target`` is an action kind (see params.ACTIONS) and ``value_of`` turns the
    arguments into the action's value.
    """

    address: str
    kind: str  # "param" | "action"
    target: str
    doc: str
    args: str = ""  # how the arguments read in docs: "<0..1>", "[path]"
    value_of: Callable[[Sequence[Any]], Any] | None = None  # actions: args -> value (RouteError)
    ui_range: tuple[float, float] | None = None  # for faders/MIDI when the spec's range is huge
    feedback: bool = True  # the state feed echoes it at /gm/state/...


def state_address(address: str) -> str:
    """``/gm/map/pulse/strength`` -> ``/gm/state/map/pulse/strength``."""
    return STATE_ROOT + address[len(ROOT):]


@dataclass
class RouteTable:
    """Every address of a show's ParamStore; :meth:`dispatch` is the only way in."""

    params: ParamStore
    routes: dict[str, Route] = field(default_factory=dict)
    # The address a non-MIDI surface touched last: MIDI learn binds it when asked for "the
    # control touched last" (the L key).
    last_touched: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, route: Route) -> None:
        if route.address in self.routes:
            raise ValueError(f"duplicate route {route.address}")
        self.routes[route.address] = route

    def get(self, address: str) -> Route | None:
        return self.routes.get(address)

    def dispatch(self, address: str, args: Sequence[Any] = (), *, source: str) -> str | None:
        """Apply one message. Returns None when applied, else a one-line problem (nothing was
        changed; the caller logs it, rate-limited). Never raises for bad input."""
        route = self.routes.get(address)
        if route is None:
            return f"unknown address {_clip(address)}"
        return self.apply(route, args, source=source)

    def apply(self, route: Route, args: Sequence[Any], *, source: str) -> str | None:
        try:
            if route.kind == "param":
                spec = self.params.spec(route.target)
                if spec is None:
                    return f"{route.address}: parameter {route.target} is not in this show"
                value = spec.check(param_value(spec, args), live=True)
                error = self.params.set(route.target, value, source=source)
            else:
                value = route.value_of(args) if route.value_of is not None else _no_args(args)
                error = self.params.post(route.target, value, source=source)
        except RouteError as exc:
            return f"{route.address} {_show_args(args)}: {exc}"
        except BadValue as exc:
            return f"{route.address} {_show_args(args)}: param '{route.target}' {exc}"
        if error is None and source != "midi":
            self.last_touched = route.address
        return error

    # ------------------------------------------------------------------ lookups

    def canonical(self) -> dict[str, str]:
        """{parameter name: its named address} for feedback (the first route with feedback)."""
        found: dict[str, str] = {}
        for route in self.routes.values():
            if route.kind == "param" and route.feedback:
                found.setdefault(route.target, route.address)
        return found

    def state_addresses(self) -> dict[str, tuple[str, ...]]:
        """{parameter name: every /gm/state/... address that echoes it}."""
        found: dict[str, list[str]] = {}
        for route in self.routes.values():
            if route.kind == "param" and route.feedback:
                found.setdefault(route.target, []).append(state_address(route.address))
        return {name: tuple(addresses) for name, addresses in found.items()}

    def value_range(self, route: Route) -> tuple[float, float] | None:
        """The range a fader or a CC sweeps for ``route``: its ui_range, else its spec's range
        (None for actions, strings and unbounded numbers)."""
        if route.ui_range is not None:
            return route.ui_range
        spec = self.params.spec(route.target) if route.kind == "param" else None
        if spec is None:
            return None
        if spec.kind == "bool":
            return (0.0, 1.0)
        if spec.min is None or spec.max is None or spec.kind not in ("int", "float", "tuple[float]"):
            return None
        return (float(spec.min), float(spec.max))


# ----------------------------------------------------------------------------- arguments

def param_value(spec: ValueSpec, args: Sequence[Any]) -> Any:
    """The parameter value an argument list means for ``spec``; RouteError on a wrong count."""
    if spec.kind.startswith("tuple"):
        if not args:
            raise RouteError(f"needs one or more numbers ({spec.allowed(live=True)})")
        return tuple(args)
    if len(args) != 1:
        raise RouteError(f"needs exactly one argument ({spec.allowed(live=True)}), got {len(args)}")
    return args[0]


def _no_args(args: Sequence[Any]) -> None:
    # A button sends 1 on press and 0 on release: act on the press only. Extra arguments from
    # surfaces that always send one are tolerated, a release is not an action.
    if args and _number(args[0]) == 0.0:
        raise _Release()
    return None


class _Release(RouteError):
    """A button release: not an error worth logging, but nothing to do either."""

    def __init__(self) -> None:
        super().__init__("button release")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _preset_value(args: Sequence[Any]) -> int | str:
    if len(args) != 1:
        raise RouteError(f"needs a slot 1-{PRESET_SLOTS} or a preset name")
    value = args[0]
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return int(text) if text.isdigit() else text
    number = _number(value)
    if number is not None and number.is_integer() and 1 <= number <= PRESET_SLOTS:
        return int(number)
    raise RouteError(f"needs a slot 1-{PRESET_SLOTS} or a preset name, got {value!r}")


def _bpm_value(args: Sequence[Any]) -> float | None:
    if not args or args[0] is None:
        return None
    number = _number(args[0]) if len(args) == 1 else None
    if number == 0.0:
        return None  # 0 = back to the automatic tempo
    if number is None or not 20.0 <= number <= 400.0:
        raise RouteError("needs a tempo 20..400 BPM, or 0 (or nothing) for automatic")
    return number


def _optional_text(what: str) -> Callable[[Sequence[Any]], str | None]:
    def value(args: Sequence[Any]) -> str | None:
        if not args or args[0] is None:
            return None
        if len(args) == 1 and isinstance(args[0], str):
            return args[0].strip() or None
        if len(args) == 1 and _number(args[0]) is not None:
            _no_args(args)  # a button: 1 = go, 0 = release
            return None
        raise RouteError(f"takes at most one {what}")
    return value


def _tap_value(args: Sequence[Any]) -> None:
    _no_args(args)
    return None  # the tap's time is when it arrived (time.monotonic() in the handler)


_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|b'[^']*'|[-+]?\d[\d.e+-]*|\.\.\.")


def problem_key(error: str) -> str:
    """What makes two rejected messages "the same problem" for the log: the address and the
    kind of problem, not the values (a fader sweeping out of range is one problem)."""
    return "bad value:" + _VALUES.sub("#", error)


def is_release(error: str | None) -> bool:
    """True for the 'problem' of a button release (never worth logging)."""
    return error is not None and error.endswith(": button release")


# ----------------------------------------------------------------------------- the table

def _named_routes() -> list[Route]:
    """The named addresses (the issue's list plus a few transport buttons)."""
    action = lambda address, kind, doc, args="", value_of=None: Route(  # noqa: E731
        address, "action", kind, doc, args, value_of or _no_args)
    param = lambda address, name, doc, args, ui=None: Route(  # noqa: E731
        address, "param", name, doc, args, ui_range=ui)
    return [
        action("/gm/preset", "preset", "switch preset (cross-fades from the next bar): slot 1-9 or "
               "a name from `gansmania presets list`", "<name|slot>", _preset_value),
        action("/gm/preset/next", "preset_next", "the next preset slot"),
        action("/gm/preset/prev", "preset_prev", "the previous preset slot"),
        param("/gm/crossfade", "master.crossfade_beats", "cross-fade length of the next preset "
              "switches, beats (0 = cut; -1 = each preset's own)", "<beats>", (0.0, 16.0)),
        param("/gm/seed", "walk.bank", "seed bank: the keyframe seeds the walk visits, offset by "
              "bank x their count", "<int>", (0.0, 127.0)),
        action("/gm/seed/next", "seed_next", "the next seed bank"),
        action("/gm/seed/prev", "seed_prev", "the previous seed bank"),
        param("/gm/truncation", "master.truncation", "multiplier on truncation psi (0 = the average "
              "image, 1 = the preset's, 2 = wild)", "<0..2>"),
        param("/gm/intensity", "master.intensity", "output brightness, a dimmer", "<0..1>"),
        param("/gm/reactivity", "reactivity", "master amount of every audio route (0 = a pure "
              "tempo walk)", "<0..4>"),
        param("/gm/blackout", "master.blackout", "black output (the show runs on underneath)",
              "<0|1>"),
        param("/gm/freeze", "master.freeze", "hold the picture and the latent walk", "<0|1>"),
        param("/gm/hud", "master.hud", "HUD on/off", "<0|1>"),
        action("/gm/bpm", "bpm", "fix the tempo (BPM); 0 or no argument = automatic",
               "<bpm>", _bpm_value),
        action("/gm/tap", "tap", "tap tempo: send on every beat (2+ taps set tempo and phase)",
               "", _tap_value),
        action("/gm/record/start", "record_start", "start recording to PATH (relative: in "
               "record.folder; never over a file), else to a timestamped file in record.folder",
               "[path]", _optional_text("path")),
        action("/gm/record/stop", "record_stop", "stop recording"),
        action("/gm/record/toggle", "record_toggle", "start or stop recording"),
        action("/gm/fx/reset", "fx_reset", "hand every overridden shader parameter back to the "
               "presets"),
        action("/gm/learn", "learn", "MIDI learn: the next CC or note moved is bound to ADDRESS "
               "(no argument: the control touched last); saved to the user folder",
               "[address]", _optional_text("address")),
    ]


def build_routes(params: ParamStore) -> RouteTable:
    """The address table for every parameter ``params`` holds now (define shader and master
    parameters before building it)."""
    table = RouteTable(params)
    for route in _named_routes():
        table.add(route)
    specs = params.specs()
    if "output.ndi.enable" in specs:  # defined while an NDI output runs (visualizer.ndi)
        table.add(Route("/gm/ndi/enable", "param", "output.ndi.enable", "send the picture and "
                        "sound over NDI (the source stays listed while off)", "<0|1>"))
    for route_name, target in STRENGTHS.items():
        if target in specs:
            table.add(Route(f"{MAP_ROOT}/{route_name}/strength", "param", target,
                            f"how far {route_name} moves the picture ({target})",
                            f"<{_range_text(specs[target])}>"))
    for name, spec in specs.items():
        section, _, rest = name.partition(".")
        if name.startswith("shader."):
            pass_name, _, param = rest.partition(".")
            table.add(Route(f"{FX_ROOT}/{pass_name}/{param}", "param", name,
                            spec.doc or f"{pass_name} pass: {param}", f"<{_range_text(spec)}>"))
        elif rest and section in _CONTROLLER_SECTIONS:
            address = f"{MAP_ROOT}/{section}/{rest.replace('.', '/')}"
            if address not in table.routes:
                table.add(Route(address, "param", name, spec.doc, f"<{_range_text(spec)}>"))
    for name, spec in specs.items():
        table.add(Route(f"{PARAM_ROOT}/{name.replace('.', '/')}", "param", name,
                        spec.doc, f"<{_range_text(spec)}>", feedback=False))
    return table


def _controller_sections() -> frozenset[str]:
    """The tables of ControllerSettings (walk, pulse, ...): their fields live under /gm/map."""
    import dataclasses
    import typing

    from visualizer.mapping.settings import ControllerSettings

    hints = typing.get_type_hints(ControllerSettings)
    return frozenset(name for name, hint in hints.items() if dataclasses.is_dataclass(hint))


_CONTROLLER_SECTIONS = _controller_sections()


def _range_text(spec: ValueSpec) -> str:
    """How a parameter's arguments read in the address table: "0..1", "0|1", "a|b", "float"."""
    if spec.kind == "bool":
        return "0|1"
    if spec.choices:
        return "|".join(str(c) for c in spec.choices)
    if spec.min is not None and spec.max is not None:
        return spec.bounds() + (" ..." if spec.kind.startswith("tuple") else "")
    return spec.kind


def _show_args(args: Sequence[Any]) -> str:
    return " ".join(_clip(repr(a), 24) for a in args[:4]) + (" ..." if len(args) > 4 else "")


def _clip(text: str, limit: int = 60) -> str:
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ----------------------------------------------------------------------------- documentation

def address_rows(table: RouteTable) -> list[tuple[str, str, str]]:
    """(address, arguments, what it does) for the README: named routes one per row, the
    families (map, fx, param) one row per section or pass with their fields listed."""
    rows: list[tuple[str, str, str]] = []
    named = {route.address for route in _named_routes()}
    for route in table.routes.values():
        if route.address in named:
            rows.append((route.address, route.args, route.doc))
    strengths = [r for r in table.routes.values()
                 if r.address.startswith(MAP_ROOT) and r.address.endswith("/strength")
                 and r.address.split("/")[3] in STRENGTHS]
    rows.append((f"{MAP_ROOT}/{{{','.join(STRENGTHS)}}}/strength", "<amount>",
                 "how far each feature route moves the picture (0 = off): "
                 + ", ".join(f"{r.address.split('/')[3]} = {r.target} "
                             f"{_range_text(table.params.spec(r.target))}" for r in strengths)))
    rows.extend(_family_rows(table, MAP_ROOT, "latent controller, `[controller.{group}]` "
                                              "(see `gansmania config keys`)"))
    rows.extend(_family_rows(table, FX_ROOT, "shader pass `{group}` (live override until "
                                             "/gm/fx/reset; see shaders/{group}.glsl)"))
    rows.append((f"{PARAM_ROOT}/<name/with/slashes>", "<value>",
                 "any live parameter by its dotted name, e.g. /gm/param/walk/beats_per_seed "
                 "(the list: `gansmania osc-addresses --all`)"))
    return rows


def _family_rows(table: RouteTable, root: str, doc: str) -> list[tuple[str, str, str]]:
    groups: dict[str, list[str]] = {}
    for route in table.routes.values():
        parts = route.address.split("/")
        if route.address.startswith(root + "/") and len(parts) >= 5 and route.kind == "param":
            if root == MAP_ROOT and parts[3] in STRENGTHS and parts[4] == "strength" \
                    and route.target != f"{parts[3]}.strength":
                continue  # an alias row above
            groups.setdefault(parts[3], []).append("/".join(parts[4:]))
    return [(f"{root}/{group}/{{{','.join(fields)}}}", "<value>", doc.format(group=group))
            for group, fields in groups.items()]


def markdown_table(rows: Iterable[tuple[str, str, str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")  # GitHub tables split on | even inside `code`

    lines = ["| Address | Arguments | What it does |", "| --- | --- | --- |"]
    lines += [f"| `{cell(address)}` | {f'`{cell(args)}`' if args else ''} | {cell(doc)} |"
              for address, args, doc in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- problem log

class ProblemLog:
    """Logs each distinct problem once, then only a count per ``every_s`` (a flood of bad
    datagrams must not flood the log). Beyond ``max_keys`` distinct problems, new ones are
    folded into one per kind (``unknown address:*``): random addresses are not news."""

    def __init__(self, name: str, *, every_s: float = 10.0, max_keys: int = 64,
                 on_new: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.every_s = every_s
        self.max_keys = max_keys
        self.on_new = on_new  # e.g. the HUD's error line, for the first of each problem
        self._clock = clock
        self._seen: set[str] = set()
        self._pending = 0
        self._next_summary = clock() + every_s
        self.total = 0
        self.logged = 0
        self._lock = threading.Lock()

    def problem(self, key: str, message: str) -> None:
        """Note one problem; ``key`` says which problems count as the same."""
        now = self._clock()
        with self._lock:
            self.total += 1
            if len(self._seen) >= self.max_keys and key not in self._seen:
                key = key.split(":", 1)[0] + ":*"  # a flood of distinct ones: one per kind
            new = key not in self._seen
            if new:
                self._seen.add(key)
                self.logged += 1
            else:
                self._pending += 1
            summary = self._pending if self._pending and now >= self._next_summary else 0
            if summary:
                self._pending = 0
                self._next_summary = now + self.every_s
                self.logged += 1
        if new:
            log.warning("%s: %s (ignored; repeats are counted, not logged)", self.name, message)
            if self.on_new is not None:
                self.on_new(f"{self.name}: {message}")
        if summary:
            log.warning("%s: %d more ignored message(s) like the ones above", self.name, summary)


def standard_table(*, library: Any = None) -> RouteTable:
    """The route table of a show at its defaults (controller, master and every shader pass's
    parameters), without a running show: for address listings, docs and templates."""
    from visualizer.control.master import master_param_specs
    from visualizer.control.shader_params import shader_param_specs
    from visualizer.mapping.settings import controller_param_specs
    from visualizer.render.library import ShaderLibrary

    library = library or ShaderLibrary(None)
    return build_routes(ParamStore({**controller_param_specs(), **master_param_specs(),
                                    **shader_param_specs(library)}))
