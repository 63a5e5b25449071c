"""Finding presets: by name in the user's folder then the bundled ``presets/``, or by file path.

A VJ overrides a bundled preset by saving a file of the same name in
``~/.config/gansmania/presets`` (the user folder is searched first).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from visualizer.core import paths
from visualizer.core.errors import GansmaniaError

SLOT_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9")  # keys that select preset slots in live


def default_preset_dirs() -> tuple[Path, ...]:
    return (paths.user_dir() / "presets", paths.data_dir("presets"))


def preset_paths(dirs: Sequence[Path] | None = None) -> dict[str, Path]:
    """Every preset found, name -> file, sorted by name; earlier folders win a name clash."""
    found: dict[str, Path] = {}
    for folder in dirs or default_preset_dirs():
        if Path(folder).is_dir():
            for path in sorted(Path(folder).glob("*.toml")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def find_preset(ref: str | Path, *, dirs: Sequence[Path] | None = None) -> Path:
    """The file for ``ref``: a path to a .toml file, or a preset name.

    GansmaniaError (one line, listing the names) when neither fits.
    """
    text = str(ref)
    candidate = Path(text).expanduser()
    if text.endswith(".toml") or "/" in text or candidate.is_file():
        if not candidate.is_file():
            raise GansmaniaError(f"preset file {text} not found")
        return candidate
    found = preset_paths(dirs)
    if text not in found:
        raise GansmaniaError(f"unknown preset {text!r}; available: {', '.join(found) or 'none'} "
                             "(or give a path to a .toml file)")
    return found[text]


def slot_paths(slots: Sequence[str], *, dirs: Sequence[Path] | None = None) -> list[Path]:
    """The presets on keys 1-9: ``slots`` in order, or the first nine found by name when empty."""
    if len(slots) > len(SLOT_KEYS):
        raise GansmaniaError(f"presets.slots has {len(slots)} entries; at most {len(SLOT_KEYS)} "
                             "(keys 1-9)")
    if slots:
        return [find_preset(ref, dirs=dirs) for ref in slots]
    return list(preset_paths(dirs).values())[:len(SLOT_KEYS)]
