"""The recorder on synthetic frames and audio whose content is known."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.visualizer.record.media import (click_times, decode, ffprobe, flash_times,
                                           playable_seconds, stream)
from visualizer.core.config import resolved_config_path
from visualizer.record.encoders import (ENCODERS, EncoderSpec, encoder_works, pick_encoder,
                                        x264_asm_without_avx512)
from visualizer.record.recorder import Recorder, default_recording_path
from visualizer.record.writer import StreamSpec
from visualizer.settings import RecordSettings, ShowConfig

SR = 48000
ROOT = Path(__file__).resolve().parents[3]


def numbered_frame(index: int, size: tuple[int, int]) -> np.ndarray:
    """A frame whose grey level says its index (steps of 8, so compression cannot blur them)."""
    return np.full((size[1], size[0], 3), (index * 8) % 256, dtype=np.uint8)


def tone(start: int, count: int, *, hz: float = 440.0) -> np.ndarray:
    t = np.arange(start, start + count) / SR
    mono = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def test_h264_aac_at_the_requested_size_rate_and_length(tmp_path: Path) -> None:
    size, fps, seconds = (320, 180), 25.0, 4.0
    out = tmp_path / "take.mp4"
    recorder = Recorder(out, StreamSpec(size=size, fps=fps, sample_rate=SR, channels=2),
                        origin_s=100.0, config=ShowConfig()).start()
    # A 50 fps display (twice the recording rate) and 20 ms audio chunks, on a clock at 100 s.
    for k in range(int(seconds * 50)):
        t = 100.0 + k / 50
        assert recorder.add_frame(numbered_frame(k // 2, size), t_s=t, block=True)
        assert recorder.add_audio(tone(k * 960, 960), t_s=t, block=True)
    status = recorder.stop()

    assert status.state == "finished" and status.message == ""
    assert status.dropped == 0 and status.frames == seconds * fps
    info = ffprobe(out)
    video, audio = stream(info, "video"), stream(info, "audio")
    assert video["codec_name"] == "h264" and audio["codec_name"] == "aac"
    assert (video["width"], video["height"]) == size
    assert video["r_frame_rate"] == "25/1"
    assert float(video["duration"]) == pytest.approx(seconds, abs=1e-3)
    assert float(audio["duration"]) == pytest.approx(seconds, abs=1 / fps)
    # Each slot shows the frame stamped for it: grey level k * 8 in frame k.
    decoded = decode(out, audio=False)
    levels = decoded.frames.reshape(decoded.frames.shape[0], -1).mean(axis=1)
    assert np.abs(levels[:30] - np.arange(30) * 8).max() < 3
    # The resolved config sits next to the recording.
    assert "[record]" in resolved_config_path(out).read_text()


def test_flash_frames_land_on_the_clicks(tmp_path: Path) -> None:
    """Frames stamped at the clicks' capture times show up with the clicks in the file."""
    fps, size = 30.0, (64, 64)
    clicks = np.array([0.5, 1.23, 2.0, 2.71])
    audio = np.zeros((int(3.2 * SR), 2), np.float32)
    for t in clicks:
        audio[int(t * SR):int(t * SR) + 200] = 0.8
    out = tmp_path / "sync.mp4"
    recorder = Recorder(out, StreamSpec(size=size, fps=fps, sample_rate=SR, channels=2),
                        origin_s=0.0).start()
    # Audio in 256-sample blocks, frames at an uneven 47 fps, stamped like the live loop does.
    for n in range(0, audio.shape[0], 256):
        recorder.add_audio(audio[n:n + 256], t_s=n / SR, block=True)
    for k in range(int(3.2 * 47)):
        t = k / 47
        lit = np.any((t >= clicks) & (t < clicks + 0.1))
        recorder.add_frame(np.full((64, 64, 3), 255 if lit else 0, np.uint8), t_s=t, block=True)
    assert recorder.stop().state == "finished"

    decoded = decode(out)
    heard = click_times(decoded.audio, sample_rate=decoded.sample_rate, threshold=0.3)
    seen = flash_times(decoded)
    assert len(heard) == len(clicks) == len(seen)
    np.testing.assert_allclose(heard, clicks, atol=2e-3)  # the audio itself is not shifted
    assert np.abs(seen - heard).max() <= 1 / fps


class StalledFile(io.BytesIO):
    """An output whose writes wait for ``release``: an encoder that has fallen far behind."""

    def __init__(self) -> None:
        super().__init__()
        self.stall = threading.Event()
        self.release = threading.Event()

    def write(self, data: bytes) -> int:
        if self.stall.is_set():
            self.release.wait(timeout=30)
        return super().write(data)


def test_a_stalled_encoder_drops_frames_instead_of_blocking(tmp_path: Path) -> None:
    raw = StalledFile()
    settings = RecordSettings(queue_frames=4)
    recorder = Recorder(tmp_path / "x.mp4", StreamSpec(size=(64, 64), fps=30.0, channels=0),
                        origin_s=0.0, settings=settings, raw=raw).start()
    raw.stall.set()
    frame = np.zeros((64, 64, 3), np.uint8)
    # The writer is stuck, yet all 200 calls return (a blocking queue would hang the test).
    accepted = [recorder.add_frame(frame, t_s=k / 30) for k in range(200)]
    raw.release.set()
    status = recorder.stop()
    # The thread holds at most one frame being encoded, plus queue_frames in the queue.
    assert sum(accepted) <= settings.queue_frames + 2
    assert status.dropped == 200 - sum(accepted) and status.state == "finished"


class FillingDisk(io.BytesIO):
    """A disk with ``space`` bytes left: later writes fail with ENOSPC, as a full disk's do."""

    def __init__(self, space: int) -> None:
        super().__init__()
        self.space = space

    def write(self, data: bytes) -> int:
        if self.tell() + len(data) > self.space:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)

    def close(self) -> None:
        self.kept = self.getvalue()  # what a real disk would hold
        super().close()


def test_a_full_disk_stops_the_recording_with_a_message(tmp_path: Path) -> None:
    raw = FillingDisk(space=600_000)  # about 2.4 s of this noise
    messages: list[str] = []
    rng = np.random.default_rng(0)
    recorder = Recorder(tmp_path / "full.mp4", StreamSpec(size=(160, 90), fps=30.0, sample_rate=SR),
                        origin_s=0.0, raw=raw, on_failure=messages.append).start()
    for k in range(300):
        image = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)  # incompressible: fills fast
        recorder.add_frame(image, t_s=k / 30, block=True)
        recorder.add_audio(tone(k * 1600, 1600), t_s=k / 30, block=True)
    status = recorder.stop()

    assert status.state == "failed" and not recorder.recording
    assert messages == [status.message]
    assert status.message.startswith("recording stopped: disk full (full.mp4: ")
    assert recorder.add_frame(np.zeros((90, 160, 3), np.uint8), t_s=11.0) is False
    # What reached the disk before it filled still plays.
    kept = tmp_path / "kept.mp4"
    kept.write_bytes(raw.kept)
    # The torn end was cut off: every frame in the file decodes, and the message is honest.
    playable = playable_seconds(kept)
    claimed = float(status.message.split(": ")[-1].split(" s kept")[0])
    assert 1.0 <= claimed <= playable + 1e-3, (claimed, playable)


def test_unusable_encoders_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    # An encoder this FFmpeg does not have: probing must say no, and auto must pass it by.
    monkeypatch.setitem(ENCODERS, "h264_nonexistent", EncoderSpec(
        hardware=True, pix_fmt="yuv420p", options=ENCODERS["libx264"].options,
        live=ENCODERS["libx264"].live))
    assert encoder_works("h264_nonexistent") is False
    assert pick_encoder("h264_nonexistent") == pick_encoder("auto")
    assert encoder_works(pick_encoder("auto"))
    assert encoder_works("libx264")


def test_the_same_frames_encode_to_the_same_bytes_whatever_the_heap_held(tmp_path: Path) -> None:
    # glibc fills every new allocation with MALLOC_PERTURB_'s byte: each process hands an
    # encoder that reads uninitialised memory different garbage. x264's AVX-512 lookahead did
    # (at widths that are not a multiple of 8 macroblocks), so a render repeated in one process
    # after another render or a replay gave a different file.
    digests = {}
    for perturb in ("85", "170"):
        result = subprocess.run(
            [sys.executable, "-m", "tests.visualizer.record.encode_worker",
             str(tmp_path / f"heap{perturb}.mp4")], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, "MALLOC_PERTURB_": perturb}, timeout=120, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        digests[perturb] = result.stdout.split()[-1]
    assert digests["85"] == digests["170"], digests


def test_libx264_keeps_every_detected_cpu_capability_but_avx512() -> None:
    import av
    import av.logging

    def capabilities(options: dict[str, str]) -> list[str]:
        """What libx264 says it uses when opened with ``options``."""
        previous = av.logging.get_level()
        av.logging.set_level(av.logging.INFO)
        try:
            with av.logging.Capture() as logs:
                context = av.CodecContext.create("libx264", "w")
                context.width, context.height, context.pix_fmt = 64, 64, "yuv420p"
                context.time_base = Fraction(1, 24)
                context.options = options
                context.open()
        finally:
            av.logging.set_level(previous)
        lines = [message for _, _, message in logs if message.startswith("using cpu")]
        return lines[0].split(":", 1)[1].split()

    detected = capabilities({})
    used = capabilities(dict(ENCODERS["libx264"].options(20, "veryfast", 1, 24)))
    assert used == [name for name in detected if name != "AVX512"]
    assert (x264_asm_without_avx512() is None) == ("AVX512" not in detected)


def test_default_recording_path_is_timestamped(tmp_path: Path) -> None:
    import datetime

    path = default_recording_path(RecordSettings(folder=tmp_path, container="mkv"),
                                  now=datetime.datetime(2025, 1, 31, 22, 14, 3))
    assert path == tmp_path / "gansmania-20250131-221403.mkv"
    path.write_bytes(b"a take")
    assert default_recording_path(RecordSettings(folder=tmp_path, container="mkv"),
                                  now=datetime.datetime(2025, 1, 31, 22, 14, 3)
                                  ) == tmp_path / "gansmania-20250131-221403-2.mkv"


def test_odd_sizes_and_resized_frames_are_scaled_to_an_even_size(tmp_path: Path) -> None:
    """H.264 4:2:0 needs even sizes; a window resized mid-recording sends other sizes."""
    out = tmp_path / "resized.mkv"  # the suffix picks Matroska
    recorder = Recorder(out, StreamSpec(size=(101, 63), fps=10.0, channels=0), origin_s=0.0).start()
    for k in range(20):
        shape = (63, 101, 3) if k < 10 else (200, 321, 3)
        assert recorder.add_frame(np.full(shape, 200, np.uint8), t_s=k / 10, block=True)
    assert recorder.stop().frames == 20
    info = ffprobe(out)
    assert info["format"]["format_name"].startswith("matroska")
    assert (stream(info, "video")["width"], stream(info, "video")["height"]) == (100, 62)
    frames = decode(out, audio=False).frames
    assert frames.shape == (20, 62, 100, 3) and abs(frames.mean() - 200) < 3
