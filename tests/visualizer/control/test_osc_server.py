"""The OSC server over real UDP on loopback: addresses read back through the state feed,
bundles in time-tag order, the allow-list, subscriptions."""

from __future__ import annotations

import time

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from tests.visualizer.control.osc_helpers import Client, Served, near, show_params
from visualizer.control.osc_feedback import OscFeed, pack_bundles
from visualizer.control.routes import build_routes, state_address
from visualizer.core.errors import GansmaniaError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def served():
    server = Served(show_params(), status=lambda: {"preset": "drift", "recording": False})
    yield server
    server.close()


@pytest.fixture
def client(served):
    client = Client(served.address)
    yield client
    client.close()


def _value_for(spec):
    """A valid value for ``spec`` that differs from its default (a known answer to read back)."""
    if spec.kind == "bool":
        return not spec.default
    if spec.choices:
        return next(c for c in spec.choices if c != spec.default)
    if spec.kind == "str":  # free text, e.g. a direction's name
        return spec.default + "x"
    if spec.kind.startswith("tuple"):
        # Seeds (tuple[int], or tuple[int | str] where keyframe files may stand among them).
        return tuple(int(spec.min) + i + 1 for i in range(2)) if spec.kind.startswith("tuple[int") \
            else (0.5, 0.25)
    lo = spec.min if spec.min is not None else spec.default - 10
    hi = spec.max if spec.max is not None else spec.default + 10
    value = lo + (hi - lo) * 0.375
    if spec.kind == "int":
        value = int(round(value)) if int(round(value)) != spec.default else int(round(value)) + 1
    return value


def _osc_args(value):
    if isinstance(value, tuple):
        return list(value)
    return [int(value) if isinstance(value, bool) else value]


def test_every_parameter_address_reads_back_through_the_feed(served, client):
    client.send("/gm/subscribe", client.port)
    assert client.wait_for("/gm/state/preset", lambda args: args == ["drift"]) is not None
    assert client.wait_for("/gm/state/recording", lambda args: args == [0]) is not None
    missing = []
    canonical = served.table.canonical()
    for name, address in canonical.items():
        spec = served.params.spec(name)
        value = _value_for(spec)
        client.send(address, *_osc_args(value))
        expected = _osc_args(value)

        def same(args, expected=expected):
            return len(args) == len(expected) and all(
                (abs(a - e) <= 1e-3 * max(1.0, abs(e))) if isinstance(e, float) else a == e
                for a, e in zip(args, expected))

        if client.wait_for(state_address(address), same) is None:
            missing.append((address, value, client.state.get(state_address(address))))
    assert missing == []
    assert len(canonical) == len(served.params.specs())  # all of them


def test_feedback_follows_changes_made_elsewhere_and_is_rate_limited(served, client):
    client.send("/gm/subscribe", client.port)
    assert client.wait_for("/gm/state/intensity", near(1.0)) is not None
    start = time.monotonic()
    for i in range(1, 401):  # another surface sweeps a fader: 400 changes in ~0.4 s
        served.params.set("master.intensity", i / 400, source="web")
        time.sleep(0.001)
    elapsed = time.monotonic() - start
    assert client.wait_for("/gm/state/intensity", near(1.0)) is not None  # the last one arrives
    time.sleep(0.2)
    updates = [t for t, address, _ in client.received if address == "/gm/state/intensity"]
    # Coalesced to the feed's rate (30 Hz), not one datagram per change.
    assert 2 <= len(updates) <= 30 * (elapsed + 0.3) + 3
    client.send("/gm/unsubscribe", client.port)
    time.sleep(0.2)
    count = len(client.received)
    served.params.set("master.intensity", 0.5, source="web")
    time.sleep(0.3)
    assert len(client.received) == count  # no more feedback


def test_state_request_answers_once_without_subscribing(served, client):
    client.send("/gm/state", client.port)
    assert client.wait_for("/gm/state/map/pulse/strength", near(0.6)) is not None
    assert served.feed.subscribers == []


def test_subscriptions_expire_unless_renewed():
    params = show_params()
    sent = []
    now = [0.0]
    feed = OscFeed(build_routes(params), params, send=lambda d, a: sent.append(a),
                     expire_s=10.0, clock=lambda: now[0])
    assert feed.subscribe(("127.0.0.1", 5000), [6000]) is None
    assert feed.subscribe(("127.0.0.1", 5000), []) is None  # reply to the sending port
    assert feed.subscribe(("127.0.0.1", 5000), ["x"]).startswith("wants no argument or a port")
    feed.send_once()
    assert {a for a in sent} == {("127.0.0.1", 6000), ("127.0.0.1", 5000)}
    now[0] = 8.0
    feed.renew(("127.0.0.1", 40000))  # any message from the host renews both
    now[0] = 15.0
    feed.send_once()
    assert len(feed.subscribers) == 2
    now[0] = 30.0
    feed.send_once()
    assert feed.subscribers == []
    feed.close()


def test_feedback_bundles_fit_one_ethernet_frame():
    messages = [(f"/gm/state/fx/pass{i}/param", [0.5]) for i in range(200)]
    datagrams = pack_bundles(messages)
    assert len(datagrams) > 1 and all(len(d) <= 1400 for d in datagrams)


def _bundle(at_s, *messages):
    builder = OscBundleBuilder(at_s)
    for address, value in messages:
        message = OscMessageBuilder(address)
        message.add_arg(value)
        builder.add_content(message.build())
    return builder


def test_bundles_apply_in_time_tag_order_at_their_time(served, client):
    applied = []
    served.params.add_listener(lambda e: e.name == "master.intensity"
                               and applied.append((time.monotonic(), round(e.value, 3))))
    sent = time.monotonic()
    wall = time.time()
    late = _bundle(wall + 0.6, ("/gm/intensity", 0.1))
    early = _bundle(wall + 0.3, ("/gm/intensity", 0.2), ("/gm/intensity", 0.3))
    nested = _bundle(IMMEDIATELY)
    nested.add_content(_bundle(wall - 5.0, ("/gm/intensity", 0.9)).build())  # past: now
    client.send_raw(late.build().dgram)
    client.send_raw(early.build().dgram)
    client.send_raw(nested.build().dgram)
    deadline = time.monotonic() + 5.0
    while len(applied) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [value for _, value in applied] == [0.9, 0.2, 0.3, 0.1]
    times = [t - sent for t, _ in applied]
    assert times[0] < 0.25 and times[1] >= 0.29 and times[3] >= 0.59


def test_bundles_too_far_ahead_are_refused(served, client, caplog):
    client.send_raw(_bundle(time.time() + 3600, ("/gm/intensity", 0.1)).build().dgram)
    client.send("/gm/intensity", 0.5)
    deadline = time.monotonic() + 3.0
    while served.params.get("master.intensity") != 0.5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served.server.scheduler.pending == 0
    assert served.params.get("master.intensity") == 0.5  # the server went on
    assert any("bundle time tag 3600 s ahead (at most 60 s)" in r.getMessage()
               for r in caplog.records)


def test_datagrams_from_outside_the_allow_list_are_ignored():
    served = Served(show_params(), allow=("127.0.0.2",))
    stranger, friend = Client(served.address), Client(served.address, host="127.0.0.2")
    try:
        stranger.send("/gm/intensity", 0.25)
        friend.send("/gm/truncation", 0.5)
        deadline = time.monotonic() + 3.0
        while served.params.get("master.truncation") != 0.5 and time.monotonic() < deadline:
            time.sleep(0.01)
        stranger.send("/gm/subscribe", stranger.port)
        time.sleep(0.3)
        assert served.params.get("master.truncation") == 0.5
        assert served.params.get("master.intensity") == 1.0
        assert served.server.refused == 2 and stranger.received == []
    finally:
        stranger.close()
        friend.close()
        served.close()


def test_a_bad_allow_entry_or_a_busy_port_is_one_line():
    from visualizer.control.osc import Listen, OscServer

    table = build_routes(show_params())
    with pytest.raises(GansmaniaError, match="--osc-allow 'lan': not an IP address or network"):
        OscServer(table, Listen("127.0.0.1", 0, ("lan",)))
    first = OscServer(table, Listen("127.0.0.1", 0))
    try:
        with pytest.raises(GansmaniaError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            OscServer(table, Listen("127.0.0.1", first.port))
    finally:
        first.close()


def test_address_patterns_reach_every_matching_route(served, client):
    client.send("/gm/map/*/strength", 0.0)
    deadline = time.monotonic() + 3.0
    while served.params.get("fx.gain") != 0.0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [served.params.get(n) for n in ("pulse.strength", "chroma.strength", "jitter.strength",
                                           "noise.bass", "fx.gain")] == [0.0] * 5
