"""Enumerating monitors through glfw (needs a display: X11 or Wayland)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from visualizer.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Monitor:
    index: int  # what `--monitor N` and `--clean-monitor N` take
    name: str
    width: int  # current video mode, pixels
    height: int
    refresh_hz: int
    primary: bool


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def list_monitors() -> list[Monitor] | None:
    """The connected monitors at their current mode, or None when there is no display."""
    if not has_display():
        return None
    import glfw

    glfw.ERROR_REPORTING = "log"  # a missing display is an answer here, not an exception
    if not glfw.init():
        log.debug("glfw could not initialise on display %s", os.environ.get("DISPLAY"))
        return None
    try:
        return glfw_monitors()
    finally:
        glfw.terminate()


def glfw_monitors() -> list[Monitor]:
    """The connected monitors at their current mode; glfw must be initialised by the caller."""
    import glfw

    primary = glfw.get_primary_monitor()
    monitors = []
    for index, handle in enumerate(glfw.get_monitors() or []):
        mode = glfw.get_video_mode(handle)
        name = glfw.get_monitor_name(handle)
        monitors.append(Monitor(
            index=index,
            name=name.decode() if isinstance(name, bytes) else str(name),
            width=mode.size.width, height=mode.size.height, refresh_hz=mode.refresh_rate,
            primary=bool(primary) and glfw.get_monitor_name(primary) == name))
    return monitors


def missing_monitor(key: str, index: int, monitors: Sequence[Monitor]) -> ConfigError:
    """The one-line error for ``key`` = ``index`` naming a monitor that is not connected."""
    there = ", ".join(f"{m.index} ({m.name} {m.width}x{m.height})" for m in monitors) or "none"
    return ConfigError(f"{key} = {index}: no such monitor; connected: {there} "
                       "(see `gansmania devices`)")


def find_monitor(index: int, *, key: str) -> Any:
    """glfw's handle of monitor ``index`` (glfw initialised); the :func:`missing_monitor` error
    when it is not connected."""
    import glfw

    handles = glfw.get_monitors() or []
    if not 0 <= index < len(handles):
        raise missing_monitor(key, index, glfw_monitors())
    return handles[index]
