"""NDI out of a running show: `gansmania live --ndi NAME` or ``[output.ndi]``.

`LiveNdiOutput` sends what the audience sees (a frame tap: no HUD, the master gain applied, at
``output.ndi.size``) with the captured audio, at the display rate or ``output.ndi.fps``. The
live parameter ``output.ndi.enable`` (OSC ``/gm/ndi/enable``, the web remote) turns sending on and
off during the show: off, the tap is removed, so an idle NDI output costs no read-back at all,
while the source stays listed so receivers keep their slot. A sender that fails says so on the
HUD; the show goes on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from visualizer.core.values import ValueSpec
from visualizer.ndi.sender import NdiSender

if TYPE_CHECKING:
    import numpy as np

    from visualizer.app import LiveApp, Tick
    from visualizer.render.renderer import TappedFrame
    from visualizer.settings import NdiOutSettings

log = logging.getLogger(__name__)

ENABLE = "output.ndi.enable"


class LiveNdiOutput:
    """NDI out of ``app``; see the module docstring. :meth:`close` withdraws the source."""

    def __init__(self, app: LiveApp, settings: NdiOutSettings) -> None:
        self.app = app
        self.settings = settings
        self.size = app.size_for(settings.size)
        self._grid = RateGrid(settings.fps, slack_s=0.5 / app.display_rate) if settings.fps else None
        self.sender = NdiSender(settings.name, fps=settings.fps or app.display_rate,
                                on_failure=lambda message: app.report_error("ndi", message))
        app.params.define({ENABLE: ValueSpec(bool, settings.enable,
                                             doc="send the picture and sound over NDI")})
        self._remove_tap: Any = None
        self._removers = [app.add_frame_hook(self._follow_enable)]
        if settings.audio:
            self._removers.append(app.add_audio_listener(self._on_audio))
        log.info("NDI out: %s, %dx%d", self.sender.full_name, *self.size)

    @property
    def sending(self) -> bool:
        return self._remove_tap is not None

    def _follow_enable(self, tick: Tick) -> None:
        """On the render thread, before each frame: add or remove the tap as the switch says."""
        if tick.params[ENABLE] and self._remove_tap is None:
            self._remove_tap = self.app.add_frame_tap(self.size, self._on_frame)
        elif not tick.params[ENABLE] and self._remove_tap is not None:
            self._remove_tap()
            self._remove_tap = None

    def _on_frame(self, tapped: TappedFrame) -> None:
        shown = tapped.frame
        if self._grid is not None and not self._grid.take(shown.presented_s):
            return
        stamp = shown.fx_capture_s if shown.fx_capture_s is not None else shown.presented_s
        self.sender.send_video(tapped.pixels, t_s=stamp)

    def _on_audio(self, block: np.ndarray, t_audio: float) -> None:
        if self.sending:  # the block is the analyzer's, reused: send_audio copies it
            rate = self.app.analyzer.source.sample_rate  # known once the source has opened
            self.sender.send_audio(block, sample_rate=rate, t_s=t_audio - block.shape[0] / rate)

    def stats(self) -> dict[str, Any]:
        import dataclasses

        return {**dataclasses.asdict(self.sender.stats()), "size": list(self.size)}

    def close(self) -> None:
        """Stop sending (on the render thread, after the loop) and withdraw the source."""
        for remove in self._removers:
            remove()
        if self._remove_tap is not None:
            self._remove_tap()
            self._remove_tap = None
        self.sender.close()


class RateGrid:
    """Thins a stream of frame times to ``fps``: a frame is taken when it reaches the next slot
    of a fixed grid, up to ``slack_s`` early (display jitter must not skip a slot); after a gap
    longer than a slot the grid restarts at the frame that ends it."""

    def __init__(self, fps: float, *, slack_s: float) -> None:
        self.period_s = 1.0 / fps
        self.slack_s = slack_s
        self._next_s = float("-inf")

    def take(self, t_s: float) -> bool:
        if t_s < self._next_s - self.slack_s:
            return False
        late = t_s - self._next_s >= self.period_s
        self._next_s = (t_s if late else self._next_s) + self.period_s
        return True
