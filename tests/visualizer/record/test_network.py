"""Stream addresses (checked in one line before a show starts) and the stream itself on the
wire: a Recorder sending to a real loopback UDP socket, read back datagram by datagram."""

from __future__ import annotations

import io
import socket
import threading

import numpy as np
import pytest

from bench.rigs.ports import free_port
from visualizer.core.errors import GansmaniaError
from visualizer.record.network import ALLOWED, PAYLOAD, parse_stream_url, relay_line
from visualizer.record.recorder import Recorder
from visualizer.record.writer import StreamSpec
from visualizer.settings import RecordSettings

SR = 48000


@pytest.mark.parametrize(("url", "scheme", "host", "port", "mode"), [
    ("udp://127.0.0.1:5000", "udp", "127.0.0.1", 5000, ""),
    ("udp://239.0.0.1:5000?ttl=4", "udp", "239.0.0.1", 5000, ""),
    ("srt://192.168.1.30:9000", "srt", "192.168.1.30", 9000, "caller"),
    ("srt://:9000?mode=listener&latency=200000", "srt", "", 9000, "listener"),
    ("SRT://[::1]:9000?mode=caller", "srt", "::1", 9000, "caller"),
])
def test_stream_addresses(url: str, scheme: str, host: str, port: int, mode: str) -> None:
    target = parse_stream_url(url, video_kbps=2500)
    assert (target.scheme, target.host, target.port, target.mode) == (scheme, host, port, mode)
    assert target.url == url and target.video_kbps == 2500


@pytest.mark.parametrize(("url", "why"), [
    ("http://example.com/live", "not a stream address"),
    ("rtmp://example.com:1935/live", "not a stream address"),
    ("127.0.0.1:5000", "not a stream address"),
    ("", "not a stream address"),
    ("udp://127.0.0.1", "no port"),
    ("udp://127.0.0.1:99999", "Port out of range 0-65535"),
    ("udp://127.0.0.1:5000/live", "unexpected '/live' after the port"),
    ("udp://:5000", "no host to send to"),
    ("udp://127.0.0.1:5000?pkt_size=1316", "unknown UDP option 'pkt_size' (UDP takes: ttl)"),
    ("udp://239.0.0.1:5000?ttl=0", "ttl=0 is not 1..255"),
    ("srt://example.com:9000?mode=rendezvous", "mode=rendezvous is not one of caller, listener"),
    ("srt://:9000", "a caller needs the host to call"),
])
def test_anything_else_is_one_line_naming_the_value_and_what_is_allowed(url: str, why: str) -> None:
    with pytest.raises(GansmaniaError) as caught:
        parse_stream_url(url, what="--stream")
    assert str(caught.value) == f"--stream {url!r}: {why}; allowed: {ALLOWED}"


def test_relay_lines_lose_the_prefix_and_the_address() -> None:
    url = "srt://127.0.0.1:9000?connect_timeout=500"
    assert relay_line(f"[srt @ 0x55d0c1f0a000] Connection to {url} failed: Input/output error",
                      url) == "Input/output error"
    assert relay_line(f"{url}: Connection refused", url) == "Connection refused"
    assert relay_line(f"Error closing file {url}: Input/output error", url) == "Input/output error"


def solid(colour: tuple[int, int, int], size: tuple[int, int]) -> np.ndarray:
    """An RGBA frame of one colour, as a frame tap hands it over."""
    frame = np.full((size[1], size[0], 4), 255, np.uint8)
    frame[..., :3] = colour
    return frame


def test_a_stream_over_udp_is_whole_ts_packets_h264_without_b_frames_and_aac(tmp_path) -> None:
    import av

    port = free_port(socket.SOCK_DGRAM)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    receiver.bind(("127.0.0.1", port))
    receiver.settimeout(3.0)
    datagrams: list[bytes] = []

    def receive() -> None:
        try:
            while True:
                datagrams.append(receiver.recv(65536))
        except TimeoutError:
            pass  # the sender has stopped

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    size, fps, seconds = (160, 96), 30.0, 3.0
    colours = [(200, 40, 120), (30, 180, 60)]  # the first half second, then the rest
    target = parse_stream_url(f"udp://127.0.0.1:{port}", video_kbps=1500)
    recorder = Recorder(target, StreamSpec(size=size, fps=fps, sample_rate=SR, channels=2),
                        origin_s=0.0, settings=RecordSettings(keyframe_s=1.0)).start()
    tone = (0.4 * np.sin(2 * np.pi * 440.0 * np.arange(int(seconds * SR)) / SR)).astype(np.float32)
    for k in range(int(seconds * fps)):
        colour = colours[0] if k < fps / 2 else colours[1]
        assert recorder.add_frame(solid(colour, size), t_s=k / fps, block=True)
        chunk = tone[k * 1600:(k + 1) * 1600]
        assert recorder.add_audio(np.stack([chunk, chunk], axis=1), t_s=k / fps, block=True)
    status = recorder.stop()
    thread.join(timeout=30)
    receiver.close()

    assert status.state == "finished" and status.frames == seconds * fps and status.dropped == 0
    assert status.path is None and status.url == target.url
    # Every datagram is whole MPEG-TS packets, at most 7 (what receivers and switches expect).
    assert datagrams and all(len(d) % 188 == 0 and len(d) <= PAYLOAD for d in datagrams)
    assert all(d[188 * n] == 0x47 for d in datagrams for n in range(len(d) // 188))
    with av.open(io.BytesIO(b"".join(datagrams)), format="mpegts") as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        keyframes, pictures, sound = [], [], []
        for packet in container.demux(video, audio):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    keyframes.append(frame.key_frame)
                    kind = av.video.frame.PictureType(frame.pict_type).name
                    pictures.append((kind, frame.to_ndarray(format="rgb24")))
                else:
                    sound.append(frame.to_ndarray().mean(axis=0))
    assert len(pictures) == seconds * fps
    assert {kind for kind, _ in pictures} == {"I", "P"}  # no B-frames: nothing waits to reorder
    assert list(np.flatnonzero(keyframes)) == [0, 30, 60]  # one a second
    assert {picture.shape for _, picture in pictures} == {(96, 160, 3)}
    for k in (0, 10, 20, 80):  # the colours drawn, each in its frames
        expected = colours[0] if k < fps / 2 else colours[1]
        assert np.abs(pictures[k][1].mean(axis=(0, 1)) - expected).max() < 4, k
    sound = np.concatenate(sound)
    spectrum = np.abs(np.fft.rfft(sound[SR // 2:SR // 2 + SR]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)  # 1 s window: bins are 1 Hz
