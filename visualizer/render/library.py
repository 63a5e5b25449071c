"""The shader library: pass files found by name, compiled once, recompiled when they change.

Search order: the user's folder (``~/.config/gansmania/shaders``) first, so a VJ can override a
bundled pass by copying it there, then the bundled ``shaders/``. A pass whose new version fails
keeps its last good compiled version: :meth:`ShaderLibrary.load` raises, and
:meth:`ShaderLibrary.last_good` still answers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visualizer.core import paths
from visualizer.render.passes import PassSource, ShaderError, ShaderPass, compile_pass, parse_pass

if TYPE_CHECKING:
    import moderngl

log = logging.getLogger(__name__)


def default_search_dirs() -> tuple[Path, ...]:
    return (paths.user_dir() / "shaders", paths.data_dir("shaders"))


@dataclass(frozen=True)
class _Stamp:
    """What identifies one version of a file on disk."""

    path: Path
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> _Stamp:
        stat = os.stat(path)
        return cls(path, stat.st_mtime_ns, stat.st_size)


class ShaderLibrary:
    """Finds ``NAME.glsl`` pass files and caches their compiled passes in one GL context.

    With ``ctx=None`` only :meth:`names`, :meth:`path` and :meth:`source` work (checking presets
    without GL); :meth:`load` needs the context.
    """

    def __init__(self, ctx: moderngl.Context | None, *, search_dirs: Sequence[Path] | None = None) -> None:
        self.ctx = ctx
        self.search_dirs = tuple(Path(d) for d in (search_dirs or default_search_dirs()))
        self._good: dict[str, tuple[_Stamp, ShaderPass]] = {}
        self._failed: dict[str, tuple[_Stamp, ShaderError]] = {}

    def names(self) -> list[str]:
        """Every pass name found, sorted."""
        found = {p.stem for d in self.search_dirs if d.is_dir() for p in d.glob("*.glsl")}
        return sorted(found)

    def path(self, name: str) -> Path:
        """The file that defines pass ``name``; ShaderError lists the known names when none does."""
        for folder in self.search_dirs:
            candidate = folder / f"{name}.glsl"
            if candidate.is_file():
                return candidate
        raise ShaderError(self.search_dirs[-1] / f"{name}.glsl", None,
                          f"unknown shader pass {name!r}; available: {', '.join(self.names()) or 'none'}")

    def source(self, name: str) -> PassSource:
        """The parsed header of pass ``name`` without compiling it (no GL needed)."""
        return parse_pass(self.path(name))

    def load(self, name: str) -> ShaderPass:
        """The compiled pass ``name``, recompiled when its file changed since the last load.

        Raises ShaderError when the current file does not parse or compile; the previous good
        version stays available through :meth:`last_good`.
        """
        if self.ctx is None:
            raise RuntimeError("this ShaderLibrary has no GL context: it can parse, not compile")
        path = self.path(name)
        try:
            stamp = _Stamp.of(path)
        except OSError as exc:
            raise ShaderError(path, None, f"cannot read shader pass ({exc})") from None
        cached = self._good.get(name)
        if cached and cached[0] == stamp:
            return cached[1]
        failed = self._failed.get(name)
        if failed and failed[0] == stamp:
            raise failed[1]
        try:
            compiled = compile_pass(self.ctx, parse_pass(path))
        except ShaderError as exc:
            self._failed[name] = (stamp, exc)
            log.warning("%s", exc)
            raise
        self._failed.pop(name, None)
        # The replaced version is not released here: a running chain may still draw with it.
        self._good[name] = (stamp, compiled)
        if cached:
            log.info("reloaded shader pass %s from %s", name, path)
        return compiled

    def last_good(self, name: str) -> ShaderPass | None:
        cached = self._good.get(name)
        return cached[1] if cached else None

    def changed(self) -> list[str]:
        """Names of loaded (or failed) passes whose file changed on disk since: poll for hot reload."""
        tried = {name: stamp for name, (stamp, _) in self._good.items()}
        tried.update((name, stamp) for name, (stamp, _) in self._failed.items())  # newer than good
        names = []
        for name, stamp in tried.items():
            try:
                current = _Stamp.of(self.path(name))
            except (OSError, ShaderError):
                continue  # a file mid-save may vanish for a moment; the next poll sees it
            if current != stamp:
                names.append(name)
        return names
