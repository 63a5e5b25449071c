"""The remote's preview on a running headless show: nothing is read back until someone watches;
a frame arrives over /preview and /preview.mjpg as a JPEG of the preview's size."""

from __future__ import annotations

import contextlib
import io
import urllib.request

import pytest
from PIL import Image
from websockets.sync.client import connect

from tests.visualizer.web.web_helpers import remote_show, run_beside

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def mjpeg_frame(url: str) -> bytes:
    """The first part of a multipart MJPEG stream."""
    with urllib.request.urlopen(url, timeout=20) as response:
        assert response.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        length = 0
        while True:
            line = response.readline().strip()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            elif not line and length:
                return response.read(length)


def test_preview_frames_only_while_watched(tmp_path):
    # 256x144 output, a 128 px preview: 128x72 JPEGs.
    app, surfaces, remote = remote_show(tmp_path, **{"control.web_preview_width": 128})
    seen: dict = {}

    def script() -> None:
        import time

        time.sleep(1.5)  # the show runs, nobody watches
        seen["idle"] = (remote.preview.encoded, remote.preview.reading_back)
        with contextlib.ExitStack() as stack:
            viewer = stack.enter_context(connect(remote.url.replace("http", "ws") + "preview"))
            seen["ws"] = [viewer.recv(timeout=20) for _ in range(3)]
            seen["mjpeg"] = mjpeg_frame(remote.url + "preview.mjpg")
        for _ in range(50):  # viewers gone: the read-backs stop
            if remote.preview.viewers == 0 and not remote.preview.reading_back:
                break
            time.sleep(0.1)
        seen["after"] = remote.preview.encoded
        time.sleep(1.0)
        seen["later"] = (remote.preview.encoded, remote.preview.viewers)

    try:
        run_beside(app, script)
    finally:
        remote.close()
        surfaces.close()
        app.close()
    assert seen["idle"] == (0, False)
    for jpeg in [*seen["ws"], seen["mjpeg"]]:
        image = Image.open(io.BytesIO(jpeg))
        assert image.format == "JPEG" and image.size == (128, 72)
    assert len(set(seen["ws"])) == 3  # newer frames, not the same one again
    assert seen["later"] == (seen["after"], 0)
