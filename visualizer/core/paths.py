"""Where the bundled data lives: presets, shaders and models, in a checkout or an installed copy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from visualizer.core.errors import GansmaniaError

# A source checkout (or editable install) has the data folders beside the packages; a wheel
# install puts them under <prefix>/share/gansmania (see [tool.setuptools.data-files]).
_CHECKOUT = Path(__file__).resolve().parents[2]
_INSTALLED = Path(sys.prefix) / "share" / "gansmania"
DATA_FOLDERS = ("presets", "shaders", "models")
DEFAULT_MODEL_NAME = "default.safetensors"


def data_dir(name: str) -> Path:
    """The folder holding bundled ``name`` (one of DATA_FOLDERS).

    ``GANSMANIA_DATA`` (a folder holding the data folders) takes precedence, for packagers.
    """
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {name!r}; allowed: {', '.join(DATA_FOLDERS)}")
    roots = [Path(p) for p in [os.environ.get("GANSMANIA_DATA")] if p] + [_CHECKOUT, _INSTALLED]
    for root in roots:
        if (root / name).is_dir():
            return root / name
    raise GansmaniaError(f"bundled {name}/ not found in {', '.join(str(r) for r in roots)}; "
                         "reinstall gansmania or set GANSMANIA_DATA")


def bundled_model() -> Path | None:
    """The bundled default model (models/default.safetensors), or None when it is missing:
    what `live`, `render` and `generate` load without --model."""
    try:
        path = data_dir("models") / DEFAULT_MODEL_NAME
    except GansmaniaError:
        return None
    return path if path.is_file() else None


def model_path(given: Path | str | None) -> Path:
    """The checkpoint to load: ``given`` (--model, model.path), else the bundled default; a
    one-line GansmaniaError when neither exists."""
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_file():
            raise GansmaniaError(f"model {path}: file not found")
        return path
    bundled = bundled_model()
    if bundled is None:
        raise GansmaniaError("no bundled default model yet (models/default.safetensors is missing): "
                             "pass --model PATH (a .safetensors checkpoint from `gansmania train`, "
                             "or an NVlabs .pkl)")
    return bundled


def user_dir() -> Path:
    """Per-user folder for engine caches, learned MIDI maps and user presets."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "gansmania"


def cache_dir() -> Path:
    """Per-user cache (compiled engines, w caches); safe to delete."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gansmania"
