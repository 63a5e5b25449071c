"""The NDI runtime: discovery on loopback, and the one-line message without the extra."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from visualizer.ndi import runtime


def test_a_source_on_this_machine_is_found(ndi):
    sender = ndi.send_create(ndi.SendCreate(p_ndi_name="gm-find-me", clock_video=False))
    try:
        frame = ndi.VideoFrameV2()
        frame.data = np.zeros((16, 16, 4), np.uint8)
        frame.FourCC = ndi.FOURCC_VIDEO_TYPE_RGBX
        ndi.send_send_video_v2(sender, frame)
        assert any(name.endswith("(gm-find-me)") for name in runtime.find_sources(wait_s=2.0))
    finally:
        ndi.send_destroy(sender)


def test_without_the_extra_the_message_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_ndi(name, *args, **kwargs):
        if name == "NDIlib":
            raise ImportError("No module named 'NDIlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(runtime, "_module", None)
    monkeypatch.setattr(builtins, "__import__", no_ndi)
    with pytest.raises(runtime.NdiUnavailable, match=r"gansmania\[ndi\]"):
        runtime.load_ndi()


def test_devices_lists_the_sources_on_the_network(ndi):
    import json
    import subprocess
    import sys

    sender = ndi.send_create(ndi.SendCreate(p_ndi_name="gm-listed", clock_video=False))
    try:
        command = [sys.executable, "-m", "visualizer.cli", "devices", "--ndi-wait", "2"]
        listed = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True,
                                           timeout=120, check=True).stdout)
        assert any(name.endswith("(gm-listed)") for name in listed["ndi_sources"])
        skipped = subprocess.run([*command[:-1], "0"], capture_output=True, text=True, timeout=120)
        assert "NDI sources: not looked for" in skipped.stdout
    finally:
        ndi.send_destroy(sender)
