"""Where frames go: the Output protocol, and the factory for the headless (EGL) output
(`visualizer.render.headless`) and the window (`visualizer.render.window`).

The renderer draws into ``output.target()`` and calls ``output.present()``; it does not know
whether a window or an offscreen framebuffer is behind it, so ``--headless`` runs the same
pipeline as the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol



if TYPE_CHECKING:
    import moderngl

    from visualizer.render.settings import DisplaySettings

# Key names the window reports (see visualizer.render.window); the app routes them.
KEYS = ("f", "h", "r", "1", "2", "3", "4", "5", "6", "7", "8", "9", "space", "left", "right", "escape")


class Output(Protocol):
    """A GL context plus a framebuffer that is shown (or kept) when presented."""

    ctx: moderngl.Context

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
    """The output ``display`` asks for: headless EGL, or a glfw window (fullscreen or not)."""
    from visualizer.render.headless import HeadlessOutput
    from visualizer.render.window import WindowOutput

    if display.headless:
        return HeadlessOutput(display.size)

    return WindowOutput(display.size, title=title, fullscreen=display.fullscreen,
                        monitor=display.monitor, vsync=display.vsync)
