"""A model's directions on disk, beside the model: MODEL.directions.safetensors holds the
vectors and numbers; MODEL.directions.toml names them for people (the names are the only part
read back from it, matched by method and index, so a person renames a direction there).

Every failure to read is a one-line GansmaniaError naming the file.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from training.directions import METHODS, Direction
from training.configs import LAYER_GROUPS
from visualizer.core.atomic import replaced_atomically
from visualizer.core.errors import GansmaniaError

FORMAT = "gansmania-directions"
VERSION = 1
_ARRAYS = ("vectors", "values", "scales", "shares")


@dataclass(frozen=True)
class Directions:
    """The stored directions of one model."""

    path: Path  # the .safetensors file
    w_dim: int
    samples: int  # sampled w the scales and the PCA were measured on
    entries: tuple[Direction, ...]

    def of_method(self, method: str) -> tuple[Direction, ...]:
        """The directions of ``method``, strongest first."""
        return tuple(sorted((d for d in self.entries if d.method == method), key=lambda d: d.index))

    def named(self, name: str) -> Direction | None:
        return next((d for d in self.entries if d.name == name), None)


def directions_file(model: Path) -> Path:
    return Path(model).with_suffix(".directions.safetensors")


def names_file(model: Path) -> Path:
    return Path(model).with_suffix(".directions.toml")


def sheet_file(model: Path) -> Path:
    return Path(model).with_suffix(".directions.png")


def save_directions(model: Path, found: Sequence[Direction], *, samples: int,
                    force: bool = False) -> Directions:
    """Write ``found`` beside ``model``; the names a person gave in an existing TOML are kept
    (unless ``force``) for the same method and index."""
    model = Path(model)
    names = {} if force else read_names(names_file(model))
    entries = tuple(replace(d, name=names.get((d.method, d.index), d.name)) for d in found)
    _check_unique(names_file(model), entries)
    arrays = {"vectors": np.stack([d.vector for d in entries]).astype(np.float32),
              "values": np.array([d.value for d in entries]),
              "scales": np.array([d.scale for d in entries]),
              "shares": np.array([d.share for d in entries])}
    w_dim = int(arrays["vectors"].shape[1])
    header = {"format": FORMAT, "version": VERSION, "w_dim": w_dim, "samples": samples,
              "model": model.name,
              "entries": [{"method": d.method, "index": d.index, "layers": d.layers}
                          for d in entries]}
    path = directions_file(model)
    with replaced_atomically(path) as temporary:
        save_file(arrays, str(temporary), metadata={FORMAT: json.dumps(header)})
        os.chmod(temporary, 0o644)  # safetensors writes owner-only files; models are shared
    with replaced_atomically(names_file(model)) as temporary:
        temporary.write_text(_names_toml(model, entries, w_dim=w_dim, samples=samples),
                             encoding="utf-8")
    return Directions(path=path, w_dim=w_dim, samples=samples, entries=entries)


def load_directions(model: Path, *, w_dim: int) -> Directions | None:
    """The directions stored beside ``model`` (None when it has none), for a model with
    ``w_dim``: a file made for another model is refused."""
    path = directions_file(model)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="np") as f:
            header = json.loads((f.metadata() or {})[FORMAT])
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise GansmaniaError(f"{path}: not a directions file ({' '.join(str(exc).split())}); "
                             "rewrite it with `gansmania directions --force`") from None
    if not (isinstance(header, dict) and header.get("version") == VERSION
            and {"w_dim", "samples", "entries"} <= set(header) and set(_ARRAYS) <= set(arrays)):
        raise GansmaniaError(f"{path}: not a version-{VERSION} directions file; rewrite it with "
                             "`gansmania directions --force`")
    if header["w_dim"] != w_dim or arrays["vectors"].shape[1] != w_dim:
        raise GansmaniaError(f"{path}: directions for w_dim {header['w_dim']}, but the model has "
                             f"w_dim {w_dim}; recompute them with `gansmania directions {model}`")
    names = read_names(names_file(model))
    entries = tuple(
        Direction(name=names.get((e["method"], e["index"]), f"{e['method']}-{e['index']}"),
                  method=e["method"], index=e["index"], layers=e["layers"],
                  vector=arrays["vectors"][i], value=float(arrays["values"][i]),
                  scale=float(arrays["scales"][i]), share=float(arrays["shares"][i]))
        for i, e in enumerate(header["entries"]))
    _check_unique(names_file(model), entries)
    return Directions(path=path, w_dim=w_dim, samples=int(header["samples"]), entries=entries)


def read_names(path: Path) -> dict[tuple[str, int], str]:
    """{(method, index): name} from a names TOML; {} when there is none."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GansmaniaError(f"{path}: cannot read ({exc}); fix it, or rewrite it with "
                             "`gansmania directions --force`") from None
    names = {}
    for number, table in enumerate(data.get("direction", []), start=1):
        name, method, index = (table.get(k) for k in ("name", "method", "index"))
        if not (isinstance(name, str) and name.strip() and method in METHODS
                and isinstance(index, int)):
            raise GansmaniaError(
                f"{path}: [[direction]] #{number} needs name = a non-empty string, method = one of "
                f"{', '.join(METHODS)} and index = an integer")
        names[(method, index)] = name.strip()
    return names


def _check_unique(path: Path, entries: Sequence[Direction]) -> None:
    seen: dict[str, Direction] = {}
    for d in entries:
        if d.name in seen:
            other = seen[d.name]
            raise GansmaniaError(f"{path}: the name \"{d.name}\" is given to {other.method} "
                                 f"{other.index} and {d.method} {d.index}; names must be unique")
        seen[d.name] = d


def _names_toml(model: Path, entries: Sequence[Direction], *, w_dim: int, samples: int) -> str:
    lines = [f"# Directions in w of {model.name}, from `gansmania directions` "
             f"({samples} sampled w).",
             "# Rename a direction by editing its name (presets and OSC use it); a re-run keeps",
             "# the names. Only the names are read back: the rest is for you.",
             "# layers: the w layers it moves (" + ", ".join(LAYER_GROUPS) + ").",
             "# scale: std of w along it; offsets count in it (the contact sheet spans -3..+3).",
             "# share: fraction of the variance of w along it.",
             f"model = {json.dumps(model.name)}", f"w_dim = {w_dim}", ""]
    for d in entries:
        lines += ["[[direction]]", f"name = {json.dumps(d.name)}", f'method = "{d.method}"',
                  f"index = {d.index}", f'layers = "{d.layers}"', f"scale = {d.scale:.6g}",
                  f"share = {d.share:.6g}", ""]
    return "\n".join(lines)
