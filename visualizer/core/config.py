"""Typed configuration: frozen dataclasses loaded from TOML and overridden from the command line.

A schema is a frozen dataclass whose fields are declared with :func:`setting` (a value with a
doc line and its allowed range or choices) or :func:`section` (a nested schema, a TOML table).
Everything is validated at the edge: an unknown key, a wrong type or an out-of-range value
raises :class:`ConfigError` with one line naming the file (and line), the key, the value and
what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import tomli_w

from visualizer.core.errors import ConfigError

T = TypeVar("T")


def setting(default: Any, *, doc: str, min: float | None = None, max: float | None = None,
            choices: Iterable[Any] | None = None) -> Any:
    """Declare a schema field: its default, a one-line doc and its allowed range or choices."""
    meta = {"doc": doc, "min": min, "max": max, "choices": tuple(choices) if choices else None}
    return dataclasses.field(default=default, metadata=meta)


def section(schema: type, *, doc: str) -> Any:
    """Declare a nested schema (a TOML table) whose defaults come from ``schema()``."""
    return dataclasses.field(default_factory=schema, metadata={"doc": doc})


# ---------------------------------------------------------------------------------- loading

@dataclasses.dataclass(frozen=True)
class _Origin:
    """Where values come from, for error messages: a file (with its text, for line numbers)."""

    label: str
    text: str | None = None

    def where(self, dotted: str) -> str:
        line = _line_of(self.text, dotted) if self.text else None
        return f"{self.label}:{line}" if line else self.label


# Public name for loaders that validate part of a larger file (presets) and want its line numbers.
Origin = _Origin


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Read a TOML file; a missing or malformed file is a one-line :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config(schema: type[T], path: Path | None = None, *,
                overrides: Mapping[str, Any] | None = None) -> T:
    """Build ``schema`` from the TOML file at ``path`` (defaults when None), then apply overrides.

    ``overrides`` maps dotted keys (``"audio.hop"``) to values from the command line; a value of
    None means "not given" and is skipped.
    """
    if path is None:
        config = schema()
    else:
        data, text = read_toml(path)
        config = from_dict(schema, data, origin=_Origin(str(path), text))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            config = override(config, dotted, value)
    return config


def from_dict(schema: type[T], data: Mapping[str, Any], *, origin: _Origin | str = "config",
              prefix: str = "") -> T:
    """Validate a plain mapping (parsed TOML) against ``schema``."""
    origin = _Origin(origin) if isinstance(origin, str) else origin
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin.where(prefix)}: key '{prefix}' must be a table")
    fields = {f.name: f for f in dataclasses.fields(schema)}
    hints = typing.get_type_hints(schema)
    for key in data:
        if key not in fields:
            dotted = f"{prefix}{key}"
            table = f"[{prefix[:-1]}]" if prefix else "the top level"
            raise ConfigError(f"{origin.where(dotted)}: unknown key '{dotted}'; "
                              f"allowed keys in {table}: {', '.join(sorted(fields))}")
    values = {}
    for name, value in data.items():
        dotted = f"{prefix}{name}"
        values[name] = _coerce(hints[name], value, fields[name].metadata, dotted, origin)
    return schema(**values)


def override(config: T, dotted: str, value: Any, *, origin: str = "command line") -> T:
    """Return ``config`` with the field at ``dotted`` replaced by a validated ``value``."""
    return _override(config, dotted.split("."), value, _Origin(origin), dotted)


def _override(config: T, path: list[str], value: Any, origin: _Origin, dotted: str) -> T:
    head, rest = path[0], path[1:]
    fields = {f.name: f for f in dataclasses.fields(config)}
    if head not in fields:
        raise ConfigError(f"{origin.label}: unknown key '{dotted}'; "
                          f"allowed: {', '.join(sorted(fields))}")
    current = getattr(config, head)
    if rest:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{origin.label}: key '{dotted}': '{head}' is a value, not a table")
        return dataclasses.replace(config, **{head: _override(current, rest, value, origin, dotted)})
    hint = typing.get_type_hints(type(config))[head]
    return dataclasses.replace(config, **{head: _coerce(hint, value, fields[head].metadata,
                                                        dotted, origin)})


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` from ``--set``; the value is a TOML literal, or else a bare string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set audio.hop=128")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip(), value


# ------------------------------------------------------------------------------ validation

def _coerce(hint: Any, value: Any, meta: Mapping[str, Any], dotted: str, origin: _Origin) -> Any:
    """Check ``value`` against the type ``hint`` and the field's range/choices; return it typed."""
    def fail(problem: str, allowed: str) -> typing.NoReturn:
        raise ConfigError(f"{origin.where(dotted)}: key '{dotted}' = {show_value(value)} {problem}; "
                          f"allowed {allowed}")

    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            fail("is not a table", f"a table [{dotted}]")
        return from_dict(hint, value, origin=origin, prefix=f"{dotted}.")

    origin_type, args = typing.get_origin(hint), typing.get_args(hint)
    if origin_type in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _coerce(inner[0], value, meta, dotted, origin)
        for candidate in inner:
            try:
                return _coerce(candidate, value, meta, dotted, origin)
            except ConfigError:
                continue
        fail("has the wrong type", " or ".join(_describe(a) for a in inner))
    if origin_type is Literal:
        if value not in args:
            fail("is not allowed", "one of " + ", ".join(show_value(a) for a in args))
        return value
    if origin_type is tuple:
        if not isinstance(value, list | tuple):
            fail("has the wrong type", _describe(hint))
        if len(args) == 2 and args[1] is Ellipsis:
            items = [_coerce(args[0], v, meta, dotted, origin) for v in value]
        else:
            if len(value) != len(args):
                fail("has the wrong length", _describe(hint))
            items = [_coerce(a, v, meta, dotted, origin) for a, v in zip(args, value)]
        return tuple(items)
    if origin_type is dict:
        if not isinstance(value, Mapping):
            fail("has the wrong type", "a table")
        key_type, value_type = args
        return {_coerce(key_type, k, {}, f"{dotted}.{k}", origin):
                _coerce(value_type, v, meta, f"{dotted}.{k}", origin) for k, v in value.items()}

    if hint is bool:
        if not isinstance(value, bool):
            fail("has the wrong type", "true or false")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail("has the wrong type", _range_text(meta) or "an integer")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail("has the wrong type", _range_text(meta) or "a number")
        value = float(value)
    elif hint is str:
        if not isinstance(value, str):
            fail("has the wrong type", "a string")
    elif hint is Path:
        if not isinstance(value, str | Path):
            fail("has the wrong type", "a path (string)")
        value = Path(value).expanduser()
    elif hint is Any:
        return value
    else:
        raise TypeError(f"config field {dotted!r}: unsupported type {hint!r}")

    if meta.get("choices") and value not in meta["choices"]:
        fail("is not allowed", "one of " + ", ".join(show_value(c) for c in meta["choices"]))
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            fail("is out of range", _range_text(meta))
    return value


def _range_text(meta: Mapping[str, Any]) -> str:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{lo}..{hi}"
    if lo is not None:
        return f">= {lo}"
    if hi is not None:
        return f"<= {hi}"
    return ""


def _describe(hint: Any) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             Path: "a path (string)"}
    if hint in names:
        return names[hint]
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}"
        return f"a list of {len(args)} values"
    return str(hint)


def show_value(value: Any) -> str:
    """A value as an error message quotes it: TOML-like, strings in double quotes."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _line_of(text: str, dotted: str) -> int | None:
    """Best-effort 1-based line of ``dotted`` in TOML ``text`` (a key, or the table that holds it)."""
    parts = dotted.split(".")
    best = None
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = [p.strip().strip('"') for p in header.group(1).split(".")]
            if table == parts:
                return number
            continue
        key = re.match(r"^\s*([A-Za-z0-9_\-\.\"]+)\s*=", line)
        if not key:
            continue
        path = table + [p.strip().strip('"') for p in key.group(1).split(".")]
        if path == parts:
            return number
        if best is None and len(path) < len(parts) and parts[:len(path)] == path:
            best = number  # an inline table holding the key
    return best


# ------------------------------------------------------------------------------ output

def to_dict(config: Any) -> dict[str, Any]:
    """A TOML-ready dict of a config: Paths as strings, tuples as lists, None left out."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if getattr(value, f.name) is not None}
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items() if v is not None}
        return value
    return plain(config)


def to_toml(config: Any) -> str:
    return tomli_w.dumps(to_dict(config))


def resolved_config_path(output: Path) -> Path:
    """Where the resolved config of an output goes: ``DIR/config.toml`` or ``NAME.config.toml``."""
    output = Path(output)
    if output.is_dir() or not output.suffix:
        return output / "config.toml"
    return output.with_name(f"{output.stem}.config.toml")


def write_resolved(config: Any, output: Path) -> Path:
    """Write the resolved ``config`` next to ``output`` so every result says how it was made."""
    path = resolved_config_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(config), encoding="utf-8")
    return path


def describe(schema: type, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """Rows of (key, default, allowed, doc) for every setting of ``schema``, depth first."""
    rows = []
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        dotted = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            rows.extend(describe(hints[f.name], f"{dotted}."))
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        allowed = _range_text(f.metadata)
        if f.metadata.get("choices"):
            allowed = ", ".join(show_value(c) for c in f.metadata["choices"])
        elif typing.get_origin(hints[f.name]) is Literal:
            allowed = ", ".join(show_value(c) for c in typing.get_args(hints[f.name]))
        rows.append((dotted, show_value(default), allowed, f.metadata.get("doc", "")))
    return rows
