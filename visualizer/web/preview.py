"""The remote's preview: a downscaled JPEG of the show, encoded once and shared by every viewer.

Reading pixels back costs the render thread a GPU->CPU copy, so nothing is read while nobody
watches, and while someone does, only the frames the preview rate needs: a frame hook asks for
the pixels of one frame (registers a pixel observer) when a preview frame is due, and that
observer removes itself after the frame. Both run on the render thread, so the observer list
is only changed there. Scaling and JPEG encoding run on the preview's own thread, from a
newest-only slot: when encoding is slow, frames are skipped, the show is not slowed.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from visualizer.app import LiveApp, Tick
    from visualizer.render.renderer import PresentedFrame

log = logging.getLogger(__name__)

QUALITY = 70  # JPEG quality: ~20-40 kB a frame at 512 px, fine over venue Wi-Fi


@dataclass(frozen=True)
class PreviewFrame:
    seq: int  # 1, 2, 3... per encoded frame
    jpeg: bytes
    size: tuple[int, int]  # (width, height) px


class Preview:
    """Viewers count in with :meth:`watch` (returns the function that counts them out); the
    newest frame is :attr:`frame`, and ``on_frame`` (set by the server) hears of each new one
    from the encoder thread."""

    def __init__(self, app: LiveApp, *, width_px: int = 512, fps: float = 12.0) -> None:
        self.width_px = width_px
        self.period_s = 1.0 / fps
        self.frame: PreviewFrame | None = None
        self.on_frame: Callable[[], None] | None = None
        self.encoded = 0
        self.encode_s = 0.0  # encoder thread time spent scaling + encoding, for the benchmark
        self._app = app
        self._viewers = 0
        self._lock = threading.Lock()
        self._due_s = 0.0
        self._remove_observer: Callable[[], None] | None = None  # render thread only
        self._pending: np.ndarray | None = None
        self._wake = threading.Condition()
        self._stop = False
        self._remove_hook = app.add_frame_hook(self._tick)
        self._thread = threading.Thread(target=self._encode_loop, name="web-preview", daemon=True)
        self._thread.start()

    @property
    def viewers(self) -> int:
        return self._viewers

    @property
    def reading_back(self) -> bool:
        """True while a pixel observer is registered with the app."""
        return self._remove_observer is not None

    def watch(self) -> Callable[[], None]:
        with self._lock:
            self._viewers += 1
        done = threading.Event()

        def leave() -> None:
            if not done.is_set():
                done.set()
                with self._lock:
                    self._viewers -= 1
        return leave

    # ------------------------------------------------------------------ render thread

    def _tick(self, tick: Tick) -> None:
        if self._viewers and self._remove_observer is None and tick.now_s >= self._due_s:
            self._due_s = max(self._due_s + self.period_s, tick.now_s)
            self._remove_observer = self._app.add_frame_observer(self._take, pixels=True)

    def _take(self, presented: PresentedFrame) -> None:
        if self._remove_observer is not None:
            self._remove_observer()
            self._remove_observer = None
        if presented.image is not None:
            with self._wake:
                self._pending = presented.image
                self._wake.notify()

    # ------------------------------------------------------------------ encoder thread

    def _encode_loop(self) -> None:
        import time

        while True:
            with self._wake:
                while self._pending is None and not self._stop:
                    self._wake.wait()
                if self._stop:
                    return
                image, self._pending = self._pending, None
            started = time.thread_time()
            try:
                jpeg, size = encode(image, width_px=self.width_px)
            except Exception:  # a failed frame is skipped; the next may do
                log.exception("preview frame failed")
                continue
            self.encode_s += time.thread_time() - started
            self.encoded += 1
            self.frame = PreviewFrame(self.encoded, jpeg, size)
            if self.on_frame is not None:
                self.on_frame()

    def close(self) -> None:
        self._remove_hook()
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout=2.0)


def encode(image: np.ndarray, *, width_px: int) -> tuple[bytes, tuple[int, int]]:
    """uint8 (H, W, 3) -> JPEG bytes at most ``width_px`` wide (never upscaled), and its size."""
    from PIL import Image

    picture = Image.fromarray(image)
    width = min(width_px, picture.width)
    height = max(1, round(picture.height * width / picture.width))
    if (width, height) != picture.size:
        picture = picture.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=QUALITY)
    return out.getvalue(), (width, height)
