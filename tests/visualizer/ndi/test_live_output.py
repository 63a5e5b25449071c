"""NDI out of a running show, received on this machine: the test pattern the generator paints
arrives at the set size with the show's audio; the switch stops and restarts it; a receiver that
goes away costs nothing and the show goes on."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from tests.signals import SR, write_wav
from tests.visualizer.backends.models import PatternGenerator, small_generator
from tests.visualizer.live_helpers import headless_app, show_config, small_model
from visualizer.backends.torch_backend import TorchGenerator
from visualizer.control.routes import build_routes
from visualizer.ndi.live_output import LiveNdiOutput, RateGrid
from visualizer.settings import NdiOutSettings


def pattern(width: int = 64, height: int = 64) -> np.ndarray:
    """Four flat quadrants: red, green / blue, white (flat areas survive NDI's compression)."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (255, 0, 0)
    image[: height // 2, width // 2:] = (0, 255, 0)
    image[height // 2:, : width // 2] = (0, 0, 255)
    image[height // 2:, width // 2:] = (255, 255, 255)
    return image


class Receiver(threading.Thread):
    """Finds the source named ``name`` on this machine and keeps what it receives, until
    ``stop`` is set; then it disconnects (a receiver going away)."""

    def __init__(self, ndi, name: str) -> None:
        super().__init__(daemon=True)
        self.ndi, self.name = ndi, name
        self.frames: list[np.ndarray] = []
        self.audio: list[tuple[int, int, float]] = []  # (sample rate, channels, peak)
        self.stop = threading.Event()
        self.found = threading.Event()

    def run(self) -> None:
        ndi = self.ndi
        finder = ndi.find_create_v2()
        source = None
        while source is None and not self.stop.is_set():
            ndi.find_wait_for_sources(finder, 200)
            source = next((s for s in ndi.find_get_current_sources(finder)
                           if s.ndi_name.endswith(f"({self.name})")), None)
        if source is None:
            return
        self.found.set()
        receiver = ndi.recv_create_v3(ndi.RecvCreateV3(color_format=ndi.RECV_COLOR_FORMAT_RGBX_RGBA))
        ndi.recv_connect(receiver, source)
        try:
            while not self.stop.is_set():
                kind, video, audio, _ = ndi.recv_capture_v2(receiver, 100)
                if kind == ndi.FRAME_TYPE_VIDEO:
                    self.frames.append(np.copy(video.data))
                    ndi.recv_free_video_v2(receiver, video)
                elif kind == ndi.FRAME_TYPE_AUDIO:
                    self.audio.append((audio.sample_rate, audio.no_channels,
                                       float(np.abs(audio.data).max())))
                    ndi.recv_free_audio_v2(receiver, audio)
        finally:
            ndi.recv_destroy(receiver)
            ndi.find_destroy(finder)


def test_the_show_reaches_an_ndi_receiver_with_its_picture_and_sound(ndi, tmp_path):
    # A steady tone, so that any stretch of sound the receiver gets carries its level.
    seconds = np.arange(30 * SR) / SR
    audio = write_wav(tmp_path / "tone.wav", (0.5 * np.sin(2 * np.pi * 440.0 * seconds)).astype(np.float32))
    show = show_config(audio, **{"display.size": (256, 144)})
    painter = PatternGenerator(TorchGenerator(small_generator(seed=1)), pattern())
    app = headless_app(show, model=small_model(backend=painter))
    name = f"gm-test-{os.getpid()}"
    output = LiveNdiOutput(app, NdiOutSettings(name=name, size=(128, 72)))
    receiver = Receiver(ndi, name)
    receiver.start()
    events: dict[str, int] = {}

    table = build_routes(app.params)  # what OSC, MIDI and the web remote reach

    def script(tick):
        """Receive for a while, switch off, on again (over OSC's address), then let the
        receiver go away."""
        if not receiver.found.is_set() or len(receiver.frames) < 10:
            return
        if "off" not in events:
            assert table.dispatch("/gm/ndi/enable", [0], source="osc") is None
            events["off"] = output.sender.stats().frames_sent
            events["off_at"] = tick.index
        elif tick.index == events["off_at"] + 30:
            events["still"] = output.sender.stats().frames_sent
            assert not output.sending
            assert table.dispatch("/gm/ndi/enable", [1], source="osc") is None
        elif "still" in events and "gone" not in events and len(receiver.frames) >= 20:
            receiver.stop.set()
            events["gone"] = tick.index
        elif "gone" in events and tick.index > events["gone"] + 60:
            app.request_stop()

    app.add_frame_hook(script)
    try:
        stats = app.run(duration_s=25.0)
    finally:
        receiver.stop.set()
        receiver.join(timeout=5)
        output.close()
        app.close()
    sent = output.sender.stats()
    assert receiver.found.is_set(), "the receiver never saw the source"
    assert {"off", "still", "gone"} <= events.keys(), f"the script did not finish: {events}"
    # Off means off: at most what was queued or in the read-back ring still went out.
    assert events["still"] - events["off"] <= 4
    assert sent.frames_sent > events["still"]  # and on again
    # The picture: the pattern at the set size, right way up; NDI's 4:2:2 YUV codec moves
    # saturated primaries by up to ~16 levels (blue arrives as 240), far from any other quadrant.
    frame = receiver.frames[-1]
    assert frame.shape == (72, 128, 4)
    quadrants = [frame[10:26, 10:54], frame[10:26, 74:118], frame[46:62, 10:54], frame[46:62, 74:118]]
    for got, want in zip(quadrants, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]):
        assert np.abs(got[..., :3].mean(axis=(0, 1)) - want).max() < 24
    # The sound: the show's tone, at its level.
    assert receiver.audio and all(rate == SR for rate, _, _ in receiver.audio)
    assert max(peak for _, _, peak in receiver.audio) == pytest.approx(0.5, abs=0.02)
    # The receiver went away: frames were no longer compressed, and the show went on.
    assert sent.frames_unwatched > 0 and sent.connections == 0
    assert stats["frames_displayed"] > events["gone"] + 60


def test_the_set_rate_takes_frames_on_a_fixed_grid():
    grid = RateGrid(20.0, slack_s=0.5 / 60)
    display = np.arange(120) / 60 + np.random.default_rng(0).uniform(-0.003, 0.003, 120)
    taken = [t for t in display if grid.take(t)]
    assert len(taken) == 40  # 60 fps jittered -> every third frame, none skipped, none doubled
    assert np.diff(taken) == pytest.approx(0.05, abs=0.007)
    # A display slower than the set rate: every frame goes; after a stall the grid restarts.
    slow = RateGrid(30.0, slack_s=0.5 / 60)
    assert all(slow.take(t) for t in (0.0, 0.05, 0.1, 0.9, 0.95))
    assert not slow.take(0.952)  # the next slot is 0.9667, and half a 60 fps frame early is 0.958
