"""NDI in inside `gansmania live` (``--ndi-in NAME``, ``[video_in] ndi``): a source on the LAN as
the shader chain's ``u_video`` input.

`LiveNdiInput` starts an `NdiReceiver` and, once per display frame (a frame hook, on the render
thread), hands the newest frame it received, if it is new, to ``Renderer.set_input``: every pass
declaring ``@texture u_video`` reads it (``shaders/mix_input.glsl`` mixes it over or under the
picture). The receiver's problems reach the HUD and the log from the render thread too; when the source
is back, its message leaves the HUD.

When the source goes away the input is unbound rather than held on its last frame: the passes
read transparent black, so mix_input shows the picture as it is. A frozen camera picture would
look like a crashed show; the picture alone looks like a choice, and when the source comes back
it is mixed in again by itself.
"""

from __future__ import annotations

import logging
import queue
from typing import TYPE_CHECKING, Any

from visualizer.ndi.receiver import NdiReceiver

if TYPE_CHECKING:
    from visualizer.app import LiveApp, Tick

log = logging.getLogger(__name__)

INPUT = "u_video"  # the @texture sampler the source is bound to (shaders/mix_input.glsl)
ERROR_SOURCE = "ndi-in"  # how its problems are keyed on the HUD


class LiveNdiInput:
    """The NDI source ``source`` (a name or part of one) as ``app``'s ``u_video`` input."""

    def __init__(self, app: LiveApp, source: str, **receiver_options: Any) -> None:
        """``receiver_options``: NdiReceiver's timing (``lost_s``, ``not_found_s``)."""
        self.app = app
        self._problems: queue.SimpleQueue[str] = queue.SimpleQueue()  # receiver thread -> render
        self.receiver = NdiReceiver(source, on_problem=self._problems.put, **receiver_options)
        self._version = 0
        self._lost = False  # the source went away and has not sent since
        self.shown = 0  # frames handed to the renderer
        self._remove = app.add_frame_hook(self._tick)
        self.receiver.start()
        log.info("NDI in: looking for a source named like %r", source)

    def _tick(self, tick: Tick) -> None:
        while True:
            try:
                self.app.report_error(ERROR_SOURCE, self._problems.get_nowait())
            except queue.Empty:
                break
        frame, version = self.receiver.latest.get_with_version()
        if version == self._version:
            return
        self._version = version
        self.app.renderer.set_input(INPUT, None if frame is None else frame.pixels)
        if frame is not None:
            if self._lost:  # it is back: its "gone" message is old news
                self.app.clear_error(ERROR_SOURCE)
            self.shown += 1
        self._lost = frame is None

    def stats(self) -> dict[str, Any]:
        """For --stats: the receiver's counts, and how many frames reached the picture (the
        rest were overtaken by a newer one between two display frames)."""
        return {**self.receiver.stats(), "frames_shown": self.shown}

    def close(self) -> None:
        """Stop receiving (after the show, or before it on a failed start)."""
        self._remove()
        self.receiver.close()
