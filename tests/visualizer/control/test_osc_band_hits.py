"""The per-band hit envelopes on the OSC state feed, from a running headless show."""

from __future__ import annotations

import socket

import pytest

from bench.rigs.ports import free_port
from tests.signals import club_loop, write_wav
from tests.visualizer.control.osc_helpers import Client, drive_show
from tests.visualizer.live_helpers import headless_app, show_config


@pytest.mark.timeout(120)
def test_band_hits_reach_the_state_feed(tmp_path):
    """Kick, snare and hats of a club loop blink /gm/state/low_hit, mid_hit and high_hit: the
    per-band envelopes leave the analyzer and reach a controller's LEDs over real UDP."""
    from visualizer.control.surfaces import ControlSurfaces

    audio, _ = club_loop(bpm=124.0, duration_s=20.0)
    show = show_config(write_wav(tmp_path / "club.wav", audio), **{
        "control.osc_port": free_port(socket.SOCK_DGRAM), "display.fps": 30.0,
        "model.max_fps": 10.0})
    app = headless_app(show)
    surfaces = ControlSurfaces(app, show.control)
    client = Client(("127.0.0.1", app.osc_port))
    peaks: dict[str, float] = {}

    def script():
        client.send("/gm/subscribe", client.port)
        for band in ("low_hit", "mid_hit", "high_hit"):
            args = client.wait_for(f"/gm/state/{band}", lambda a: a[0] >= 0.5, timeout_s=15)
            peaks[band] = args[0] if args is not None else 0.0

    drive_show(app, script, closers=(client.close, surfaces.close))
    assert all(peaks.get(band, 0.0) >= 0.5 for band in ("low_hit", "mid_hit", "high_hit")), peaks
