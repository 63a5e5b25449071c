"""Every output at once, each at its own size: a recording, NDI and a stream beside the show's
own output, in one running show."""

from __future__ import annotations

import os

import numpy as np

from tests.signals import SR, write_wav
from tests.visualizer.live_helpers import headless_app, show_config
from tests.visualizer.ndi.test_live_output import Receiver
from tests.visualizer.record.media import ffprobe, stream
from visualizer.ndi.live_output import LiveNdiOutput
from visualizer.record.live_recording import LiveRecording
from visualizer.record.live_stream import LiveStream
from visualizer.settings import NdiOutSettings, StreamOutSettings


def test_a_recording_ndi_and_a_stream_run_together_each_at_its_own_size(ndi, tmp_path):
    from bench.rigs.ports import free_port
    import socket

    seconds = np.arange(40 * SR) / SR
    song = write_wav(tmp_path / "tone.wav", (0.3 * np.sin(2 * np.pi * 220.0 * seconds)).astype(np.float32))
    take = tmp_path / "take.mp4"
    app = headless_app(show_config(song, **{"display.size": (320, 180), "record.size": (160, 90)}))
    name = f"gm-all-{os.getpid()}"
    recording = LiveRecording(app, record=take)
    ndi_out = LiveNdiOutput(app, NdiOutSettings(name=name, size=(192, 108)))
    # UDP needs no receiver: what a stream costs and what it sends does not depend on one.
    streaming = LiveStream(app, StreamOutSettings(url=f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
                                                  size=(128, 72), fps=15.0))
    receiver = Receiver(ndi, name)
    receiver.start()
    started: list[float] = []

    def stop_when_all_ran(tick):
        """Once the recording runs (it waits for the show to run) and NDI reached the receiver."""
        if recording.recorder.recording and not started:
            started.append(tick.now_s)
        if started and tick.now_s - started[0] > 1.0 and len(receiver.frames) >= 10:
            app.request_stop()

    app.add_frame_hook(stop_when_all_ran)
    try:
        stats = app.run(duration_s=30.0)
    finally:
        receiver.stop.set()
        receiver.join(timeout=5)
        streaming.close()
        ndi_out.close()
        recording.close()
        app.close()
    assert stats["output_size"] == [320, 180] and stats["frames_displayed"] > 0
    video = stream(ffprobe(take), "video")
    assert (video["width"], video["height"]) == (160, 90)
    assert receiver.frames and receiver.frames[-1].shape == (108, 192, 4)
    sent = streaming.stats()
    assert sent["size"] == [128, 72] and sent["frames_sent"] > 0
