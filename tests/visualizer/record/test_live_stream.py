"""`live --stream` in a running show: a receiver on loopback (PyAV on UDP, the ffmpeg program as
an SRT listener) decodes the picture the renderer drew and the captured sound; an SRT target
nobody answers is one HUD line, the show goes on, and a listener that comes later gets the
stream."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from bench.rigs.ports import free_port
from tests.signals import click_train
from tests.visualizer.record.shows import show_config, write_wav
from visualizer.record.live_stream import LiveStream
from visualizer.record.network import ALLOWED, srt_relay_program
from visualizer.show import build_app, prepare_show

STREAM_SIZE = (128, 80)  # not the output's 96x64: the tap scales
ENOUGH = 300_000  # bytes of stream a receiver keeps before a test moves on (about a second)
AT_MOST_S = 40.0  # shows that wait for a receiver end then at the latest (a busy machine is slow)
ROOT = Path(__file__).resolve().parents[3]

needs_srt = pytest.mark.skipif(srt_relay_program() is None,
                               reason="SRT goes through the ffmpeg program, and this one has no "
                                      "libsrt (or there is none)")


def streaming_app(tmp_path: Path, model: Path, url: str, *, seconds: float = 8.0):
    audio, _ = click_train(bpm=120, duration_s=seconds)
    song = write_wav(tmp_path / "clicks.wav", audio)
    show = show_config(model, size=(96, 64), fps=30.0, sets={
        "audio.input": str(song), "display.fps": 30.0, "output.stream.url": url,
        "output.stream.size": STREAM_SIZE, "output.stream.fps": 30.0,
        "output.stream.video_kbps": 3000})
    return build_app(prepare_show(show, preset="drift"))


def thumbnail(picture: np.ndarray) -> np.ndarray:
    """``picture`` (H, W, 3+) as the mean colours of its 8x8 blocks (float32): codec noise
    averages out, a flip, a channel swap or a wrong picture does not."""
    height, width = picture.shape[0] // 8, picture.shape[1] // 8
    blocks = picture[:height * 8, :width * 8, :3].reshape(height, 8, width, 8, 3)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


class DrawnFrames:
    """What the renderer drew for the audience, at the stream's size (a tap of the test's own)."""

    def __init__(self, app) -> None:
        self.thumbnails: list[np.ndarray] = []
        self.remove = app.add_frame_tap(
            STREAM_SIZE, lambda tapped: self.thumbnails.append(thumbnail(tapped.pixels)))

    def nearest(self, picture: np.ndarray) -> float:
        """Mean absolute difference (0..255 levels, 8x8 block means) to the drawn frame most
        like ``picture``."""
        return float(np.abs(np.stack(self.thumbnails) - thumbnail(picture)).mean(axis=(1, 2, 3)).min())


class Received:
    """Everything a PyAV reader decoded: video frames (RGB), audio (mono mix) and its rate."""

    def __init__(self) -> None:
        self.video: list[np.ndarray] = []
        self.audio: list[np.ndarray] = []
        self.sample_rate = 0
        self.error: BaseException | None = None

    def read(self, source, **open_args) -> None:
        import av

        try:
            with av.open(source, **open_args) as container:
                for frame in container.decode(*container.streams):
                    if isinstance(frame, av.VideoFrame):
                        # A receiver that joins mid-stream sees pictures from its first keyframe.
                        if self.video or frame.key_frame:
                            self.video.append(frame.to_ndarray(format="rgb24"))
                    else:
                        self.sample_rate = frame.sample_rate
                        self.audio.append(frame.to_ndarray().astype(np.float32).mean(axis=0))
        except av.ExitError:
            pass  # the read timeout: the sender has stopped
        except Exception as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc

    def check(self, drawn: DrawnFrames, *, min_frames: int, torn_tail: int = 0) -> None:
        """``torn_tail``: the receiver was stopped mid-stream, so its last pictures may lack the
        packets still on their way: they are not compared."""
        assert self.error is None, self.error
        assert len(self.video) >= min_frames + torn_tail
        assert {frame.shape for frame in self.video} == {(STREAM_SIZE[1], STREAM_SIZE[0], 3)}
        # Each received picture is one the renderer drew (within H.264's loss); a black, flipped
        # or channel-swapped stream would be far from all of them.
        whole = self.video[:len(self.video) - torn_tail]
        distances = [drawn.nearest(picture) for picture in whole]
        assert max(distances) < 6.0, [(k, round(d)) for k, d in enumerate(distances) if d >= 6]
        assert self.sample_rate == 48000
        sound = np.concatenate(self.audio)
        assert sound.size >= 48000 and np.abs(sound).max() > 0.2  # the clicks


def test_udp_stream_carries_the_drawn_picture_and_the_sound(tmp_path: Path, tiny_model: Path,
                                                            isolated_threads) -> None:
    port = free_port(socket.SOCK_DGRAM)
    url = f"udp://127.0.0.1:{port}"
    received = Received()
    reader = threading.Thread(target=received.read, daemon=True, args=(
        f"{url}?overrun_nonfatal=1&fifo_size=100000",), kwargs={"format": "mpegts",
                                                                "timeout": (60.0, 3.0)})
    reader.start()  # listening before the show sends its first keyframe
    app = streaming_app(tmp_path, tiny_model, url)
    stream = LiveStream(app, app.show.output.stream)
    drawn = DrawnFrames(app)
    try:
        stats = app.run(duration_s=4.0)
    finally:
        stream.close()
        drawn.remove()
        app.close()
    reader.join(timeout=30)

    sent = stream.stats()
    assert sent["url"] == url and sent["size"] == list(STREAM_SIZE)
    assert sent["connections"] == 1 and sent["failures"] == 0 and sent["error"] == ""
    # At the stream's own 30 fps, about as long as the show ran once the audio was flowing.
    assert 60 <= sent["frames_sent"] <= 4.2 * 30
    assert stats["frames_displayed"] > 60
    received.check(drawn, min_frames=sent["frames_sent"] // 2)


def srt_receiver(port: int, out: Path, *, mode: str = "listener") -> subprocess.Popen:
    """The ffmpeg program as the far side, listening on ``port`` or calling it; keeps what
    arrives (a copy). It probes half a second of the stream, not FFmpeg 5.1's 5 s (what it
    takes for any live MPEG-TS before it writes a byte)."""
    return subprocess.Popen(
        [srt_relay_program(), "-hide_banner", "-loglevel", "error", "-y",
         "-analyzeduration", "500000", "-i", f"srt://127.0.0.1:{port}?mode={mode}", "-map", "0", "-c", "copy", "-f", "mpegts",
         "-flush_packets", "1", str(out)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def got(kept: Path) -> int:
    """Bytes a receiver has kept so far."""
    return kept.stat().st_size if kept.exists() else 0


def ended(process: subprocess.Popen, *, timeout_s: float = 20.0) -> None:
    """Wait for ``process`` (it ends when the stream does); kill it if it does not."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stderr.close()


@needs_srt
@pytest.mark.parametrize("mode", ["caller", "listener"])
def test_srt_stream_to_a_receiver(tmp_path: Path, tiny_model: Path, isolated_threads,
                                  mode: str) -> None:
    """The show calls a listening receiver (OBS as a listener), or listens for one that calls."""
    port = free_port(socket.SOCK_DGRAM)
    kept = tmp_path / "far side.ts"
    receivers: list[subprocess.Popen] = []
    if mode == "caller":
        receivers.append(srt_receiver(port, kept, mode="listener"))
        url = f"srt://127.0.0.1:{port}?mode=caller"
    else:
        url = f"srt://:{port}?mode=listener"
    try:
        app = streaming_app(tmp_path, tiny_model, url)
        stream = LiveStream(app, app.show.output.stream)
        drawn = DrawnFrames(app)

        def call_once_listening(tick) -> None:  # the stream listens from the first frame on
            if not receivers and tick.index >= 2:
                receivers.append(srt_receiver(port, kept, mode="caller"))

        app.add_frame_hook(call_once_listening)
        try:
            app.run(duration_s=4.0)
        finally:
            stream.close()
            drawn.remove()
            app.close()
    finally:
        for receiver in receivers:
            ended(receiver)

    sent = stream.stats()
    assert sent["connections"] == 1 and sent["failures"] == 0, sent["error"]
    received = Received()
    received.read(str(kept))
    received.check(drawn, min_frames=sent["frames_sent"] // 2)


@needs_srt
def test_an_srt_target_nobody_answers_is_one_hud_line_and_a_later_listener_gets_the_stream(
        tmp_path: Path, tiny_model: Path, isolated_threads) -> None:
    port = free_port(socket.SOCK_DGRAM)
    url = f"srt://127.0.0.1:{port}?connect_timeout=1000"
    app = streaming_app(tmp_path, tiny_model, url)
    stream = LiveStream(app, app.show.output.stream, retry_s=1.0)
    drawn = DrawnFrames(app)
    messages: list[tuple[str, str, int]] = []
    report = app.report_error
    app.report_error = lambda source, message: messages.append(
        (source, message, len(drawn.thumbnails))) or report(source, message)
    kept = tmp_path / "late.ts"
    listeners: list[subprocess.Popen] = []

    def listen_after_the_first_failure(tick) -> None:
        if messages and not listeners:
            listeners.append(srt_receiver(port, kept))
        elif got(kept) >= ENOUGH and len(drawn.thumbnails) - messages[0][2] >= 30:
            app.request_stop()

    app.add_frame_hook(listen_after_the_first_failure)
    try:
        stats = app.run(duration_s=AT_MOST_S)
    finally:
        stream.close()
        drawn.remove()
        app.close()
        for listener in listeners:
            ended(listener)

    # One line, naming the address, on the HUD; the show rendered on after it.
    source, message, frames_then = messages[0]
    assert source == "stream" and "\n" not in message
    assert message.startswith(f"stream {url}: no listener answered, or the connection dropped (")
    assert message.endswith("); trying again every 1 s")
    assert {m for _, m, _ in messages} == {message}  # the same line each time it failed
    assert stats["frames_displayed"] - frames_then >= 30
    # The listener that came later got the stream from the retry.
    sent = stream.stats()
    assert sent["failures"] >= 1 and sent["connections"] == sent["failures"] + 1
    assert sent["error"] == message.split("; trying again")[0]
    received = Received()
    received.read(str(kept))
    received.check(drawn, min_frames=15)


def gansmania(*args: str, timeout_s: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "visualizer.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def test_a_bad_stream_address_stops_live_before_the_show_in_one_line() -> None:
    result = gansmania("live", "--headless", "--duration", "1", "--stream", "rtmp://host/live")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"gansmania: error: --stream 'rtmp://host/live': not a stream address; allowed: {ALLOWED}"]


@pytest.mark.slow
@needs_srt
def test_a_connection_lost_mid_show_is_one_hud_line_and_a_new_listener_gets_the_stream(
        tmp_path: Path, tiny_model: Path, isolated_threads) -> None:
    port = free_port(socket.SOCK_DGRAM)
    first, second = tmp_path / "first.ts", tmp_path / "second.ts"
    listeners = [srt_receiver(port, first)]
    app = streaming_app(tmp_path, tiny_model, f"srt://127.0.0.1:{port}")
    stream = LiveStream(app, app.show.output.stream, retry_s=1.0)
    drawn = DrawnFrames(app)
    messages: list[str] = []
    report = app.report_error
    app.report_error = lambda source, message: messages.append(message) or report(source, message)

    def lose_it_then_listen_again(tick) -> None:
        if len(listeners) == 1 and listeners[0].poll() is None and got(first) >= ENOUGH:
            listeners[0].terminate()  # the far side quits mid-show, once it has shown something
        elif len(listeners) == 1 and messages:
            listeners.append(srt_receiver(port, second))
        elif got(second) >= ENOUGH:
            app.request_stop()

    app.add_frame_hook(lose_it_then_listen_again)
    try:
        app.run(duration_s=AT_MOST_S)
    finally:
        stream.close()
        drawn.remove()
        app.close()
        for listener in listeners:
            ended(listener)

    assert len(set(messages)) == 1 and "connection dropped" in messages[0]
    sent = stream.stats()
    assert sent["failures"] == 1 and sent["connections"] == 2, messages
    for kept, torn_tail in ((first, 10), (second, 0)):
        received = Received()
        received.read(str(kept))
        received.check(drawn, min_frames=10, torn_tail=torn_tail)


@pytest.mark.slow  # a process of its own: imports and the model load take most of its ~20 s
def test_live_stream_over_udp_from_the_command_line_with_its_stats(tmp_path: Path,
                                                                   tiny_model: Path) -> None:
    import av

    audio, _ = click_train(bpm=120, duration_s=6.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    port = free_port(socket.SOCK_DGRAM)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    receiver.bind(("127.0.0.1", port))
    receiver.settimeout(1.0)
    datagrams: list[bytes] = []
    done = threading.Event()

    def receive() -> None:
        while not done.is_set():
            try:
                datagrams.append(receiver.recv(65536))
            except TimeoutError:
                continue

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    stats_path = tmp_path / "stats.json"
    try:
        result = gansmania("live", "--headless", "--model", str(tiny_model), "--input", str(song),
                           "--size", "96x64", "--duration", "3", "--set", "model.backend=torch",
                           "--set", "output.stream.size=[64, 48]",
                           "--stream", f"udp://127.0.0.1:{port}", "--stats", str(stats_path))
    finally:
        done.set()
        thread.join(timeout=10)
        receiver.close()
    assert result.returncode == 0, result.stderr

    sent = json.loads(stats_path.read_text())["stream"]
    assert sent["url"] == f"udp://127.0.0.1:{port}" and sent["size"] == [64, 48]
    assert sent["connections"] == 1 and sent["failures"] == 0
    assert sent["frames_sent"] > 30 and sent["frames_dropped"] >= 0
    assert f"stream udp://127.0.0.1:{port}: {sent['frames_sent']} frames sent" in result.stdout
    with av.open(io.BytesIO(b"".join(datagrams)), format="mpegts") as container:
        pictures = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(pictures) == sent["frames_sent"] and pictures[0].shape == (48, 64, 3)
