"""The remote's address for a phone: this computer's LAN address in place of a wildcard host,
and that address as a QR code (segno: pure Python, no image libraries) for the terminal and
the HUD, so nobody types a token on a phone in the dark."""

from __future__ import annotations

import io
import socket

WILDCARDS = ("0.0.0.0", "::")


def lan_address() -> str | None:
    """This computer's IPv4 address on its default route; None when it has none (offline).
    Connecting a UDP socket only asks the kernel for a route: no packet is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never a real host
            return probe.getsockname()[0]
        except OSError:
            return None


def phone_host(host: str) -> str:
    """The host a phone should open: ``host`` itself unless it is a wildcard (every interface)."""
    return (lan_address() or host) if host in WILDCARDS else host


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """``text`` as QR modules, True = dark, rows of equal length, with the 4-module quiet zone
    that scanners need."""
    import segno

    code = segno.make(text, micro=False)
    return tuple(tuple(bool(dark) for dark in row) for row in code.matrix_iter(scale=1, border=4))


def terminal_qr(text: str) -> str:
    """``text`` as a QR code in half-block characters (two module rows per text row), drawn
    light on dark, as scanners read it from a dark terminal."""
    import segno

    out = io.StringIO()
    segno.make(text, micro=False).terminal(out=out, compact=True)
    return out.getvalue().rstrip("\n")
