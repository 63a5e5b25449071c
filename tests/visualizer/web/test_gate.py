"""The remote's gate over real sockets: the OSC allow-list, a token beyond loopback, same-origin
WebSockets, a cap on clients; every refusal a 4xx with a one-line JSON reason."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.visualizer.web.web_helpers import Page, http_get, remote_show
from visualizer.control.osc import allowed, parse_allow
from visualizer.core.errors import GansmaniaError
from visualizer.web.qr import lan_address, qr_matrix
from visualizer.web.server import parse_listen

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def refused(url: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as caught:
        with connect(url, **kwargs):
            pass
    response = caught.value.response
    assert "error" in json.loads(response.body)
    return response.status_code


def test_open_to_the_lan_it_wants_the_token(tmp_path):
    app, surfaces, remote = remote_show(tmp_path, web="0.0.0.0:0")
    try:
        assert remote.token and f"?token={remote.token}" in remote.url
        local = f"http://127.0.0.1:{remote.server.port}/"
        # What the terminal prints and shows as a QR code: an address a phone can open.
        lan = lan_address()
        assert remote.phone_url == f"http://{lan or '0.0.0.0'}:{remote.server.port}/" \
                                   f"?token={remote.token}"
        if lan is not None:
            assert http_get(remote.phone_url)[0] == 200
        assert app.remote_qr == qr_matrix(remote.phone_url)  # the HUD's code: the same address
        status, body, _ = http_get(local)
        assert status == 401 and "token" in json.loads(body)["error"]
        assert http_get(local + "?token=wrong")[0] == 401
        assert refused(local.replace("http", "ws") + "ws") == 401
        # The address printed: the page, and a cookie that carries the token from then on.
        status, _, headers = http_get(f"{local}?token={remote.token}")
        assert status == 200 and "gm_token=" in headers["set-cookie"]
        cookie = headers["set-cookie"].split(";")[0]
        assert http_get(local + "api/controls", headers={"Cookie": cookie})[0] == 200
        assert http_get(local + "api/controls", headers={"X-GM-Token": remote.token})[0] == 200
        page = Page(local, additional_headers={"Cookie": cookie})
        assert page.wait_for("/gm/state/intensity", lambda a: True) is not None
        page.close()
    finally:
        remote.close()
        surfaces.close()
        app.close()


def test_the_osc_allow_list_keeps_other_clients_out(tmp_path):
    app, surfaces, remote = remote_show(tmp_path, **{"control.osc_allow": ("10.0.0.0/8",)})
    try:
        for path in ("", "api/controls", "preview.mjpg", "static/remote.js"):
            status, body, _ = http_get(remote.url + path)
            assert status == 403, path
            assert json.loads(body)["error"] == "127.0.0.1 is not in the allow-list " \
                                                "(control.osc_allow, --osc-allow)"
        ws = remote.url.replace("http", "ws")
        assert refused(ws + "ws") == 403
        assert refused(ws + "preview") == 403
        assert remote.gate.refused == 6 and remote.gate.clients == 0
        assert app.remote_qr == ()  # loopback: no token, nothing for a phone to scan
    finally:
        remote.close()
        surfaces.close()
        app.close()
    # The same test lets the listed in, IPv4 clients of a dual-stack socket too.
    allow = parse_allow(["127.0.0.0/8", "192.168.1.20"])
    assert allowed("127.0.0.1", allow) and allowed("::ffff:192.168.1.20", allow)
    assert not allowed("192.168.1.21", allow) and not allowed("", allow)


def test_websockets_from_other_sites_and_past_the_cap_are_refused(tmp_path):
    app, surfaces, remote = remote_show(tmp_path, **{"control.web_clients": 2})
    ws = remote.url.replace("http", "ws") + "ws"
    host = remote.url.split("/")[2]
    try:
        assert refused(ws, origin="http://evil.example") == 403
        same = Page(remote.url, origin=f"http://{host}")
        other = Page(remote.url)  # no Origin: not a browser, nothing to forge
        assert refused(ws) == 429
        assert refused(ws.replace("/ws", "/preview")) == 429
        assert http_get(remote.url + "preview.mjpg")[0] == 429
        same.close()
        assert other.wait_for("/gm/state/intensity", lambda a: True) is not None
        third = Page(remote.url)  # a place is free again
        assert third.wait_for("/gm/state/intensity", lambda a: True) is not None
        third.close()
        other.close()
    finally:
        remote.close()
        surfaces.close()
        app.close()


def test_listen_addresses():
    assert parse_listen("8080") == ("127.0.0.1", 8080)
    assert parse_listen("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_listen("[::1]:8080") == ("::1", 8080)
    for bad in ("", "host:", "x:80a", "70000"):
        with pytest.raises(GansmaniaError, match="HOST:]PORT"):
            parse_listen(bad)
