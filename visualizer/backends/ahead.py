"""The generator ahead of an offline render: latents planned, images painted in batches, on
threads of their own, while the render loop draws and the recorder encodes earlier frames.

An offline render knows every frame's latents before it draws it: they follow from the song,
the show log and the looks alone, never from what was drawn. ``plan(send)`` (given by the
render, run on the planner thread) walks the render's control on a copy of the show that draws
nothing, calling ``send(latent)`` for each frame the render will paint, in order. The generator
thread paints them ``batch`` at a time (`BatchBackend`; one by one for other backends). The
render loop steps its own latents as before and calls :meth:`PaintAhead.take` with each: the
planned latent must equal its own, so the image is the one the loop would have painted. A
difference would be a bug: it is logged, the threads stop, and the loop paints on by itself.

ONNX Runtime (the generator) and x264 (the recorder) release the GIL, so the three overlap on
a small CPU; GL stays on the render loop's thread (its context's). Bounded queues keep memory
flat: at most ``batch`` latents and ``2 x batch`` images wait. An exception on either thread
is raised by the next ``take``, in the render loop: the render stops with the error a
sequential render would have stopped with, and its recorder finishes a playable file.

The planner's log records are dropped (while it runs, by a filter on the root logger's
handlers): they are the render loop's own, said earlier, and a user would read each twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from visualizer.backends.base import BatchBackend, ImageBackend
from visualizer.backends.worker import name_os_thread
from visualizer.mapping.frames import LatentFrame
from visualizer.render.frames import to_rgb8

log = logging.getLogger(__name__)

Plan = Callable[[Callable[[LatentFrame], None]], None]
PLANNER, GENERATOR = "planner", "generator"  # the threads' names (top -H, bench.render)
POLL_S = 0.1  # how often a thread waiting on a queue looks whether the render stopped
_FRAME, _DONE, _ERROR = "frame", "done", "error"


class _Stopped(BaseException):
    """Unwinds the planner when the render stopped; not an Exception, so that nothing on the
    way (a frame hook's guard) takes it for a failure."""


class PaintAhead:
    """See the module docstring. ``start`` it once the render loop's show is built; ``close``
    it before the backend is (the generator thread paints with it until then)."""

    def __init__(self, backend: ImageBackend, plan: Plan, *, batch: int) -> None:
        self.backend = backend
        self.batch = max(1, batch) if isinstance(backend, BatchBackend) else 1
        self._plan = plan
        self._latents: queue.Queue = queue.Queue(maxsize=self.batch)
        self._images: queue.Queue = queue.Queue(maxsize=2 * self.batch)
        self._stop = threading.Event()
        self._threads = (threading.Thread(target=self._run_planner, name=PLANNER, daemon=True),
                         threading.Thread(target=self._run_generator, name=GENERATOR,
                                          daemon=True))
        self._inline = False  # painting in the render loop (after a difference)

    def start(self) -> PaintAhead:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_the_planner)
        for thread in self._threads:
            thread.start()
        return self

    def take(self, latent: LatentFrame) -> np.ndarray:
        """The uint8 (H, W, 3) image of ``latent``, the render loop's next painted frame."""
        if not self._inline:
            kind, payload = self._get(self._images)
            if kind == _ERROR:
                raise payload
            if kind == _FRAME and _same(payload[0], latent):
                return payload[1]
            log.warning("the planned latents differ from the render's at step %d: painting "
                        "in the render loop from here on", latent.seq)
            self.close()
            self._inline = True
        return to_rgb8(self.backend.synthesize(latent))

    def close(self, *, timeout_s: float = 30.0) -> None:
        """Stop both threads (a batch being painted finishes first)."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=timeout_s)
                if thread.is_alive():
                    log.warning("the render's %s thread did not stop within %.0f s",
                                thread.name, timeout_s)
        for handler in logging.getLogger().handlers:
            handler.removeFilter(_not_the_planner)

    # ------------------------------------------------------------------ the threads

    def _run_planner(self) -> None:
        name_os_thread(PLANNER)
        try:
            self._plan(self._send)
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the render loop, raised there
            self._put(self._latents, (_ERROR, exc))
            return
        self._put(self._latents, (_DONE, None))

    def _send(self, latent: LatentFrame) -> None:
        if not self._put(self._latents, (_FRAME, latent)):
            raise _Stopped

    def _run_generator(self) -> None:
        name_os_thread(GENERATOR)
        pending: list[LatentFrame] = []
        while True:
            kind, payload = self._get(self._latents)
            if kind == _FRAME:
                pending.append(payload)
                if len(pending) < self.batch:
                    continue
            if pending:
                try:
                    images = self._paint(pending)
                except Exception as exc:  # noqa: BLE001 - handed to the render loop
                    self._put(self._images, (_ERROR, exc))
                    return
                for painted in zip(pending, images, strict=True):
                    if not self._put(self._images, (_FRAME, painted)):
                        return
                pending = []
            if kind != _FRAME:
                self._put(self._images, (kind, payload))
                return

    def _paint(self, frames: list[LatentFrame]) -> list[np.ndarray]:
        if len(frames) > 1:
            return self.backend.synthesize_many(frames)
        return [to_rgb8(self.backend.synthesize(frames[0]))]

    # ------------------------------------------------------------------ queues

    def _put(self, into: queue.Queue, item: tuple[str, Any]) -> bool:
        """Put ``item`` once there is room; False when the render stopped first."""
        while not self._stop.is_set():
            try:
                into.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, source: queue.Queue) -> tuple[str, Any]:
        """The next item; (_DONE, None) once the render stopped or the thread that fills
        ``source`` ended without a word (cannot happen: each ends with _DONE or _ERROR)."""
        while not self._stop.is_set():
            try:
                return source.get(timeout=POLL_S)
            except queue.Empty:
                if not any(thread.is_alive() for thread in self._threads):
                    break
        return _DONE, None


def _not_the_planner(record: logging.LogRecord) -> bool:
    return record.threadName != PLANNER


def _same(planned: LatentFrame, latent: LatentFrame) -> bool:
    return (planned.seq == latent.seq and planned.noise_gain == latent.noise_gain
            and planned.transform == latent.transform and np.array_equal(planned.ws, latent.ws))
