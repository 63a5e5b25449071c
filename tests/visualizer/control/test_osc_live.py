"""Acceptance through a running show: `gansmania live`'s wiring (presets, recorder, control
surfaces) on a headless app, driven over real UDP; every documented address changes the state
it says, read back through the /gm/state feed."""

from __future__ import annotations

import socket
import time

import pytest

from bench.rigs.ports import free_port
from tests.visualizer.control.osc_helpers import Client, drive_show, near
from tests.visualizer.live_helpers import click_track, headless_app, show_config
from tests.visualizer.record.media import ffprobe, stream

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_documented_addresses_change_the_running_show(tmp_path):
    from visualizer.control.surfaces import ControlSurfaces
    from visualizer.presets.catalog import slot_paths
    from visualizer.presets.live_presets import install_presets
    from visualizer.record.live_recording import LiveRecording

    audio, _ = click_track(tmp_path / "click.wav", bpm=100.0, duration_s=30.0)
    show = show_config(audio, **{"presets.quantize": "none", "presets.watch": False,
                                 "record.folder": tmp_path, "control.osc_port": free_port(socket.SOCK_DGRAM),
                                 "display.fps": 30.0, "model.max_fps": 10.0})
    app = headless_app(show)
    install_presets(app, "drift")
    recording = LiveRecording(app)
    surfaces = ControlSurfaces(app, show.control, recording=lambda: recording.recorder.recording)
    assert app.osc_port == show.control.osc_port
    client = Client(("127.0.0.1", app.osc_port))
    slots = [path.stem for path in slot_paths(())]
    failures: list[str] = []

    def expect(address, args, state, check, timeout_s=8.0):
        client.send(address, *args)
        if client.wait_for(state, check, timeout_s=timeout_s) is None:
            failures.append(f"{address} {args}: {state} = {client.state.get(state)}")

    def script():
        client.send("/gm/subscribe", client.port)
        if client.wait_for("/gm/state/preset", lambda a: a == ["drift"], timeout_s=20) is None:
            failures.append(f"no feedback: {client.state.get('/gm/state/preset')}")
            return
        expect("/gm/crossfade", [0.0], "/gm/state/crossfade", near(0.0))
        # By name, then next and back: the last slot, so next wraps round to the first.
        last = slots[-1]
        expect("/gm/preset", [last], "/gm/state/preset", lambda a: a == [last])
        expect("/gm/preset/next", [], "/gm/state/preset", lambda a: a == [slots[0]])
        expect("/gm/preset/prev", [], "/gm/state/preset", lambda a: a == [last])
        expect("/gm/preset", [1], "/gm/state/preset", lambda a: a == [slots[0]])
        expect("/gm/seed", [5], "/gm/state/seed", lambda a: a == [5])
        expect("/gm/seed/next", [], "/gm/state/seed", lambda a: a == [6])
        expect("/gm/seed/prev", [], "/gm/state/seed", lambda a: a == [5])
        for address, value in [("/gm/truncation", 1.5), ("/gm/intensity", 0.4),
                               ("/gm/reactivity", 2.0), ("/gm/map/pulse/strength", 1.2),
                               ("/gm/map/chroma/strength", 0.2), ("/gm/map/jitter/strength", 0.5),
                               ("/gm/map/noise/strength", 3.0), ("/gm/map/fx/strength", 0.7),
                               ("/gm/fx/zoom/twist", 1.0)]:
            expect(address, [value], "/gm/state" + address[3:], near(value))
        for address in ("/gm/blackout", "/gm/freeze", "/gm/hud"):
            expect(address, [1], "/gm/state" + address[3:], lambda a: a == [1])
            expect(address, [0], "/gm/state" + address[3:], lambda a: a == [0])
        expect("/gm/param/walk/beats_per_seed", [16], "/gm/state/map/walk/beats_per_seed",
               near(16.0))
        expect("/gm/fx/reset", [], "/gm/state/fx/zoom/twist", near(0.0))
        expect("/gm/bpm", [133.0], "/gm/state/bpm", near(133.0, 0.6))
        expect("/gm/record/start", [str(tmp_path / "take.mp4")], "/gm/state/recording",
               lambda a: a == [1])
        expect("/gm/record/stop", [], "/gm/state/recording", lambda a: a == [0])
        expect("/gm/bpm", [0], "/gm/state/beat", lambda a: 0.0 <= a[0] < 1.0)
        for _ in range(5):  # tap tempo: 120 BPM
            client.send("/gm/tap")
            time.sleep(0.5)
        if client.wait_for("/gm/state/bpm", lambda a: 110 < a[0] < 130, timeout_s=5) is None:
            failures.append(f"/gm/tap x5 at 120 BPM: bpm = {client.state.get('/gm/state/bpm')}")
        client.send("/gm/learn")
        time.sleep(0.3)

    drive_show(app, script, closers=(client.close, surfaces.close, recording.close), duration_s=240.0)
    assert failures == []
    # /gm/record/start PATH recorded to PATH, not to a timestamped take.
    assert stream(ffprobe(tmp_path / "take.mp4"), "video")["codec_name"] == "h264"
    assert not list(tmp_path.glob("gansmania-*"))
    assert "MIDI learn needs a MIDI input" in app._errors["control"][0]  # on the HUD
    assert surfaces.server is None or surfaces.server.problems.total == 0
