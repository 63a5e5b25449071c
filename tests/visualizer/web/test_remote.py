"""The remote on a running headless show, over real WebSockets on loopback: writes go through
the route table, feedback reaches every page, refusals are one line and the show goes on."""

from __future__ import annotations

import json

import pytest

from tests.visualizer.web.web_helpers import Page, http_get, near, remote_show, run_beside

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_pages_drive_the_show_and_follow_it(tmp_path):
    app, surfaces, remote = remote_show(tmp_path)
    presets: list = []
    app.on_action("preset", presets.append)
    base = remote.url
    frames_before: list[int] = []

    def script() -> None:
        first, second = Page(base), Page(base)
        try:
            # Everything on connect.
            assert first.wait_for("/gm/state/intensity", near(1.0)) is not None
            assert second.wait_for("/gm/state/fx/zoom/twist", lambda a: True) is not None
            # A fader on one page: the store changes, the other page hears it.
            first.send("/gm/fx/zoom/twist", 0.4)
            assert second.wait_for("/gm/state/fx/zoom/twist", near(0.4)) is not None
            assert app.params.get("shader.zoom.twist") == pytest.approx(0.4)
            # A change made elsewhere (OSC, MIDI, the keyboard write the store): pages follow.
            app.params.set("master.intensity", 0.25, source="osc")
            assert first.wait_for("/gm/state/intensity", near(0.25)) is not None
            assert second.wait_for("/gm/state/intensity", near(0.25)) is not None
            # An action reaches the app's handler.
            first.send("/gm/preset", 3)  # (the loop drains it; checked after the show)
            # Bad messages: one line each to that page only; nothing changes, the show goes on.
            for bad in ("not json", json.dumps({"address": "/gm/nope", "args": [1]}),
                        json.dumps({"address": "/gm/intensity", "args": [7]}),
                        json.dumps({"address": "/gm/intensity", "args": [{"x": 1}]}),
                        json.dumps([1, 2])):
                first.ws.send(bad)
                error = first.wait_error()
                assert error is not None and "\n" not in error, bad
            first.ws.send(b"\x00binary")
            assert "JSON text" in first.wait_error()
            assert second.errors == []
            assert app.params.get("master.intensity") == pytest.approx(0.25)
            frames_before.append(app._stats.frames_displayed)
            second.send("/gm/intensity", 0.5)
            assert first.wait_for("/gm/state/intensity", near(0.5)) is not None
        finally:
            first.close()
            second.close()

    try:
        run_beside(app, script)
        assert [action.value for action in presets] == [3]
        assert presets[0].source == "web"
        assert app._stats.frames_displayed > frames_before[0]  # still running after the errors
        assert remote.problems.total == 6
        assert "web" in app._errors  # the first of each problem on the HUD
    finally:
        remote.close()
        surfaces.close()
        app.close()


def test_the_page_and_its_controls_come_from_the_specs(tmp_path):
    app, surfaces, remote = remote_show(tmp_path)
    try:
        status, body, headers = http_get(remote.url)
        assert status == 200 and b"/static/remote.js" in body
        for asset in ("remote.js", "remote.css"):
            status, body, _ = http_get(remote.url + f"static/{asset}")
            assert status == 200 and b"http" not in body.replace(b"https:", b"")  # nothing remote
        status, body, _ = http_get(remote.url + "api/controls")
        page = json.loads(body)
        assert page["slots"] == ["drift"]
        controls = {c["address"]: c for g in page["groups"] for c in g["controls"]}
        twist = app.params.spec("shader.zoom.twist")
        assert controls["/gm/fx/zoom/twist"]["min"] == twist.min
        assert controls["/gm/fx/zoom/twist"]["max"] == twist.max
        assert controls["/gm/blackout"]["type"] == "toggle"
        assert controls["/gm/seed"]["step"] == 1
        assert any(c["type"] == "choice" for c in controls.values())
        status, body, _ = http_get(remote.url + "no/such/page")
        assert status == 404 and "error" in json.loads(body)
    finally:
        remote.close()
        surfaces.close()
        app.close()
