"""The NDI runtime, loaded on first use: a clear message when the `[ndi]` extra is missing, one
initialisation per process, and source discovery.

NDI finds sources by mDNS on the LAN. Where multicast does not reach (a container, a VPN, a venue
network that filters it), NDI's own config file lists addresses to ask directly: see
``ndi_config_text``; `NDI_CONFIG_DIR` points the runtime at its folder.
"""

from __future__ import annotations

import json
import threading
import time
from types import ModuleType

from visualizer.core.errors import GansmaniaError

INSTALL_HINT = "pip install 'gansmania[ndi]' (ndi-python, whose wheel ships the NDI runtime)"

_lock = threading.Lock()
_module: ModuleType | None = None


class NdiUnavailable(GansmaniaError):
    """The NDI binding is not installed or its runtime does not start."""


def load_ndi() -> ModuleType:
    """The initialised ``NDIlib`` module; NdiUnavailable (one line, with the fix) otherwise."""
    global _module
    with _lock:
        if _module is None:
            try:
                import NDIlib
            except ImportError:
                raise NdiUnavailable(f"NDI needs the optional extra: {INSTALL_HINT}") from None
            if not NDIlib.initialize():
                raise NdiUnavailable("the NDI runtime did not start (this CPU lacks SSE4.2, or "
                                     "the runtime in ndi-python's wheel is damaged)")
            _module = NDIlib
        return _module


def find_sources(*, wait_s: float = 2.0) -> list[str]:
    """Names ("MACHINE (NAME)") of the NDI sources seen within ``wait_s`` seconds, sorted."""
    ndi = load_ndi()
    finder = ndi.find_create_v2()
    if finder is None:
        raise NdiUnavailable("NDI could not start looking for sources")
    try:
        deadline = time.monotonic() + wait_s
        names: set[str] = set()
        while (left := deadline - time.monotonic()) > 0:
            ndi.find_wait_for_sources(finder, max(1, int(min(left, 0.5) * 1000)))
            names.update(source.ndi_name for source in ndi.find_get_current_sources(finder))
        return sorted(names)
    finally:
        ndi.find_destroy(finder)


def ndi_config_text(*, ips: tuple[str, ...]) -> str:
    """An ``ndi-config.v1.json`` that also asks ``ips`` directly for sources (no mDNS needed)."""
    return json.dumps({"ndi": {"networks": {"ips": ",".join(ips), "discovery": ""}}}, indent=2)
