"""NDI in: which source a name means, and a receiver on loopback that gets a known picture, says
once when its source is gone and takes it back when it returns."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.visualizer.ndi.senders import BLUE, RED, PatternSender, halves, shows_halves, wait_for
from visualizer.ndi.receiver import NdiReceiver, pick_source

SOURCES = ["STAGE (cam 2)", "STAGE (cam)", "BOOTH (Resolume Arena)", "BOOTH (cam backup)"]


@pytest.mark.parametrize("wanted, expected", [
    ("STAGE (cam)", "STAGE (cam)"),  # the full name
    ("cam", "STAGE (cam)"),  # the NAME part, exactly, beats names that merely contain it
    ("CAM 2", "STAGE (cam 2)"),  # case ignored
    ("resolume", "BOOTH (Resolume Arena)"),  # part of a name
    ("backup", "BOOTH (cam backup)"),
    ("STAGE", "STAGE (cam 2)"),  # several contain it: the first by name, every time
    ("projector", None),
])
def test_a_name_picks_the_source_it_means(wanted, expected):
    assert pick_source(SOURCES, wanted) == expected
    assert pick_source(list(reversed(SOURCES)), wanted) == expected


class Problems:
    """Collects on_problem messages from the receiver's thread."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        with self._lock:
            self.messages.append(message)

    def saying(self, text: str) -> list[str]:
        with self._lock:
            return [m for m in self.messages if text in m]


def test_the_receiver_gets_the_picture_then_says_once_that_it_is_gone_and_takes_it_back(ndi):
    problems = Problems()
    sender = PatternSender(ndi, "gm-rx-return", halves()).start()
    receiver = NdiReceiver("gm-rx-return", on_problem=problems, lost_s=0.5)
    receiver.start()
    try:
        assert wait_for(lambda: receiver.latest.get() is not None, timeout_s=10.0)
        frame = receiver.latest.get()
        assert frame.pixels.shape == (72, 128, 4) and frame.pixels.dtype == np.uint8
        assert shows_halves(frame.pixels) and np.all(frame.pixels[..., 3] == 255)
        assert frame.source.endswith("(gm-rx-return)") and receiver.status == "receiving"
        assert frame.pixels.flags.writeable and frame.pixels.flags.owndata  # ours, not NDI's buffer

        sender.stop()
        assert wait_for(lambda: receiver.status == "lost", timeout_s=10.0)
        assert receiver.latest.get() is None  # the show mixes nothing in meanwhile
        assert wait_for(lambda: problems.saying("is gone"), timeout_s=2.0)
        frames_before = receiver.frames

        sender.image = halves(left=BLUE, right=RED)
        sender.start()
        assert wait_for(lambda: receiver.latest.get() is not None, timeout_s=15.0)
        assert receiver.frames > frames_before and receiver.status == "receiving"
        assert shows_halves(receiver.latest.get().pixels, BLUE, RED)
        assert len(problems.saying("is gone")) == 1 and receiver.losses == 1
    finally:
        receiver.close()
        sender.stop()


def test_a_source_that_is_not_there_is_reported_once_and_still_looked_for(ndi):
    problems = Problems()
    receiver = NdiReceiver("gm-rx-nobody", on_problem=problems, not_found_s=0.3)
    receiver.start()
    try:
        assert wait_for(lambda: problems.saying("gm-rx-nobody"), timeout_s=5.0)
        assert problems.saying("still looking")[0].startswith(
            "NDI in: no source named like 'gm-rx-nobody' (seen: ")
        sender = PatternSender(ndi, "gm-rx-nobody", halves()).start()
        try:
            assert wait_for(lambda: receiver.latest.get() is not None, timeout_s=10.0)
            assert len(problems.messages) == 1
        finally:
            sender.stop()
    finally:
        receiver.close()


def test_an_rgbx_source_is_opaque_and_an_rgba_source_keeps_its_alpha(ndi):
    padded = halves()
    padded[..., 3] = 0  # RGBX: the fourth byte is padding, whatever it holds
    keyed = halves()
    keyed[:, :64, 3] = 0  # RGBA: the left half transparent
    for name, image, fourcc in (("gm-rx-rgbx", padded, "RGBX"), ("gm-rx-rgba", keyed, "RGBA")):
        sender = PatternSender(ndi, name, image, fourcc=fourcc).start()
        receiver = NdiReceiver(name, on_problem=lambda message: None)
        receiver.start()
        try:
            assert wait_for(lambda: receiver.latest.get() is not None, timeout_s=10.0), name
            alpha = receiver.latest.get().pixels[..., 3].astype(int)
        finally:
            receiver.close()
            sender.stop()
        if fourcc == "RGBX":
            assert np.all(alpha == 255)
        else:
            assert alpha[:, 8:56].max() <= 16 and alpha[:, 72:120].min() >= 239


def test_without_the_extra_the_receiver_is_not_made(monkeypatch):
    from visualizer.ndi import receiver, runtime

    def missing():
        raise runtime.NdiUnavailable("NDI needs the optional extra: " + runtime.INSTALL_HINT)

    monkeypatch.setattr(receiver, "load_ndi", missing)
    with pytest.raises(runtime.NdiUnavailable, match=r"gansmania\[ndi\]"):
        NdiReceiver("cam", on_problem=print)
    with pytest.raises(ValueError, match="source name"):
        NdiReceiver("  ", on_problem=print)


def test_when_another_matching_source_appears_after_a_loss_the_receiver_follows_it(ndi):
    # NDI reconnects by itself only to the same source: the spare camera is found by discovery.
    problems = Problems()
    first = PatternSender(ndi, "gm-rx-move main", halves()).start()
    receiver = NdiReceiver("gm-rx-move", on_problem=problems, lost_s=0.5)
    receiver.start()
    spare = PatternSender(ndi, "gm-rx-move spare", halves(left=BLUE, right=RED))
    try:
        assert wait_for(lambda: receiver.status == "receiving", timeout_s=10.0)
        assert receiver.source_name.endswith("(gm-rx-move main)")
        first.stop()
        assert wait_for(lambda: receiver.status == "lost", timeout_s=10.0)
        spare.start()
        assert wait_for(lambda: receiver.latest.get() is not None, timeout_s=15.0)
        assert receiver.source_name.endswith("(gm-rx-move spare)")
        assert shows_halves(receiver.latest.get().pixels, BLUE, RED)
    finally:
        receiver.close()
        first.stop()
        spare.stop()
