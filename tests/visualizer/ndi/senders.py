"""A test NDI source: a known picture sent on loopback at a steady rate from its own thread,
and helpers to look at what came back through the codec."""

from __future__ import annotations

import threading
import time
from types import ModuleType

import numpy as np

RED, BLUE = (255, 0, 0), (0, 0, 255)
CODEC_LEVELS = 16  # SpeedHQ on flat colours comes back within a few levels; edges smear more


def halves(width: int = 128, height: int = 72, left=RED, right=BLUE) -> np.ndarray:
    """RGBA uint8 (height, width, 4): the left half ``left``, the right half ``right``, opaque."""
    image = np.zeros((height, width, 4), np.uint8)
    image[:, : width // 2, :3] = left
    image[:, width // 2:, :3] = right
    image[..., 3] = 255
    return image


def shows_halves(image: np.ndarray, left=RED, right=BLUE, *, levels: int = CODEC_LEVELS) -> bool:
    """``image`` (H, W, 3 or 4) shows ``left`` in its left quarter and ``right`` in its right
    quarter (the middle half, edges of the codec's blocks aside), within ``levels``."""
    height, width = image.shape[:2]
    rows = slice(height // 4, 3 * height // 4)
    west = image[rows, width // 16: width // 4, :3].reshape(-1, 3).astype(int)
    east = image[rows, 3 * width // 4: 15 * width // 16, :3].reshape(-1, 3).astype(int)
    return bool(np.abs(west - left).max() <= levels and np.abs(east - right).max() <= levels)


class PatternSender:
    """Sends ``image`` as the NDI source ``name`` (seen as "MACHINE (name)") at ``fps`` until
    :meth:`stop`, which destroys the source as a machine leaving the network would."""

    def __init__(self, ndi: ModuleType, name: str, image: np.ndarray, *, fps: float = 30.0,
                 fourcc: str = "RGBX") -> None:
        self.ndi, self.name, self.image, self.fps = ndi, name, image, fps
        self.fourcc = getattr(ndi, f"FOURCC_VIDEO_TYPE_{fourcc}")
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PatternSender:
        sender = self.ndi.send_create(self.ndi.SendCreate(p_ndi_name=self.name, clock_video=False))
        assert sender is not None, "NDI could not create a sender"
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(sender,), daemon=True,
                                        name=f"ndi-test-sender-{self.name}")
        self._thread.start()
        return self

    def _run(self, sender) -> None:
        frame = self.ndi.VideoFrameV2()
        frame.data = self.image
        frame.FourCC = self.fourcc
        try:
            while not self._stop.is_set():
                self.ndi.send_send_video_v2(sender, frame)
                self.sent += 1
                self._stop.wait(1.0 / self.fps)
        finally:
            self.ndi.send_destroy(sender)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None


def wait_for(condition, *, timeout_s: float, poll_s: float = 0.02) -> bool:
    """Poll ``condition()`` until it is true (True) or ``timeout_s`` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return bool(condition())
