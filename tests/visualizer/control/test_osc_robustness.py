"""10,000 bad datagrams over real UDP: the server keeps running, every problem is ignored and
logged once (then counted), and good messages still land."""

from __future__ import annotations

import logging
import random
import struct
import time

import pytest

from tests.visualizer.control.osc_helpers import Client, Served, message, near, show_params

pytestmark = pytest.mark.timeout(180)


def bad_datagrams(count: int, *, seed: int = 0) -> list[bytes]:
    """A known mix: random bytes, truncated and corrupted messages, wrong types and counts,
    unknown addresses, out-of-range values, broken bundles."""
    rng = random.Random(seed)
    good = message("/gm/intensity", 0.5)

    def address_rot() -> bytes:  # flipped bits in the address: never another address
        data = bytearray(good)
        for position in rng.sample(range(1, 13), rng.randint(1, 4)):
            data[position] ^= 1 << rng.randint(0, 6)
        return bytes(data)

    makers = [
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200))),
        # Truncated inside the address or type tags (python-osc pads a short *value*, as some
        # senders omit its trailing zeros: that one is a valid message).
        lambda: good[:rng.randint(1, 16)],
        address_rot,
        lambda: b"/gm/intensity\x00\x00\x00,Q\x00\x00" + b"\x00" * 8,  # an unknown type tag
        lambda: b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", 10_000) + b"/gm",
        lambda: message("/gm/intensity", "loud"),  # wrong type
        lambda: message("/gm/intensity", 0.1, 0.2),  # wrong count
        lambda: message("/gm/intensity"),
        lambda: message("/gm/intensity", rng.uniform(1.01, 1e9)),  # out of range
        lambda: message("/gm/seed", 2.5),
        lambda: message("/gm/preset", 99),
        lambda: message("/gm/bpm", -3.0),
        lambda: message("/gm/fx/zoom/twist", 99.0),
        lambda: message(f"/gm/nope/{rng.randint(0, 10**9)}", 1),  # unknown addresses
        lambda: message("/gm/subscribe", "port"),
        lambda: message("/" + "x" * rng.randint(1, 400), 1.0),
    ]
    return [rng.choice(makers)() for _ in range(count)]


def test_ten_thousand_bad_datagrams_are_ignored_and_logged_once(caplog):
    served = Served(show_params())
    client = Client(served.address)
    try:
        before = served.params.snapshot()
        datagrams = bad_datagrams(10_000)
        with caplog.at_level(logging.WARNING):
            for i, datagram in enumerate(datagrams):
                client.send_raw(datagram)
                if i % 200 == 199:
                    time.sleep(0.005)  # a steady flood, not a burst that overflows the kernel
            deadline = time.monotonic() + 20.0
            while served.server.received < len(datagrams) and time.monotonic() < deadline:
                time.sleep(0.05)
            client.send("/gm/subscribe", client.port)
            client.send("/gm/intensity", 0.25)  # still alive: a good message lands
            assert client.wait_for("/gm/state/intensity", near(0.25), timeout_s=10.0) is not None
        assert served.server.received >= len(datagrams)
        changed = {name for name in before if served.params.get(name) != before[name]}
        assert changed == {"master.intensity"}  # nothing bad got through
        assert served.params.drain() == []  # no action either (preset 99, bpm -3 were refused)
        problems = served.server.problems
        assert problems.total >= len(datagrams) - 10  # every one counted (a few parse as valid)
        lines = [r.getMessage() for r in caplog.records if r.name == "visualizer.control.routes"]
        firsts = [line for line in lines if "(ignored; repeats are counted" in line]
        assert len(firsts) == len(set(firsts))  # each problem logged once...
        assert len(lines) <= problems.max_keys + 40  # ...and the flood did not flood the log
        assert any("unknown address /gm/nope" in line for line in firsts)
        assert any("/gm/intensity 'loud'" in line for line in firsts)
        assert any("is out of range" in line for line in firsts)
        assert any("malformed datagram" in line or "is not OSC" in line for line in firsts)
        assert served.params.last_error == ""  # the store never saw a bad value
    finally:
        client.close()
        served.close()
