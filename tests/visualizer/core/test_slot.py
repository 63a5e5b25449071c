"""LatestSlot: newest value wins, versions count puts, a waiting reader wakes on a put."""

import threading
import time

from visualizer.core.slot import LatestSlot


def test_get_returns_the_newest_value_and_versions_count_puts():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.get() is None and slot.version == 0
    slot.put(1)
    slot.put(2)
    assert slot.get() == 2
    assert slot.get_with_version() == (2, 2)


def test_wait_newer_wakes_when_a_value_arrives():
    slot: LatestSlot[str] = LatestSlot()
    threading.Timer(0.05, slot.put, args=("frame",)).start()
    value, version = slot.wait_newer(0, timeout_s=5.0)
    assert (value, version) == ("frame", 1)


def test_wait_newer_times_out_with_the_current_value():
    slot: LatestSlot[str] = LatestSlot()
    slot.put("old")
    started = time.monotonic()
    assert slot.wait_newer(1, timeout_s=0.05) == ("old", 1)
    assert time.monotonic() - started >= 0.04
