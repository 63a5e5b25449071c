"""Two Ableton Link peers in one process, inside a private network namespace whose only
interface is loopback (Link discovers peers by multicast on every interface: the test must not
announce itself on a real network). Prints one JSON line; exit 77 = no namespace allowed here.

    python -m tests.visualizer.control.link_peers
"""

from __future__ import annotations

import ctypes
import dataclasses
import fcntl
import json
import os
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
IFF_UP = 0x1


def private_loopback_only() -> str | None:
    """Enter a new network namespace and bring its loopback up; the problem, or None."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))
    interfaces = [name for _, name in socket.if_nameindex()]
    return None if interfaces == ["lo"] else f"unexpected interfaces {interfaces}"


def main() -> int:
    problem = private_loopback_only()
    if problem is not None:
        print(json.dumps({"skip": problem}))
        return 77
    from visualizer.control.link import LinkClock, LinkLeader
    from visualizer.control.tempo import TempoOverride
    from visualizer.audio.frames import silent_frame

    leader, follower = LinkClock(bpm=120.0), LinkClock(bpm=120.0)
    # Discovery is a few multicast messages on Link's own threads; on a loaded 2-core machine
    # 10 s was once not enough (stop 34: peers [0, 0]), so wait longer: it ends when both see one.
    deadline = time.monotonic() + 30.0
    while (leader.peers == 0 or follower.peers == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    result = {"peers": [leader.peers, follower.peers]}
    leader.set_bpm(133.0)
    deadline = time.monotonic() + 5.0
    while abs(follower.position(time.monotonic())[0] - 133.0) > 0.01 and time.monotonic() < deadline:
        time.sleep(0.05)
    now = time.monotonic()
    (lead_bpm, lead_beats), (follow_bpm, follow_beats) = leader.position(now), follower.position(now)
    result.update(lead_bpm=lead_bpm, follow_bpm=follow_bpm, lead_beats=lead_beats,
                  follow_beats=follow_beats)
    frame = TempoOverride(follower)(silent_frame(t_audio=now, hop_index=0))
    result.update(frame_bpm=frame.bpm, frame_phase=frame.beat_phase)
    # Leading: a confident audio tempo goes to the session, and the other peer follows it.
    publisher = LinkLeader(leader, every_s=0.0)
    heard = silent_frame(t_audio=now, hop_index=1)
    publisher(dataclasses.replace(heard, bpm=97.0, bpm_confidence=0.9))
    deadline = time.monotonic() + 5.0
    while abs(follower.position(time.monotonic())[0] - 97.0) > 0.01 and time.monotonic() < deadline:
        time.sleep(0.05)
    result["led_bpm"] = follower.position(time.monotonic())[0]
    for taps_at in (0.0, 0.5, 1.0, 1.5):  # taps on the follower set the session's tempo: 120
        follower.tap(now + 10.0 + taps_at)
    deadline = time.monotonic() + 5.0
    while abs(leader.position(time.monotonic())[0] - 120.0) > 0.01 and time.monotonic() < deadline:
        time.sleep(0.05)
    result["tapped_bpm"] = leader.position(time.monotonic())[0]
    leader.close()
    follower.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
