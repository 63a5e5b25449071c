"""The generator workers: a thread that owns the backend and paints as fast as it may (live),
and a synchronous one that paints when the offline render tells it to.

Pull model, for latency: right before each synthesis the worker asks for the next LatentFrame
(``next_latent``: the controller stepped from the *newest* FeatureFrame and params snapshot),
so the picture is computed from audio a few ms old rather than from whatever was queued when
the previous frame started. Results go into a latest-value slot: the render loop takes the
newest, and any result it never took was dropped as stale (counted by the render loop).

A backend exception is caught: the error is kept for the HUD and logged (once per distinct
message, then every ``log_every_s``), the worker backs off briefly, and the display keeps
showing the last good frame. The show never goes black because a generator call failed.

The show is given a `WorkerFactory` (`threaded_worker` or `SyncWorker`) and builds its worker
from the backend and its `LatentFeed`, so live and offline share everything else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from visualizer.backends.base import GeneratedFrame, ImageBackend
from visualizer.core.slot import LatestSlot
from visualizer.mapping.frames import LatentFrame
from visualizer.render.frames import to_rgb8

if TYPE_CHECKING:
    from visualizer.mapping.latent import LatentFeed

log = logging.getLogger(__name__)

PAUSE_POLL_S = 0.01  # how often a paused worker looks whether it may paint again


@dataclass(frozen=True)
class WorkerError:
    message: str  # "generator: RuntimeError: ..." (one line)
    t_s: float  # time.monotonic() of the latest occurrence
    count: int  # failures so far


class Worker(Protocol):
    """What the show reads from its generator worker."""

    latest: LatestSlot[GeneratedFrame]  # the newest painted frame
    frames_generated: int
    error: WorkerError | None  # the latest failure (HUD, stats)

    @property
    def gen_ms(self) -> float | None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class WorkerFactory(Protocol):
    def __call__(self, backend: ImageBackend, latents: LatentFeed, *, max_fps: float) -> Worker: ...


def threaded_worker(backend: ImageBackend, latents: LatentFeed, *, max_fps: float) -> GeneratorWorker:
    """The live show's worker: paints on its own thread, pulling the newest latents, paused
    while the picture is frozen."""
    return GeneratorWorker(backend, latents.next, max_fps=max_fps, paused=latents.frozen)


class SyncWorker:
    """Paints on demand in the offline render loop instead of on a thread: the order of steps
    is fixed, so frames repeat exactly. ``max_fps`` does not apply (the render decides).

    ``painter``: latent -> uint8 image in place of painting here with ``backend`` (an offline
    render's generator running ahead, `visualizer.backends.ahead`; its planner's hand-off)."""

    def __init__(self, backend: ImageBackend, latents: LatentFeed, *, max_fps: float = 0.0,
                 painter: Callable[[LatentFrame], Any] | None = None) -> None:
        self.backend = backend
        self.latents = latents
        self.painter = painter or (lambda latent: to_rgb8(backend.synthesize(latent)))
        self.latest: LatestSlot[GeneratedFrame] = LatestSlot()
        self.frames_generated = 0
        self.error: WorkerError | None = None  # a failure offline raises instead
        self.gen_ms: float | None = None

    def start(self) -> None:
        """Nothing runs in the background."""

    def stop(self) -> None:
        """Nothing runs in the background."""

    def paint(self, *, dt_s: float, synthesize: bool = True) -> None:
        """Step the latents by ``dt_s`` and paint the result into ``latest``.

        ``synthesize=False``: step only and publish a frame without an image (its stamps
        alone), for a render replaying the song before its first frame: the walk's state
        moves on exactly as if it had painted, at none of the cost."""
        latent = self.latents.step(dt_s)
        started = time.perf_counter()
        image = self.painter(latent) if synthesize else None
        self.gen_ms = (time.perf_counter() - started) * 1e3
        self.frames_generated += 1
        self.latest.put(GeneratedFrame(seq=latent.seq, t_audio=latent.t_audio, image=image,
                                       gen_ms=self.gen_ms))


class GeneratorWorker:
    """Runs ``backend.synthesize(next_latent())`` in a loop on its own thread.

    ``next_latent``: called on the worker thread before every frame. ``max_fps``: 0 = no cap.
    ``setup``: called once on the worker thread before the first frame (thread-local settings
    such as torch's thread count). ``paused``: while it returns True the worker paints nothing
    and does not pull latents (a freeze: the latent walk stops where it is).
    """

    def __init__(self, backend: ImageBackend, next_latent: Callable[[], LatentFrame], *,
                 max_fps: float = 0.0, setup: Callable[[], None] | None = None,
                 paused: Callable[[], bool] | None = None,
                 backoff_s: float = 0.2, log_every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.next_latent = next_latent
        self.max_fps = max_fps
        self.latest: LatestSlot[GeneratedFrame] = LatestSlot()
        self.frames_generated = 0
        self.error: WorkerError | None = None  # the latest failure (stays until the next one)
        self._setup = setup
        self._paused = paused
        self._backoff_s = backoff_s
        self._log_every_s = log_every_s
        self._clock = clock
        self._logged: dict[str, float] = {}
        self._gen_ms_ema: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def gen_ms(self) -> float | None:
        """Smoothed time of one synthesize() + conversion (ms); None before the first frame."""
        return self._gen_ms_ema

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="generator", daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                log.warning("the generator thread did not stop within %.0f s", timeout_s)
        self._thread = None

    def _run(self) -> None:
        name_os_thread("generator")
        if self._setup is not None:
            self._setup()
        period = 1.0 / self.max_fps if self.max_fps > 0 else 0.0
        next_start = self._clock()
        while not self._stop.is_set():
            if self._paused is not None and self._paused():
                if self._stop.wait(PAUSE_POLL_S):
                    return
                next_start = self._clock()
                continue
            if period:
                delay = next_start - self._clock()
                if delay > 0 and self._stop.wait(delay):
                    return
                next_start = max(next_start + period, self._clock() - period)
            self._paint_one()

    def _paint_one(self) -> None:
        started = time.perf_counter()
        try:
            latent = self.next_latent()
            # Convert here, off the render thread: the display then only uploads bytes.
            image = to_rgb8(self.backend.synthesize(latent))
        except Exception as exc:  # any backend failure: keep the last good frame up (see above)
            self._failed(exc)
            self._stop.wait(self._backoff_s)
            return
        gen_ms = (time.perf_counter() - started) * 1e3
        self._gen_ms_ema = gen_ms if self._gen_ms_ema is None else \
            0.9 * self._gen_ms_ema + 0.1 * gen_ms
        self.frames_generated += 1
        self.latest.put(GeneratedFrame(seq=latent.seq, t_audio=latent.t_audio, image=image,
                                       gen_ms=gen_ms))

    def _failed(self, exc: Exception) -> None:
        message = " ".join(f"generator: {type(exc).__name__}: {exc}".split())
        now = self._clock()
        count = 1 if self.error is None else self.error.count + 1
        self.error = WorkerError(message, now, count)
        if now - self._logged.get(message, -float("inf")) >= self._log_every_s:
            self._logged[message] = now
            log.error("%s (failure %d; the last good frame stays up)", message, count,
                      exc_info=count == 1)


def name_os_thread(name: str) -> None:
    """Give this thread an OS-level name (top -H, /proc, the live stats' CPU breakdown); Python
    before 3.14 names only its own Thread objects."""
    try:
        Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text(name[:15])
    except OSError:
        pass  # not Linux, or /proc is read-only: the name is only for diagnostics
