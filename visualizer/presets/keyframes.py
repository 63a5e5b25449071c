"""Keyframe files in a preset's walk: ``seeds = [7, 77, "venue-logo.w.safetensors"]``.

A string is a keyframe file from `gansmania project`, looked up relative to the preset's
folder, then the current folder. The loader replaces it by its absolute path (the live
parameter the walk reads, whatever folder the show runs in) after checking that it is a
keyframe file; whether it belongs to the show's model is checked when the walk reaches it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from visualizer.core.config import Origin
from visualizer.core.errors import GansmaniaError
from visualizer.mapping.settings import ControllerSettings

KEY = "controller.walk.seeds"


class KeyframeProblem(GansmaniaError):
    """A keyframe file a preset lists that is missing or unreadable; the loader turns it into a
    PresetError naming the preset file (so this module needs nothing from the loader)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line


def resolve_keyframes(controller: ControllerSettings, *, path: Path, text: str) -> ControllerSettings:
    """``controller`` with each keyframe file of its walk as an absolute path; a missing or
    unreadable one is a KeyframeProblem naming the key, the value and its line in ``text``."""
    from training.keyframes import read_keyframe

    seeds = controller.walk.seeds
    if not any(isinstance(seed, str) for seed in seeds):
        return controller
    resolved: list[int | str] = []
    for seed in seeds:
        if not isinstance(seed, str):
            resolved.append(seed)
            continue
        where = f"key '{KEY}' = \"{seed}\""
        candidates = keyframe_candidates(seed, folder=path.parent)
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise KeyframeProblem(Origin(str(path), text).line(KEY),
                                  f"{where}: keyframe file not found; looked in "
                                  f"{', '.join(str(c.parent) for c in candidates)}; allowed: "
                                  "seeds (integers) and NAME.w.safetensors files from "
                                  "`gansmania project`")
        try:
            read_keyframe(found)
        except GansmaniaError as exc:
            raise KeyframeProblem(Origin(str(path), text).line(KEY), f"{where}: {exc}") from None
        resolved.append(str(found.resolve()))
    walk = dataclasses.replace(controller.walk, seeds=tuple(resolved))
    return dataclasses.replace(controller, walk=walk)


def keyframe_candidates(name: str, *, folder: Path) -> list[Path]:
    """Where keyframe ``name`` may be: itself when absolute, else in ``folder``, then in the
    current folder."""
    given = Path(name).expanduser()
    if given.is_absolute():
        return [given]
    return [folder / given, Path.cwd() / given]
