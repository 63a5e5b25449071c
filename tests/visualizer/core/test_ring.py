"""RingBuffer (samples) and History (objects): order, wrap-around, overrun, threads."""

import threading
import time

import numpy as np
import pytest

from visualizer.core.ring import History, RingBuffer


def ramp(start: int, n: int, channels: int = 1) -> np.ndarray:
    values = np.arange(start, start + n, dtype=np.float32)
    return np.repeat(values[:, None], channels, axis=1) + np.arange(channels) * 1000


def test_reads_come_back_in_order_across_the_wrap():
    ring = RingBuffer(capacity=10, channels=2)
    out = np.zeros((4, 2), dtype=np.float32)
    written = 0
    expected = 0
    for _ in range(20):
        ring.write(ramp(written, 3, 2))
        written += 3
        while ring.read(out):
            np.testing.assert_array_equal(out, ramp(expected, 4, 2))
            expected += 4
    assert ring.overruns == 0
    assert ring.read_position == expected


def test_read_waits_for_a_full_block():
    ring = RingBuffer(capacity=8)
    ring.write(ramp(0, 3)[:, 0])
    out = np.zeros((4, 1), dtype=np.float32)
    assert not ring.read(out)
    assert ring.available == 3
    ring.write(ramp(3, 1)[:, 0])
    assert ring.read(out)
    np.testing.assert_array_equal(out[:, 0], [0, 1, 2, 3])


def test_a_slow_reader_skips_to_the_oldest_intact_audio():
    ring = RingBuffer(capacity=8)
    ring.write(ramp(0, 20)[:, 0])  # more than the capacity: only the newest 8 survive
    out = np.zeros((4, 1), dtype=np.float32)
    assert ring.read(out)
    np.testing.assert_array_equal(out[:, 0], [12, 13, 14, 15])
    assert ring.overruns == 1
    assert ring.read_position == 16


def test_concurrent_writer_and_reader_see_a_continuous_stream():
    ring = RingBuffer(capacity=65536)
    total = 1024 * 100

    def produce():
        for start in range(0, total, 1024):
            ring.write(ramp(start, 1024)[:, 0])
            time.sleep(0.002)  # about ten times real time at 48 kHz

    out = np.zeros((256, 1), dtype=np.float32)
    seen = []
    writer = threading.Thread(target=produce)
    writer.start()
    while writer.is_alive() or ring.available >= 256:
        if ring.read(out):
            seen.append(out[:, 0].copy())
    writer.join()
    assert ring.overruns == 0
    np.testing.assert_array_equal(np.concatenate(seen), np.arange(total, dtype=np.float32))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        RingBuffer(capacity=0)
    with pytest.raises(ValueError):
        History(0)


def test_history_keeps_the_newest_items_oldest_first():
    history = History(3)
    assert history.snapshot() == []
    history.extend(range(5))
    assert history.snapshot() == [2, 3, 4]
    assert history.snapshot(last=2) == [3, 4]
    assert len(history) == 3
