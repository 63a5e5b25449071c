"""A free loopback port for a server a benchmark or test starts in another process."""

from __future__ import annotations

import socket


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that nothing holds now: TCP by default, ``socket.SOCK_DGRAM`` for UDP
    (OSC). Another process may take it before the server binds; on loopback that is rare."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
