"""Where frames go: the Output protocol, and the factory for the headless (EGL) output
(`visualizer.render.headless`) and the window (`visualizer.render.window`).

The renderer draws into ``output.target()`` and calls ``output.present()``; it does not know
whether a window or an offscreen framebuffer is behind it, so ``--headless`` runs the same
pipeline as the window. A window may come with a clean view (``output.clean``, the performer
view's audience window, `visualizer.render.clean`), which the renderer shows the frame without
the HUD in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from visualizer.core.errors import ConfigError
from visualizer.render.monitors import Monitor, missing_monitor

if TYPE_CHECKING:
    import moderngl

    from visualizer.render.clean import CleanWindow
    from visualizer.render.settings import DisplaySettings

# Key names the window reports (see visualizer.render.window); the app routes them.
KEYS = ("f", "h", "r", "1", "2", "3", "4", "5", "6", "7", "8", "9", "space", "left", "right", "escape")


class Output(Protocol):
    """A GL context plus a framebuffer that is shown (or kept) when presented."""

    ctx: moderngl.Context
    clean: CleanWindow | None  # the audience's window beside this output, if any

    @property
    def size(self) -> tuple[int, int]:
        """Framebuffer size (W, H), pixels; changes when a window is resized."""

    def target(self) -> moderngl.Framebuffer:
        """The framebuffer to draw the finished frame into; its viewport covers :attr:`size`
        (a window's default framebuffer may report a stale ``.size``: go by :attr:`size`)."""

    def present(self) -> float:
        """Show the frame; returns ``time.monotonic()`` once it is presented (swap + finish)."""

    def poll(self) -> list[str]:
        """Process window events; the key names (from :data:`KEYS`) pressed since the last poll."""

    @property
    def closed(self) -> bool:
        """True once the user closed the window (headless: never)."""

    def release(self) -> None: ...


def open_output(display: DisplaySettings, *, title: str = "GANsmania") -> Output:
    """The output ``display`` asks for: headless EGL, or a glfw window (fullscreen or not), with
    the clean view when display.clean_monitor asks for one."""
    from visualizer.render.headless import HeadlessOutput
    from visualizer.render.window import WindowOutput

    check_display(display)
    if display.headless:
        return HeadlessOutput(display.size)
    clean = display.clean_monitor >= 0
    return WindowOutput(display.size, title=title, fullscreen=display.fullscreen,
                        monitor=display.monitor, vsync=display.vsync,
                        clean_monitor=display.clean_monitor if clean else None,
                        clean_size=display.clean_size, clean_fit=display.fit)


def check_display(display: DisplaySettings, *, monitors: Sequence[Monitor] | None = None) -> None:
    """One-line ConfigError for [display] choices that cannot work together, or for a clean view
    on a monitor not among ``monitors`` (`list_monitors()`; None: the window checks it when it
    opens). `live` calls it before anything slow starts (model, engine build)."""
    clean = display.clean_monitor
    if clean >= 0 and display.headless:
        raise ConfigError(f"display.clean_monitor = {clean} asks for a second window, and headless "
                          "(--headless) has no windows: drop one of them")
    if clean < 0 and display.clean_size is not None:
        raise ConfigError(f"display.clean_size = {list(display.clean_size)} needs "
                          "display.clean_monitor (--clean-monitor N), the monitor it opens on")
    if clean >= 0 and display.fullscreen and clean == display.monitor and display.clean_size is None:
        raise ConfigError(f"display.clean_monitor = {clean} is display.monitor, where the performer "
                          "window is fullscreen: give the clean view another monitor")
    if clean >= 0 and monitors is not None and clean >= len(monitors):
        raise missing_monitor("display.clean_monitor", clean, monitors)
