"""Where a live stream goes: ``srt://`` and ``udp://`` addresses, checked, and the sinks that carry
the stream's MPEG-TS bytes there.

PyAV muxes the stream into a sink (a file-like object, as it does a recording's file) in chunks
of at most :data:`PAYLOAD` bytes: 7 whole TS packets, one UDP datagram or one SRT payload.

- ``udp://HOST:PORT[?ttl=N]``: a UDP socket of our own (unicast, multicast or broadcast).
- ``srt://HOST:PORT[?mode=caller|listener&...]``: the ``ffmpeg`` program as a byte relay (``-f
  data``: no demuxing, no re-encoding) fed through a pipe; the address, with its SRT options
  (latency, passphrase...), is FFmpeg's. Why not FFmpeg's srt protocol inside PyAV: PyPI's PyAV
  wheels are built without libsrt, and PyAV opens an output URL holding the GIL, so an SRT
  handshake (seconds, for a caller nobody answers) would stall the render loop with it.

Opening an SRT sink waits (on the encoder's thread) until the relay is connected, so the stream
starts on a keyframe. Once it runs, the UDP socket never waits (a datagram it cannot take now is
dropped and counted, as the network would drop it); a write to the relay's pipe waits at most
``STALL_S``: a link that takes nothing for longer is given up. A relay that exits (no
listener answered, the connection dropped, the caller left) makes the next write raise
ConnectionError with the reason it printed.
"""

from __future__ import annotations

import functools
import logging
import os
import select
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

PAYLOAD = 1316  # bytes a datagram / SRT payload carries: 7 MPEG-TS packets of 188
SRT_MODES = ("caller", "listener")
UDP_OPTIONS = ("ttl",)
ALLOWED = "srt://HOST:PORT[?mode=caller|listener&...] or udp://HOST:PORT[?ttl=N]"
RELAY_EXIT_WAIT_S = 2.0  # a closed relay sends what it holds and ends within this, or is killed
CONNECT_POLL_S = 0.05  # how often waiting for a connection looks at the relay and the stop flag
STALL_S = 1.0  # a relay whose link takes nothing for this long has lost it
CONNECTED = "[info] Output #0, "  # what ffmpeg prints (at -loglevel level+info) once it is connected
# Seven MPEG-TS null packets (PID 0x1FFF), which every receiver skips: they make the relay open
# its input, and so connect, before the stream's first real bytes exist.
NULL_PACKETS = (bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184) * 7


class StreamCancelled(Exception):
    """The stream was stopped before its connection came up (not a failure)."""


@dataclass(frozen=True)
class NetworkTarget:
    """A checked stream address (see :func:`parse_stream_url`) and the video rate of its link."""

    url: str  # as given
    scheme: str  # "srt" or "udp"
    host: str  # "" = every interface (an SRT listener)
    port: int
    options: tuple[tuple[str, str], ...] = ()  # the ?key=value pairs, in order
    video_kbps: int = 4000  # H.264 bit rate, kbit/s

    @property
    def mode(self) -> str:
        """SRT's connection mode ("caller" unless the address says otherwise); "" for UDP."""
        if self.scheme != "srt":
            return ""
        return dict(self.options).get("mode", "caller")


def parse_stream_url(url: str, *, video_kbps: int = 4000, what: str = "--stream") -> NetworkTarget:
    """``url`` checked; GansmaniaError (one line naming ``what``, the value and what is allowed)
    for anything but ``srt://HOST:PORT[?mode=caller|listener...]`` or ``udp://HOST:PORT``.
    Nothing is resolved or opened here."""

    def bad(why: str) -> GansmaniaError:
        return GansmaniaError(f"{what} {url!r}: {why}; allowed: {ALLOWED}")

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or out of range
        raise bad(str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("srt", "udp") or not parts.netloc:
        raise bad("not a stream address")
    if port is None or port == 0:
        raise bad("no port")
    if parts.path not in ("", "/") or parts.fragment:
        raise bad(f"unexpected {parts.path or '#' + parts.fragment!r} after the port")
    try:
        options = tuple(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise bad(f"unreadable options {parts.query!r}") from None
    host = parts.hostname or ""
    target = NetworkTarget(url=url.strip(), scheme=scheme, host=host, port=port, options=options,
                           video_kbps=video_kbps)
    if scheme == "srt":
        if target.mode not in SRT_MODES:
            raise bad(f"mode={target.mode} is not one of {', '.join(SRT_MODES)}")
        if not host and target.mode == "caller":
            raise bad("a caller needs the host to call")
        return target
    unknown = [key for key, _ in options if key not in UDP_OPTIONS]
    if unknown:
        raise bad(f"unknown UDP option {unknown[0]!r} (UDP takes: {', '.join(UDP_OPTIONS)})")
    ttl = dict(options).get("ttl")
    if ttl is not None and not (ttl.isdigit() and 1 <= int(ttl) <= 255):
        raise bad(f"ttl={ttl} is not 1..255")
    if not host:
        raise bad("no host to send to")
    return target


def check_stream_url(target: NetworkTarget, *, what: str = "--stream") -> None:
    """What this machine needs to send to ``target``, there before the show starts:
    GansmaniaError (one line) when it is missing."""
    if target.scheme == "srt" and srt_relay_program() is None:
        raise GansmaniaError(
            f"{what} {target.url}: SRT is sent through the ffmpeg program built with libsrt, and "
            "none is installed here (Debian/Ubuntu: apt install ffmpeg); udp://HOST:PORT needs "
            "nothing")


@functools.cache
def srt_relay_program() -> str | None:
    """The ``ffmpeg`` program when it can write SRT (cached per process), else None."""
    program = shutil.which("ffmpeg")
    if program is None:
        return None
    try:
        listed = subprocess.run([program, "-hide_banner", "-protocols"], capture_output=True,
                                text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("%s -protocols: %s", program, exc)
        return None
    output = listed.partition("Output:")[2]
    return program if "srt" in output.split() else None


def open_sink(target: NetworkTarget, *,
              cancelled: threading.Event | None = None) -> UdpSink | SrtRelaySink:
    """A sink sending to ``target``, connected (OSError when it cannot be opened or connected;
    StreamCancelled when ``cancelled`` is set while an SRT connection is awaited). Blocks for a
    name look-up or for the connection: call it from the encoder's thread."""
    if target.scheme == "udp":
        return UdpSink(target)
    program = srt_relay_program()
    if program is None:
        check_stream_url(target)
    return SrtRelaySink(target, program=program, cancelled=cancelled)


class UdpSink:
    """MPEG-TS to a UDP address, one datagram per chunk; see the module docstring."""

    def __init__(self, target: NetworkTarget) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(
            target.host, target.port, type=socket.SOCK_DGRAM)[0]
        self.address = address
        self.socket = socket.socket(family, kind, proto)
        self.socket.setblocking(False)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        ttl = dict(target.options).get("ttl")
        if ttl is not None and family == socket.AF_INET:
            self.socket.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, int(ttl))
            self.socket.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(ttl))
        self.dropped = 0  # chunks the socket could not take

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        for start in range(0, len(view), PAYLOAD):
            try:
                self.socket.sendto(view[start:start + PAYLOAD], self.address)
            except BlockingIOError:
                self.dropped += 1
        return len(data)

    def close(self) -> None:
        self.socket.close()


class SrtRelaySink:
    """MPEG-TS to an SRT address through an ``ffmpeg`` relay; see the module docstring.

    Opening it waits until the relay has a connection (a caller: the listener answered; a
    listener: a caller came), so the stream's first bytes are its first keyframe: a receiver
    never starts in the middle of a picture.
    """

    def __init__(self, target: NetworkTarget, *, program: str,
                 cancelled: threading.Event | None = None) -> None:
        """Start the relay and wait for its connection (StreamCancelled when ``cancelled`` is
        set first; ConnectionError, with the relay's reason, when it gives up)."""
        self.target = target
        self.process = subprocess.Popen(
            [program, "-hide_banner", "-nostats", "-loglevel", "level+info",
             "-f", "data", "-raw_packet_size", str(PAYLOAD), "-i", "pipe:0",
             "-map", "0", "-c", "copy", "-f", "data", target.url],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.dropped = 0  # the pipe never drops: a stalled link is an error (see write)
        self._errors: list[str] = []  # what the relay said went wrong, first first
        self._connected = threading.Event()
        self._log = threading.Thread(target=self._read_log, name="srt-relay-log", daemon=True)
        self._log.start()
        self._fd = self.process.stdin.fileno()
        os.set_blocking(self._fd, False)
        try:
            # The relay opens its input on the first bytes, and only then connects.
            os.write(self._fd, NULL_PACKETS)
            while not self._connected.wait(CONNECT_POLL_S):
                if self.process.poll() is not None:
                    raise ConnectionError(self._why_it_ended())
                if cancelled is not None and cancelled.is_set():
                    raise StreamCancelled(f"{target.url}: stopped before it connected")
        except BaseException:
            self.close()
            raise

    def _read_log(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").strip()
            if line.startswith(CONNECTED):
                self._connected.set()
            elif "[error]" in line and len(self._errors) < 20:
                self._errors.append(line.split("[error]", 1)[1].strip())

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        for start in range(0, len(view), PAYLOAD):
            # At most PAYLOAD (< PIPE_BUF) bytes: the pipe takes all of it or none.
            self._write(view[start:start + PAYLOAD])
        return len(data)

    def _write(self, piece: memoryview) -> None:
        deadline = None
        while True:
            try:
                os.write(self._fd, piece)
                return
            except BrokenPipeError:
                raise ConnectionError(self._why_it_ended()) from None
            except BlockingIOError:
                # A full pipe: the relay is stuck on a link that takes nothing (SRT live mode
                # drops what is late rather than wait). Wait a little, then give the link up:
                # a fresh connection starts on a keyframe, where dropped bytes would tear
                # pictures until the next one.
                now = time.monotonic()
                deadline = deadline or now + STALL_S
                if now >= deadline:
                    raise ConnectionError(f"the link took nothing for {STALL_S:g} s") from None
                select.select([], [self._fd], [], min(deadline - now, CONNECT_POLL_S))

    def _why_it_ended(self) -> str:
        try:
            self.process.wait(timeout=RELAY_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            return "the SRT relay stopped reading"
        self._log.join(timeout=RELAY_EXIT_WAIT_S)
        errors = [relay_line(line, self.target.url) for line in self._errors]
        detail = next((e for e in errors if e), f"ffmpeg exited with {self.process.returncode}")
        if self.target.mode == "caller":
            return f"no listener answered, or the connection dropped ({detail})"
        return f"the caller left, or the connection dropped ({detail})"

    def close(self) -> None:
        """End of the stream: a connected relay sends what it holds and ends (killed if it does
        not); one still waiting for its connection is ended at once."""
        if not self._connected.is_set():
            self.process.kill()
        try:
            self.process.stdin.close()
        except OSError:
            pass  # it had ended: nothing to flush
        try:
            self.process.wait(timeout=RELAY_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.join(timeout=RELAY_EXIT_WAIT_S)
        self.process.stderr.close()


def relay_line(line: str, url: str) -> str:
    """What one line ffmpeg printed says went wrong: the text after its last ``: `` (its prefix,
    the address, which the HUD line names already, and "Error closing file" go)."""
    return line.replace(url, "").rsplit(": ", 1)[-1].strip()


def describe_link_failure(exc: BaseException, *, url: str) -> str:
    """One line for the HUD and the log: why the stream to ``url`` stopped."""
    text = getattr(exc, "strerror", None) or (str(exc).splitlines() or [""])[0]
    return f"stream {url}: {text or type(exc).__name__}"
