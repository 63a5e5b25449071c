"""Preset files -> :class:`~visualizer.presets.schema.Preset`, validated against the shader library.

Every problem is a :class:`PresetError` of one line: ``FILE:LINE: what is wrong; what is allowed``.
Shader passes are parsed, not compiled (no GL needed); ``check`` compiles them when it can.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from visualizer.core import paths
from visualizer.core.config import Origin, from_dict
from visualizer.core.errors import ConfigError, GansmaniaError
from visualizer.core.values import BadValue, ValueSpec, show_value
from visualizer.presets.features import FEATURES
from visualizer.presets.keyframes import KeyframeProblem, resolve_keyframes
from visualizer.presets.schema import Binding, FxStep, Preset, PresetHeader
from visualizer.render.library import ShaderLibrary
from visualizer.render.passes import ParamValue, ShaderError

_BINDING_KEYS = {"from": "a feature name", "range": "[value at 0, value at 1]",
                 "curve": "a number 0.1..8 (feature ** curve: > 1 keeps only the peaks)"}
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_HEADER = re.compile(r"^\s*\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*\"?([A-Za-z0-9_\-]+)\"?\s*=")


class PresetError(ConfigError):
    """A preset file that does not fit the format (one line naming file, line and key)."""

    def __init__(self, path: Path | str, line: int | None, message: str, *,
                 shader: Path | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.shader = shader  # the pass file at fault, when the problem is in one
        self.reason = " ".join(message.split())
        super().__init__(f"{self.path}:{line}: {self.reason}" if line else f"{self.path}: {self.reason}")


def load_preset(path: Path | str, *, library: ShaderLibrary,
                model_dirs: Sequence[Path] | None = None) -> Preset:
    """Read and validate the preset at ``path``; passes are looked up (parsed) in ``library``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PresetError(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(path, None, f"cannot read ({exc})") from None
    return parse_preset(text, path=path, library=library, model_dirs=model_dirs)


def parse_preset(text: str, *, path: Path, library: ShaderLibrary,
                 model_dirs: Sequence[Path] | None = None) -> Preset:
    """Validate preset ``text`` (the content of ``path``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        raise PresetError(path, int(match.group(1)) if match else None,
                          f"invalid TOML: {exc}") from None
    fx_data = data.pop("fx", [])
    header = from_dict(PresetHeader, data, origin=Origin(str(path), text))
    description = header.description.strip()
    if not description:
        raise PresetError(path, None, "key 'description' is missing or empty; every preset needs a "
                                      'one-line description, e.g. description = "Slow trails that glow"')
    if "\n" in description:
        raise PresetError(path, _line_of_key(text, "description"),
                          "key 'description' must be one line")
    model = _resolve_model(header.model, path=path, text=text, model_dirs=model_dirs)
    try:
        controller = resolve_keyframes(header.controller, path=path, text=text)
    except KeyframeProblem as problem:
        raise PresetError(path, problem.line, str(problem)) from None
    fx = _parse_fx(fx_data, path=path, text=text, library=library)
    return Preset(name=path.stem, path=path, description=description, model=model,
                  transition=header.transition, controller=controller, fx=fx)


# ------------------------------------------------------------------------------- the model

def default_model_dirs() -> tuple[Path, ...]:
    dirs = [paths.user_dir() / "models"]
    try:
        dirs.append(paths.data_dir("models"))
    except GansmaniaError:
        pass  # no bundled models folder: only paths and the user folder can name a model
    return tuple(dirs)


def _resolve_model(model: str, *, path: Path, text: str,
                   model_dirs: Sequence[Path] | None) -> Path | None:
    if not model:
        return None
    given = Path(model).expanduser()
    candidates = [given] if given.is_absolute() else [path.parent / given]
    if not given.is_absolute() and len(given.parts) == 1:
        candidates += [folder / given for folder in (model_dirs or default_model_dirs())]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise PresetError(path, _line_of_key(text, "model"),
                      f"key 'model' = \"{model}\": file not found; looked in "
                      f"{', '.join(str(c.parent) for c in candidates)}; allowed: a .safetensors "
                      "path relative to the preset, a file in the models folders, or \"\"")


# ---------------------------------------------------------------------------------- the chain

def _parse_fx(fx_data: Any, *, path: Path, text: str, library: ShaderLibrary) -> tuple[FxStep, ...]:
    entries = _fx_lines(text)
    if not isinstance(fx_data, list) or not all(isinstance(e, dict) for e in fx_data):
        raise PresetError(path, _line_of_key(text, "fx"),
                          "key 'fx' must be an array of tables: write each pass as a [[fx]] table")
    steps = []
    for index, entry in enumerate(fx_data):
        start, keys = entries[index] if index < len(entries) else (_line_of_key(text, "fx"), {})
        steps.append(_parse_step(entry, number=index + 1, path=path, start=start, keys=keys,
                                 library=library))
    return tuple(steps)


def _parse_step(entry: Mapping[str, Any], *, number: int, path: Path, start: int | None,
                keys: Mapping[str, int], library: ShaderLibrary) -> FxStep:
    where = f"[[fx]] #{number}"

    def fail(key: str | None, message: str, shader: Path | None = None) -> PresetError:
        return PresetError(path, keys.get(key, start) if key else start, message, shader=shader)

    name = entry.get("shader")
    available = ", ".join(library.names()) or "none"
    if name is None:
        raise fail(None, f"{where} has no key 'shader'; write shader = \"NAME\" with one of: "
                         f"{available}")
    if not isinstance(name, str) or name not in library.names():
        raise fail("shader", f"{where}: key 'shader' = {show_value(name)} is not a shader pass; "
                             f"allowed: {available}")
    try:
        source = library.source(name)
    except ShaderError as exc:
        raise fail("shader", f"{where} '{name}': {exc}", shader=exc.path) from None
    specs = {param.name: param.spec for param in source.params}
    if "shader" in specs:
        raise fail("shader", f"{where} '{name}': the pass declares a parameter named 'shader', "
                             "which preset files reserve; rename it in the pass")
    params: dict[str, ParamValue] = {}
    bindings: dict[str, Binding] = {}
    for key, value in entry.items():
        if key == "shader":
            continue
        if key not in specs:
            allowed = ", ".join(["shader", *specs]) if specs else "shader (this pass has no parameters)"
            raise fail(key, f"{where} '{name}': unknown key '{key}'; allowed keys: {allowed}")
        spec = specs[key]
        try:
            if isinstance(value, dict):
                bindings[key] = _parse_binding(spec, value)
            else:
                params[key] = _check_value(spec, value)
        except ValueError as exc:
            raise fail(key, f"{where} '{name}': key '{key}' {exc}") from None
    return FxStep(shader=name, params=params, bindings=bindings, line=keys.get("shader", start))


def _check_value(spec: ValueSpec, value: Any) -> ParamValue:
    """``value`` for ``spec``; BadValue otherwise, whose "allowed" says that a number may
    follow a feature instead."""
    try:
        return spec.check(value)
    except BadValue as exc:
        if spec.kind == "bool":
            raise
        raise BadValue(value, exc.problem,
                       f"{exc.allowed}, or {{ from = FEATURE, range = [LOW, HIGH] }}") from None


def _parse_binding(spec: ValueSpec, table: Mapping[str, Any]) -> Binding:
    if spec.kind == "bool":
        raise ValueError("is true/false and cannot follow a feature; allowed true or false")
    for key in table:
        if key not in _BINDING_KEYS:
            allowed = "; ".join(f"{k} = {v}" for k, v in _BINDING_KEYS.items())
            raise ValueError(f"has unknown binding key '{key}'; allowed: {allowed}")
    feature = table.get("from")
    if feature is None:
        raise ValueError(f"is a binding without from = FEATURE; allowed features: {', '.join(FEATURES)}")
    if feature not in FEATURES:
        raise ValueError(f"binds from = {show_value(feature)}, which is not a feature; "
                         f"allowed: {', '.join(FEATURES)}")
    low, high = spec.min, spec.max
    if "range" in table:
        bounds = table["range"]
        if (not isinstance(bounds, list) or len(bounds) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in bounds)):
            raise ValueError(f"range = {show_value(bounds)} has the wrong type; allowed two numbers "
                             f"[value at {feature} 0, value at {feature} 1] within {spec.bounds()}")
        for bound in bounds:
            if not (math.isfinite(bound) and spec.min <= bound <= spec.max):
                raise ValueError(f"range = {show_value(bounds)}: {show_value(bound)} is out of range; "
                                 f"allowed {spec.bounds()}")
        low, high = float(bounds[0]), float(bounds[1])
    curve = table.get("curve", 1.0)
    if isinstance(curve, bool) or not isinstance(curve, (int, float)) or not 0.1 <= curve <= 8.0:
        raise ValueError(f"curve = {show_value(curve)} is not allowed; allowed a number 0.1..8")
    return Binding(feature=feature, low=low, high=high, curve=float(curve))


# ------------------------------------------------------------------------ line numbers

def _fx_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """For each ``[[fx]]`` table in order: (its header line, {key: line})."""
    entries: list[tuple[int, dict[str, int]]] = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            inside = bool(header.group(1)) and header.group(2).strip() == "fx"
            if inside:
                entries.append((number, {}))
            continue
        key = _KEY.match(line)
        if inside and key:
            entries[-1][1].setdefault(key.group(1), number)
    return entries


def _line_of_key(text: str, key: str) -> int | None:
    """The line of a top-level ``key = ...`` (before any table header)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if _HEADER.match(line):
            return None
        match = _KEY.match(line)
        if match and match.group(1) == key:
            return number
    return None
