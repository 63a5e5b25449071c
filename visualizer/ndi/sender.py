"""`NdiSender`: one NDI source on the LAN, fed video and audio from the show without ever
making it wait.

The render thread only enqueues; the sender's own thread hands frames to the NDI runtime (which
compresses them: ~12 ms a 720p frame on one core of a 2-core EPYC, with the GIL released). When
that thread falls behind, new video frames are dropped and counted, never queued without bound.
While no receiver is connected, video frames are not compressed at all: an idle NDI output costs
nothing but the read-back. Every frame and audio block carries its capture-clock time as NDI
timecode, so receivers line picture and sound up as the show did.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from visualizer.ndi.runtime import NdiUnavailable, load_ndi

log = logging.getLogger(__name__)

VIDEO_QUEUE = 2  # frames waiting for the sender thread before new ones are dropped
AUDIO_QUEUE = 256  # audio blocks (~5 s of 20 ms hops)
_STOP = object()


@dataclass(frozen=True)
class NdiSenderStats:
    name: str  # the full source name receivers see, "MACHINE (NAME)"
    frames_sent: int
    frames_dropped: int  # the sender thread was busy: frames the queue could not take
    frames_unwatched: int  # not compressed: no receiver was connected
    audio_blocks: int
    audio_dropped: int
    connections: int  # receivers connected now


class NdiSender:
    """An NDI source called ``name``; :meth:`send_video` / :meth:`send_audio` from any thread."""

    def __init__(self, name: str, *, fps: float, on_failure: Callable[[str], None] | None = None) -> None:
        """``fps``: the rate receivers are told to expect (the display or the set rate)."""
        self._ndi = ndi = load_ndi()
        self._instance = ndi.send_create(ndi.SendCreate(p_ndi_name=name, clock_video=False,
                                                        clock_audio=False))
        if self._instance is None:
            raise NdiUnavailable(f"NDI could not create the source {name!r}")
        self.name = name
        self._rate = (max(1, round(fps * 1000)), 1000)
        self._on_failure = on_failure
        self._queue: queue.Queue = queue.Queue(maxsize=VIDEO_QUEUE + AUDIO_QUEUE)
        self._video_waiting = 0
        self._counts = {"sent": 0, "dropped": 0, "unwatched": 0, "audio": 0, "audio_dropped": 0}
        self._lock = threading.Lock()
        self._failed = False
        self._thread = threading.Thread(target=self._run, name=f"ndi-send {name}", daemon=True)
        self._thread.start()

    @property
    def full_name(self) -> str:
        """The name receivers list, e.g. "STAGE-PC (GANsmania)": NDI's rule, the host name in
        capitals (ndi-python's send_get_source_name returns undecodable bytes)."""
        return f"{socket.gethostname().split('.')[0].upper()} ({self.name})"

    def connections(self) -> int:
        return int(self._ndi.send_get_no_connections(self._instance, 0))

    def send_video(self, pixels: np.ndarray, *, t_s: float) -> bool:
        """Queue an RGBA uint8 (H, W, 4) frame, top row first, shown at capture time ``t_s``;
        False when it was dropped. The array must not change afterwards (taps hand out new ones)."""
        with self._lock:
            if self._failed or self._video_waiting >= VIDEO_QUEUE:
                self._counts["dropped"] += 1
                return False
            self._video_waiting += 1
        return self._put(("video", pixels, t_s))

    def send_audio(self, block: np.ndarray, *, sample_rate: int, t_s: float) -> bool:
        """Queue float32 audio (n, channels) whose first sample was captured at ``t_s``; it is
        copied (callers reuse their buffers)."""
        # A copy always: for mono, block.T is already contiguous and ascontiguousarray would
        # queue a view of a buffer the analyzer overwrites before this thread sends it.
        planar = np.array(block.T, dtype=np.float32, order="C", copy=True)
        return self._put(("audio", planar, t_s, sample_rate))

    def _put(self, item: tuple) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            video = item[0] == "video"
            with self._lock:
                self._counts["dropped" if video else "audio_dropped"] += 1
                self._video_waiting -= video
            return False

    def stats(self) -> NdiSenderStats:
        with self._lock:
            counts = dict(self._counts)
        return NdiSenderStats(name=self.full_name, frames_sent=counts["sent"],
                              frames_dropped=counts["dropped"],
                              frames_unwatched=counts["unwatched"], audio_blocks=counts["audio"],
                              audio_dropped=counts["audio_dropped"],
                              connections=self.connections())

    def close(self) -> None:
        """Send what is queued, then withdraw the source."""
        while self._thread.is_alive():  # a thread that stopped on a failure takes nothing more
            try:
                self._queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._ndi.send_destroy(self._instance)

    # ------------------------------------------------------------------ the sender thread

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            try:
                if item[0] == "video":
                    with self._lock:
                        self._video_waiting -= 1
                    self._send_video(item[1], item[2])
                else:
                    self._send_audio(*item[1:])
            except Exception as exc:  # the runtime refused a frame: say so once, stop sending
                log.exception("NDI source %s failed", self.name)
                with self._lock:
                    self._failed = True
                if self._on_failure is not None:
                    self._on_failure(f"NDI out {self.name!r} stopped: {type(exc).__name__}: {exc}")
                break

    def _send_video(self, pixels: np.ndarray, t_s: float) -> None:
        ndi = self._ndi
        if not ndi.send_get_no_connections(self._instance, 0):
            with self._lock:
                self._counts["unwatched"] += 1
            return
        frame = ndi.VideoFrameV2()
        frame.FourCC = ndi.FOURCC_VIDEO_TYPE_RGBX
        frame.data = pixels
        frame.frame_rate_N, frame.frame_rate_D = self._rate
        frame.timecode = _timecode(t_s)
        ndi.send_send_video_v2(self._instance, frame)
        with self._lock:
            self._counts["sent"] += 1

    def _send_audio(self, planar: np.ndarray, t_s: float, sample_rate: int) -> None:
        ndi = self._ndi
        frame = ndi.AudioFrameV2()
        frame.sample_rate = sample_rate
        frame.no_channels, frame.no_samples = planar.shape
        frame.channel_stride_in_bytes = planar.shape[1] * 4
        frame.data = planar
        frame.timecode = _timecode(t_s)
        ndi.send_send_audio_v2(self._instance, frame)
        with self._lock:
            self._counts["audio"] += 1


def _timecode(t_s: float) -> int:
    """NDI timecode: 100 ns units."""
    return int(round(t_s * 1e7))
