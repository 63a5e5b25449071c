"""The shipped control templates and the `gansmania osc` command."""

from __future__ import annotations

import time
import zlib

from click.testing import CliRunner

from tests.visualizer.control.osc_helpers import Served, show_params
from visualizer.cli import cli
from visualizer.control.routes import standard_table, state_address
from visualizer.control.touchosc import TEMPLATE, addresses_in, layout_xml, read_layout

STATUS = {"/gm/state/preset", "/gm/state/bpm", "/gm/state/beat", "/gm/state/level",
          "/gm/state/recording", "/gm/state/tempo"}


def test_the_shipped_touchosc_layout_is_the_generated_one():
    assert zlib.decompress(TEMPLATE.read_bytes()) == layout_xml(), \
        "stale template: run `python -m visualizer.control.touchosc`"


def test_every_touchosc_control_speaks_the_shows_addresses():
    table = standard_table()
    tree = read_layout()
    assert tree.tag == "lexml" and tree.get("version") == "3"
    pages = [n for n in tree.iter("node") if n.get("type") == "PAGER"][0].find("children")
    assert [p.find("properties/property[key='name']/value").text for p in pages] == \
        ["presets", "mappings", "fx", "transport"]
    states = {state_address(r.address) for r in table.routes.values() if r.kind == "param"}
    sent, received = set(), set()
    for address, sends, receives in addresses_in(tree):
        (sent if sends else received).add(address)
        assert sends != receives  # one message per direction
    assert sent - {"/gm/subscribe"} <= set(table.routes)
    assert received <= states | STATUS
    for route in ("/gm/intensity", "/gm/map/pulse/strength", "/gm/fx/zoom/twist", "/gm/tap",
                  "/gm/preset", "/gm/blackout", "/gm/record/start"):
        assert route in sent
    # Every fader that sends also follows its state, so it moves with changes made elsewhere.
    for address in sent:
        route = table.get(address)
        if route is not None and route.kind == "param":
            assert state_address(address) in received, address


def test_osc_command_lists_sends_and_copies(tmp_path):
    runner = CliRunner()
    listing = runner.invoke(cli, ["osc", "addresses", "--all"])
    assert listing.exit_code == 0 and "/gm/fx/zoom/twist <-3.14..3.14>" in listing.output
    copied = runner.invoke(cli, ["osc", "template", "midi", "--out", str(tmp_path / "m.toml")])
    assert copied.exit_code == 0 and "address = \"/gm/intensity\"" in (tmp_path / "m.toml").read_text()
    served = Served(show_params())
    try:
        sent = runner.invoke(cli, ["osc", "send", "/gm/map/walk/seeds", "4", "5",
                                   "--port", str(served.server.port)])
        assert sent.exit_code == 0
        deadline = time.monotonic() + 3.0
        while served.params.get("walk.seeds") != (4, 5) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert served.params.get("walk.seeds") == (4, 5)
    finally:
        served.close()


def test_live_refuses_bad_control_options_before_loading_anything(capsys, tmp_path):
    import pytest

    from visualizer.cli import main

    model = tmp_path / "unused.safetensors"
    model.write_bytes(b"")  # never read: the options fail first
    for args, message in [(["--tempo-source", "midi"], "--tempo-source midi needs a MIDI input"),
                          (["--osc-port", "9000", "--osc-allow", "lan"],
                           "--osc-allow 'lan': not an IP address or network")]:
        with pytest.raises(SystemExit) as exit_info:
            main(["live", "--headless", "--model", str(model), *args])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and err.count("\n") == 1
