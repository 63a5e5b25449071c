"""Typed configuration: frozen dataclasses loaded from TOML and overridden from the command line.

A schema is a frozen dataclass whose fields are declared with :func:`setting` (a value with a
doc line and its allowed range or choices; with the field's type it is a
:class:`~visualizer.core.values.ValueSpec`) or :func:`section` (a nested schema, a TOML table).
Everything is validated at the edge: an unknown key, a wrong type or an out-of-range value
raises :class:`ConfigError` with one line naming the file (and line), the key, the value and
what is allowed.

A key that was renamed keeps working for one release: the schema lists it in ``RENAMED``
(old key -> :class:`Renamed`), and reading it converts the value and logs a deprecation.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import tomli_w

from visualizer.core.errors import ConfigError
from visualizer.core.values import BadValue, Value, ValueSpec, show_value

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Renamed:
    """An old key of a schema, read for one release as ``new`` = value / ``divisor``."""

    new: str
    divisor: float = 1.0  # e.g. 1000 from a ``_ms`` key to its ``_s`` successor


def setting(default: Any, *, doc: str, min: float | None = None, max: float | None = None,
            choices: Iterable[Any] | None = None) -> Any:
    """Declare a schema field: its default, a one-line doc and its allowed range or choices."""
    meta = {"doc": doc, "min": min, "max": max, "choices": choices}
    return dataclasses.field(default=default, metadata=meta)


def section(schema: type, *, doc: str) -> Any:
    """Declare a nested schema (a TOML table) whose defaults come from ``schema()``."""
    return dataclasses.field(default_factory=schema, metadata={"doc": doc})


@functools.cache
def fields_of(schema: type) -> Mapping[str, ValueSpec | type]:
    """Each field of ``schema`` by name: its ValueSpec (the type and default of the field, the
    rest from :func:`setting`), or the schema of a :func:`section`."""
    hints = typing.get_type_hints(schema)
    fields: dict[str, ValueSpec | type] = {}
    for f in dataclasses.fields(schema):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            fields[f.name] = hint
            continue
        default = f.default if f.default is not dataclasses.MISSING else \
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        fields[f.name] = ValueSpec(hint, default, **f.metadata)
    return MappingProxyType(fields)


# ---------------------------------------------------------------------------------- loading

@dataclasses.dataclass(frozen=True)
class _Origin:
    """Where values come from, for error messages: a file (with its text, for line numbers)."""

    label: str
    text: str | None = None

    def where(self, dotted: str) -> str:
        line = self.line(dotted)
        return f"{self.label}:{line}" if line else self.label

    def line(self, dotted: str) -> int | None:
        """The line of ``dotted`` in the text, when known."""
        return _line_of(self.text, dotted) if self.text else None


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
    fields = fields_of(schema)
    data = dict(_renamed(schema, key, value, f"{prefix}{key}", origin) for key, value in data.items())
    for key in data:
        if key not in fields:
            dotted = f"{prefix}{key}"
            table = f"[{prefix[:-1]}]" if prefix else "the top level"
            raise ConfigError(f"{origin.where(dotted)}: unknown key '{dotted}'; "
                              f"allowed keys in {table}: {', '.join(sorted(fields))}")
    return schema(**{name: _checked(fields[name], value, f"{prefix}{name}", origin)
                     for name, value in data.items()})


def override(config: T, dotted: str, value: Any, *, origin: str = "command line") -> T:
    """Return ``config`` with the field at ``dotted`` replaced by a validated ``value``."""
    return _override(config, dotted.split("."), value, _Origin(origin), dotted)


def _override(config: T, path: list[str], value: Any, origin: _Origin, dotted: str) -> T:
    head, rest = path[0], path[1:]
    if not rest:
        head, value = _renamed(type(config), head, value, dotted, origin)
    fields = fields_of(type(config))
    if head not in fields:
        raise ConfigError(f"{origin.label}: unknown key '{dotted}'; "
                          f"allowed: {', '.join(sorted(fields))}")
    current = getattr(config, head)
    if rest:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"{origin.label}: key '{dotted}': '{head}' is a value, not a table")
        return dataclasses.replace(config, **{head: _override(current, rest, value, origin, dotted)})
    return dataclasses.replace(config, **{head: _checked(fields[head], value, dotted, origin)})


def _renamed(schema: type, key: str, value: Any, dotted: str, origin: _Origin) -> tuple[str, Any]:
    """(key, value) as the schema reads it now: a renamed key becomes its successor."""
    renamed = getattr(schema, "RENAMED", {}).get(key)
    if renamed is None:
        return key, value
    if renamed.divisor != 1.0 and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = value / renamed.divisor
    new = dotted.rsplit(".", 1)[0] + "." + renamed.new if "." in dotted else renamed.new
    log.warning("%s: key '%s' is deprecated and goes in the next release; read as %s = %s",
                origin.where(dotted), dotted, new, show_value(value))
    return renamed.new, value


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

def _checked(field: ValueSpec | type, value: Any, dotted: str, origin: _Origin) -> Any:
    """``value`` for a field: checked by its ValueSpec, or a section's table by its schema."""
    if isinstance(field, ValueSpec):
        try:
            return field.check(value)
        except BadValue as exc:
            raise ConfigError(f"{origin.where(dotted)}: key '{dotted}' {exc}") from None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{origin.where(dotted)}: key '{dotted}' = {show_value(value)} is not a "
                          f"table; allowed a table [{dotted}]")
    return from_dict(field, value, origin=origin, prefix=f"{dotted}.")


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
    for name, field in fields_of(schema).items():
        if isinstance(field, ValueSpec):
            rows.append((f"{prefix}{name}", show_value(field.default), field.allowed(), field.doc))
        else:
            rows.extend(describe(field, f"{prefix}{name}."))
    return rows


# ----------------------------------------------------------- flat {dotted name: value} views

def specs_from_schema(schema: type, defaults: Any = None, *, prefix: str = "") -> dict[str, ValueSpec]:
    """{dotted name: spec} for every setting of the frozen dataclass ``schema`` (nested sections
    become dotted names), defaulting to ``defaults``' values."""
    defaults = schema() if defaults is None else defaults
    specs = {}
    for name, field in fields_of(schema).items():
        value = getattr(defaults, name)
        if isinstance(field, ValueSpec):
            specs[f"{prefix}{name}"] = dataclasses.replace(field, default=value)
        else:
            specs.update(specs_from_schema(field, value, prefix=f"{prefix}{name}."))
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
