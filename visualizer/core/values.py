"""One spec per value: its type, default, allowed range or choices and doc, and the one check.

Config settings (``config.setting``), live parameters (the ParamStore) and shader ``@param``
lines all describe their values with a :class:`ValueSpec`, so a value is accepted, coerced and
refused the same way everywhere and the "allowed ..." text reads the same. Where a value comes
from changes one thing: a *live* value (OSC, MIDI, the web UI) may also be 1/0 for a bool and
must be finite and, for a list, not empty, because controllers send numbers for everything and
a noisy one sends garbage; a file means what it says.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Value = bool | int | float | str | tuple  # what a live parameter holds
_NONE = type(None)
# (singular, plural) nouns of the leaf types a value may have.
_NOUNS: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "true or false values"), int: ("an integer", "integers"),
    float: ("a number", "numbers"), str: ("a string", "strings"),
    Path: ("a path (string)", "paths (strings)"), Any: ("any value", "any values")}


class BadValue(ValueError):
    """A value its spec refuses. Reads ``= VALUE PROBLEM; allowed ALLOWED``, for the caller to
    put the name in front (``key 'audio.hop'``, ``param 'pulse.strength'``)."""

    def __init__(self, value: Any, problem: str, allowed: str) -> None:
        super().__init__(f"= {show_value(value)} {problem}; allowed {allowed}")
        self.value = value
        self.problem = problem  # "has the wrong type", "is out of range", ...
        self.allowed = allowed


class _Refused(Exception):
    """Inside the walk over a type: why a value (or one of its items) does not fit."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


@dataclass(frozen=True)
class ValueSpec:
    """What one value may be: a type, a default, a range (numbers, and numbers in lists) or
    choices, and a one-line doc.

    ``type`` is a type hint: bool, int, float, str, Path, Any, a Literal, ``X | None``, a union,
    ``tuple[X, ...]`` or ``tuple[X, Y]``.
    """

    type: Any
    default: Any = None
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices) if self.choices else None)

    @property
    def kind(self) -> str:
        """The type's short name for listings and dispatch: "float", "bool", "tuple[int]"..."""
        return _kind(self.type)

    def check(self, value: Any, *, live: bool = False) -> Any:
        """``value`` as this spec's type (an int for a float spec becomes a float, a whole float
        an int for an int spec, a list a tuple, a string a Path); BadValue when it is refused.
        ``live``: the value comes from a controller (see the module doc)."""
        try:
            return self._coerce(self.type, value, live)
        except _Refused as refused:
            raise BadValue(value, refused.problem, self.allowed(live=live)) from None

    def clamp(self, value: float | bool) -> Any:
        """A number forced into range (a bool stays a bool): for live modulation, where
        overshoot is normal. A non-finite number gives the default."""
        if self.type is bool:
            return bool(value)
        if not math.isfinite(value):
            return self.default
        low = -math.inf if self.min is None else self.min
        high = math.inf if self.max is None else self.max
        value = float(min(max(value, low), high))
        return int(round(value)) if self.type is int else value

    def allowed(self, *, live: bool = False) -> str:
        """What is allowed, in words: "a number 0..1", "one of "mix", "luma"", "true or false"."""
        return self._describe(self.type, plural=False, live=live)

    def bounds(self) -> str:
        """The range alone: "0..1", ">= 0", "<= 8", or "" when there is none."""
        if self.min is not None and self.max is not None:
            return f"{_number(self.min)}..{_number(self.max)}"
        if self.min is not None:
            return f">= {_number(self.min)}"
        if self.max is not None:
            return f"<= {_number(self.max)}"
        return ""

    # ------------------------------------------------------------------ the walk over the type

    def _coerce(self, hint: Any, value: Any, live: bool) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if value is None and _NONE in args:
                return None
            inner = [a for a in args if a is not _NONE]
            if len(inner) == 1:
                return self._coerce(inner[0], value, live)
            problems = []
            for candidate in inner:
                try:
                    return self._coerce(candidate, value, live)
                except _Refused as refused:
                    problems.append(refused.problem)
            # A value of one of the types that fails its range says so, not "wrong type".
            raise _Refused(next((p for p in problems if p != "has the wrong type"),
                                "has the wrong type"))
        if origin is Literal:
            if value not in args:
                raise _Refused("is not allowed")
            return value
        if origin is tuple:
            if not isinstance(value, list | tuple):
                raise _Refused("has the wrong type")
            if live and not value:
                raise _Refused("is empty")
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(self._coerce(args[0], item, live) for item in value)
            if len(value) != len(args):
                raise _Refused("has the wrong length")
            return tuple(self._coerce(a, item, live) for a, item in zip(args, value))
        value = _scalar(hint, value, live)
        if self.choices and value not in self.choices:
            raise _Refused("is not allowed")
        if isinstance(value, int | float) and not isinstance(value, bool):
            # Written so that NaN is out of any range.
            if not ((self.min is None or value >= self.min) and (self.max is None or value <= self.max)):
                raise _Refused("is out of range")
        return value

    def _describe(self, hint: Any, *, plural: bool, live: bool) -> str:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            return " or ".join(self._describe(a, plural=plural, live=live)
                               for a in args if a is not _NONE)
        if origin is Literal:
            return "one of " + _listed(args)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return "a list of " + self._describe(args[0], plural=True, live=live)
            if len(set(args)) == 1:
                return f"a list of {len(args)} " + self._describe(args[0], plural=True, live=live)
            return f"a list of {len(args)} values"
        if self.choices:
            return ("any of " if plural else "one of ") + _listed(self.choices)
        noun = _NOUNS[hint][plural]
        if hint is bool and live:
            noun += " (or 1/0)"
        bounds = self.bounds() if hint in (int, float) else ""
        return f"{noun} {bounds}" if bounds else noun


def _scalar(hint: Any, value: Any, live: bool) -> Any:
    """``value`` as the leaf type ``hint``, before choices and range."""
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        if live and isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        raise _Refused("has the wrong type")
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Refused("has the wrong type")
        if live and isinstance(value, float) and not math.isfinite(value):
            raise _Refused("is not finite")
        if hint is float:
            return float(value)
        if isinstance(value, float):  # 6.0 is 6: OSC sends floats, TOML writers may too
            if not value.is_integer():
                raise _Refused("is not a whole number")
            return int(value)
        return value
    if hint is str:
        if not isinstance(value, str):
            raise _Refused("has the wrong type")
        return value
    if hint is Path:
        if not isinstance(value, str | Path):
            raise _Refused("has the wrong type")
        return Path(value).expanduser()
    raise TypeError(f"a ValueSpec cannot hold values of type {hint!r}")


def _kind(hint: Any) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"tuple[{_kind(args[0])}]"
    return getattr(hint, "__name__", str(hint))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _listed(values: Iterable[Any]) -> str:
    return ", ".join(show_value(v) for v in values)


def show_value(value: Any) -> str:
    """A value as an error message quotes it: TOML-like, strings in double quotes."""
    return f'"{value}"' if isinstance(value, str) else repr(value)
