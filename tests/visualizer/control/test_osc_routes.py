"""The route table without sockets: every address writes what it says, bad input changes
nothing and comes back as one line, and the README's table is the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.visualizer.control.osc_helpers import show_params
from visualizer.control.routes import (STRENGTHS, ProblemLog, address_rows, build_routes,
                                       markdown_table, standard_table, state_address)

README = Path(__file__).resolve().parents[3] / "README.md"

NAMED_PARAMS = {  # address -> (parameter, a value inside its range that is not its default)
    "/gm/crossfade": ("master.crossfade_beats", 2.0),
    "/gm/seed": ("walk.bank", 7),
    "/gm/truncation": ("master.truncation", 1.5),
    "/gm/intensity": ("master.intensity", 0.25),
    "/gm/reactivity": ("reactivity", 2.5),
    "/gm/blackout": ("master.blackout", True),
    "/gm/freeze": ("master.freeze", True),
    "/gm/hud": ("master.hud", True),
}
NAMED_ACTIONS = {  # address -> (arguments, the action kind and value posted)
    "/gm/preset": (["tunnel"], ("preset", "tunnel")),
    "/gm/preset/next": ([], ("preset_next", None)),
    "/gm/preset/prev": ([1], ("preset_prev", None)),
    "/gm/seed/next": ([], ("seed_next", None)),
    "/gm/seed/prev": ([1.0], ("seed_prev", None)),
    "/gm/bpm": ([128.0], ("bpm", 128.0)),
    "/gm/tap": ([], ("tap", None)),
    "/gm/record/start": (["/tmp/take.mp4"], ("record_start", "/tmp/take.mp4")),
    "/gm/record/stop": ([], ("record_stop", None)),
    "/gm/record/toggle": ([1], ("record_toggle", None)),
    "/gm/fx/reset": ([], ("fx_reset", None)),
    "/gm/learn": (["/gm/intensity"], ("learn", "/gm/intensity")),
}


@pytest.fixture
def table():
    return build_routes(show_params())


def test_named_addresses_write_their_parameter(table):
    for address, (name, value) in NAMED_PARAMS.items():
        assert table.dispatch(address, [value], source="osc") is None, address
        assert table.params.get(name) == value, address
    assert table.params.get("master.blackout") is True
    assert table.dispatch("/gm/blackout", [0.0], source="osc") is None  # TouchOSC toggles: floats
    assert table.params.get("master.blackout") is False


def test_named_actions_post_their_action(table):
    for address, (args, (kind, value)) in NAMED_ACTIONS.items():
        assert table.dispatch(address, args, source="osc") is None, address
        actions = table.params.drain()
        assert [(a.kind, a.value, a.source) for a in actions] == [(kind, value, "osc")], address
    for args, slot in (([3], 3), ([3.0], 3), (["4"], 4)):  # slots as ints, floats or text
        table.dispatch("/gm/preset", args, source="osc")
        assert table.params.drain()[0].value == slot
    for args in ([0], [], [None]):  # 0 or nothing: back to the automatic tempo
        table.dispatch("/gm/bpm", args, source="osc")
        assert table.params.drain()[0].value is None


def test_every_parameter_is_reachable_and_every_route_has_a_state_address(table):
    params = table.params
    reached = {route.target for route in table.routes.values() if route.kind == "param"}
    assert reached == set(params.specs())
    for route_name, target in STRENGTHS.items():
        route = table.get(f"/gm/map/{route_name}/strength")
        assert route.target == target
        assert table.dispatch(route.address, [0.5], source="osc") is None
        assert params.get(target) == 0.5
    assert table.dispatch("/gm/map/walk/seeds", [3, 4, 5], source="osc") is None
    assert params.get("walk.seeds") == (3, 4, 5)
    assert table.dispatch("/gm/map/pulse/trigger", ["beat"], source="osc") is None
    assert table.dispatch("/gm/fx/zoom/twist", [1.25], source="osc") is None
    assert params.get("shader.zoom.twist") == 1.25
    assert table.dispatch("/gm/fx/kaleidoscope/segments", [8.0], source="osc") is None
    assert params.get("shader.kaleidoscope.segments") == 8
    assert table.dispatch("/gm/param/walk/beats_per_seed", [16], source="osc") is None
    assert params.get("walk.beats_per_seed") == 16.0
    states = table.state_addresses()
    assert states["master.intensity"] == ("/gm/state/intensity",)
    assert states["noise.bass"] == ("/gm/state/map/noise/strength", "/gm/state/map/noise/bass")
    assert state_address("/gm/fx/zoom/twist") == "/gm/state/fx/zoom/twist"
    assert "crossfade" not in {r.address.split("/")[3] for r in table.routes.values()
                               if r.address.startswith("/gm/fx/") and r.address != "/gm/fx/reset"}


@pytest.mark.parametrize("address, args, says", [
    ("/gm/intensity", [1.5], "is out of range; allowed a number 0..1"),
    ("/gm/intensity", ["loud"], "has the wrong type; allowed a number 0..1"),
    ("/gm/intensity", [], "needs exactly one argument"),
    ("/gm/intensity", [0.2, 0.3], "needs exactly one argument"),
    ("/gm/intensity", [float("nan")], "is not finite"),
    ("/gm/seed", [2.5], "is not a whole number"),
    ("/gm/blackout", [2], "has the wrong type; allowed true or false (or 1/0)"),
    ("/gm/map/pulse/trigger", ["sometimes"], "is not allowed"),
    ("/gm/map/walk/seeds", [], "needs one or more numbers"),
    ("/gm/fx/zoom/twist", [9.0], "is out of range"),
    ("/gm/preset", [12], "needs a slot 1-9 or a preset name"),
    ("/gm/preset", [], "needs a slot 1-9 or a preset name"),
    ("/gm/bpm", [1000.0], "needs a tempo 20..400 BPM"),
    ("/gm/bpm", ["fast"], "needs a tempo 20..400 BPM"),
    ("/gm/record/start", [b"\x00"], "takes at most one path"),
    ("/gm/nope", [1], "unknown address /gm/nope"),
])
def test_bad_input_changes_nothing_and_is_one_line(table, address, args, says):
    before = table.params.snapshot()
    error = table.dispatch(address, args, source="osc")
    assert error is not None and says in error and "\n" not in error
    assert table.params.snapshot().version == before.version and not table.params.drain()
    assert table.params.last_error == ""  # rejected before the store: the store logged nothing


def test_a_button_release_is_not_an_action(table):
    assert table.dispatch("/gm/preset/next", [0], source="osc").endswith("button release")
    assert table.params.drain() == []


def test_last_touched_remembers_non_midi_surfaces(table):
    table.dispatch("/gm/intensity", [0.5], source="osc")
    table.dispatch("/gm/truncation", [0.5], source="midi")
    assert table.last_touched == "/gm/intensity"


def test_problem_log_logs_each_problem_once_then_counts(caplog):
    now = [0.0]
    shown = []
    problems = ProblemLog("OSC", every_s=10.0, max_keys=3, on_new=shown.append, clock=lambda: now[0])
    with caplog.at_level("WARNING"):
        for i in range(100):
            problems.problem("bad value:/gm/intensity", "out of range")
        for i in range(50):
            problems.problem(f"unknown address:/x{i}", f"unknown address /x{i}")
        now[0] = 11.0
        problems.problem("bad value:/gm/intensity", "out of range")
    messages = [record.getMessage() for record in caplog.records]
    assert problems.total == 151
    assert messages[0].startswith("OSC: out of range")
    # Three distinct keys, then the rest fold into one "unknown address:*"; then a summary.
    assert len(messages) == 5 and messages[-1] == "OSC: 147 more ignored message(s) like the ones above"
    assert len(shown) == 4 and len(set(messages)) == len(messages)


def test_readme_has_the_whole_address_table():
    expected = markdown_table(address_rows(standard_table()))
    assert expected in README.read_text(encoding="utf-8"), \
        "README's OSC table is stale: paste `gansmania osc addresses --markdown`"


def test_osc_names_a_models_direction(table):
    assert table.dispatch("/gm/map/pulse/direction", ["warmth"], source="osc") is None
    assert table.dispatch("/gm/map/chroma/directions", ["sefa"], source="osc") is None
    assert table.params.get("pulse.direction") == "warmth"
    assert table.params.get("chroma.directions") == "sefa"
    assert "allowed" in table.dispatch("/gm/map/chroma/directions", ["ica"], source="osc")
