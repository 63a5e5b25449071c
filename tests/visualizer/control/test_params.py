"""ParamStore: validation that never raises, immutable snapshots, versions, listeners, actions."""

from __future__ import annotations

import threading

import pytest

from visualizer.control.params import ACTIONS, ParamStore
from visualizer.core.config import nested, values_of
from visualizer.core.config import from_dict
from visualizer.core.values import ValueSpec
from visualizer.mapping.settings import (
    ControllerSettings,
    controller_param_specs,
    controller_settings,
)


def store() -> ParamStore:
    return ParamStore({
        "gain": ValueSpec(float, 1.0, min=0.0, max=4.0),
        "count": ValueSpec(int, 2, min=0, max=10),
        "on": ValueSpec(bool, False),
        "mode": ValueSpec(str, "a", choices=("a", "b")),
        "seeds": ValueSpec(tuple[int, ...], (1, 2), min=0, max=100),
    })


def test_set_validates_coerces_and_never_raises():
    params = store()
    assert params.set("gain", 2) is None and params.get("gain") == 2.0
    assert params.set("count", 3.0) is None and params.get("count") == 3  # OSC sends floats
    assert params.set("on", 1) is None and params.get("on") is True
    assert params.set("seeds", [5, 6, 7]) is None and params.get("seeds") == (5, 6, 7)

    error = params.set("gain", 9.5, source="osc")
    assert error == "param 'gain' = 9.5 is out of range; allowed a number 0..4 (from osc)"
    assert params.get("gain") == 2.0  # the last good value stays
    assert params.last_error == error
    for name, bad in [("count", 2.5), ("gain", float("nan")), ("on", 2), ("mode", "c"),
                      ("mode", 3), ("seeds", []), ("seeds", [1, 200]), ("gain", "loud")]:
        message = params.set(name, bad)
        assert message is not None and "\n" not in message and f"'{name}'" in message
    assert "unknown param 'gian'" in params.set("gian", 1.0)


def test_snapshots_are_immutable_and_versions_count_changes():
    params = store()
    before = params.snapshot()
    assert params.snapshot() is before  # no copy per read
    params.set("gain", 3.0)
    after = params.snapshot()
    assert before["gain"] == 1.0 and after["gain"] == 3.0
    assert after.version == before.version + 1
    params.set("gain", 3.0)  # no change, no new version
    assert params.version == after.version
    params.set("gain", 99.0)  # rejected, no new version
    assert params.version == after.version
    with pytest.raises(TypeError):
        after["gain"] = 0.0  # type: ignore[index]
    assert after.derived("double", lambda s: s["gain"] * 2) == 6.0
    assert after.derived("double", lambda s: pytest.fail("computed twice")) == 6.0


def test_set_many_is_all_or_nothing():
    params = store()
    error = params.set_many({"gain": 2.0, "count": 99})
    assert "count" in error and params.get("gain") == 1.0
    assert params.set_many({"gain": 2.0, "count": 4}) is None
    assert (params.get("gain"), params.get("count")) == (2.0, 4)


def test_listeners_hear_changes_and_actions_and_a_broken_one_is_contained():
    params = store()
    heard = []
    params.add_listener(lambda event: 1 / 0)  # a broken listener must not break the store
    remove = params.add_listener(heard.append)
    params.set("gain", 2.0, source="midi")
    params.set("gain", 2.0, source="midi")  # unchanged: no event
    params.post("tap", source="keyboard")
    assert [(e.kind, e.name, e.value, e.source) for e in heard] == [
        ("param", "gain", 2.0, "midi"), ("action", "tap", None, "keyboard")]
    remove()
    params.set("gain", 3.0)
    assert len(heard) == 2


def test_action_queue_is_bounded_ordered_and_checked():
    params = ParamStore(action_capacity=3)
    for slot in range(1, 6):
        assert params.post("preset", slot) is None
    assert [a.value for a in params.drain()] == [3, 4, 5]  # the newest intent wins
    assert params.actions_dropped == 2
    assert params.drain() == []
    assert "unknown action 'explode'" in params.post("explode")
    assert {"preset", "tap", "record_toggle", "hud_toggle", "fullscreen_toggle", "quit",
            "seed_next", "seed_prev"} <= set(ACTIONS)


def test_concurrent_writers_lose_nothing():
    params = ParamStore({f"p{i}": ValueSpec(int, 0, min=0, max=10_000) for i in range(4)})

    def write(i: int) -> None:
        for value in range(1, 501):
            params.set(f"p{i}", value)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snapshot = params.snapshot()
    assert [snapshot[f"p{i}"] for i in range(4)] == [500] * 4
    assert snapshot.version == 1 + 4 * 500  # one for the definitions, one per change


def test_controller_settings_round_trip_through_the_store():
    custom = from_dict(ControllerSettings, {"reactivity": 0.5, "walk": {"seeds": [9, 8]},
                                            "pulse": {"trigger": "beat", "strength": 1.5}})
    params = ParamStore(controller_param_specs(custom))
    assert controller_settings(params.snapshot()) == custom
    assert set(values_of(ControllerSettings())) == set(params.specs())  # every field is live
    assert params.set("pulse.layers", "fine") is None
    assert controller_settings(params.snapshot()).pulse.layers == "fine"
    assert 'allowed one of "all", "coarse"' in params.set("pulse.layers", "toes")
    assert nested({"a.b": (1, 2), "a.c": 3, "d": 1}) == {"a": {"b": [1, 2], "c": 3}, "d": 1}


def test_store_rejects_a_bad_default():
    with pytest.raises(ValueError, match=r"param 'x' default = 5.0 is out of range"):
        ParamStore({"x": ValueSpec(float, 5.0, min=0.0, max=1.0)})
