"""NDI on loopback: the runtime asks 127.0.0.1 directly, so tests find their own sources without
mDNS (containers and CI often have no multicast)."""

from __future__ import annotations

import os

import pytest

from visualizer.ndi.runtime import ndi_config_text


@pytest.fixture(scope="session")
def ndi(tmp_path_factory):
    """The initialised NDIlib module, set up for loopback discovery (skips without the extra)."""
    pytest.importorskip("NDIlib", reason="the [ndi] extra (ndi-python) is not installed")
    from visualizer.ndi.runtime import load_ndi

    folder = tmp_path_factory.mktemp("ndi-config")
    (folder / "ndi-config.v1.json").write_text(ndi_config_text(ips=("127.0.0.1",)))
    os.environ["NDI_CONFIG_DIR"] = str(folder)  # read when the runtime initialises: before load
    return load_ndi()
