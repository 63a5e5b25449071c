"""`MediaWriter`: H.264 + AAC into a crash-safe container, or a live stream, through PyAV
(FFmpeg's libraries).

Crash safety: the file is fragmented MP4 (or Matroska) with a keyframe and a fragment every
``keyframe_s``; each finished fragment is written out and fsync'ed, so a process killed (or a
machine losing power) mid-show leaves a file that plays up to about ``keyframe_s`` before the
end. A live stream (a `NetworkTarget`) is MPEG-TS into a network sink
(`visualizer.record.network`): a constant bit rate, no B-frames, zerolatency, a keyframe every
``keyframe_s``, and nothing to sync or cut. Not thread-safe: one thread (the recorder's) owns a
writer.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from visualizer.core.errors import GansmaniaError
from visualizer.record.encoders import ENCODERS, codec_options, live_codec_options, pick_encoder
from visualizer.record.network import PAYLOAD, NetworkTarget, describe_link_failure, open_sink

if TYPE_CHECKING:
    from visualizer.settings import RecordSettings

log = logging.getLogger(__name__)

# delay_moov: the header is written with the first fragment, once the encoder delays (B-frame
# reordering, AAC priming) are known, so it carries edit lists that keep audio and video
# aligned at 0 (empty_moov alone shifts the tracks by those delays instead).
MP4_FLAGS = "frag_keyframe+empty_moov+delay_moov+default_base_moof"
CONTAINERS = {"mp4": "mp4", "mkv": "matroska", "ts": "mpegts"}
SUFFIXES = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mp4", ".mkv": "mkv"}
DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# A stream's muxer holds one track for the other at most this long (µs): a stalled audio input
# must not freeze the far side's picture for FFmpeg's default 10 s.
STREAM_INTERLEAVE_US = 1_000_000


@dataclass(frozen=True)
class StreamSpec:
    """What a recording holds: video ``size`` (W, H) at ``fps``; audio, when channels > 0."""

    size: tuple[int, int]
    fps: float
    sample_rate: int = 48000
    channels: int = 2  # 0 = no audio track; > 2 keeps the first two (a main L/R pair)

    @property
    def encoded_size(self) -> tuple[int, int]:
        """H.264 4:2:0 needs even sizes: odd ones lose their last row/column (scaled)."""
        return (max(2, self.size[0] // 2 * 2), max(2, self.size[1] // 2 * 2))

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps).limit_denominator(1001)

    @property
    def audio_channels(self) -> int:
        return min(self.channels, 2)


def keyframe_interval(fps: float, keyframe_s: float) -> int:
    """Frames from one keyframe to the next (a file's GOP and fragment length)."""
    return max(1, round(fps * keyframe_s))


class SyncedFile:
    """The output file: FFmpeg writes through it (so errors surface as Python OSErrors),
    :meth:`sync` pushes finished fragments to the disk, and after a failed write
    :meth:`cut_to_good` drops the torn end so the file ends on a whole fragment.

    The muxers keep the fragment being built in memory and write it whole, so the end of the
    file after each successful packet is a fragment boundary: :meth:`mark_good` remembers it.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.good_size = 0

    def write(self, data: bytes) -> int:
        # An unbuffered file may take part of the data (a disk filling up); FFmpeg would
        # silently lose the rest, so loop until all is written or the OS raises.
        view = memoryview(data)
        while view:
            written = self.raw.write(view)
            if written is None:  # a buffered file object takes everything
                break
            view = view[written:]
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def sync(self) -> None:
        self.raw.flush()
        try:
            os.fsync(self.raw.fileno())
        except (AttributeError, OSError, ValueError):
            pass  # not a real file (a test double, a pipe): nothing to sync

    def mark_good(self) -> None:
        self.good_size = self.raw.tell()

    def cut_to_good(self) -> None:
        """Truncate to the last fragment boundary (also frees the space on a full disk)."""
        try:
            self.raw.seek(self.good_size)
            self.raw.truncate()
        except (OSError, ValueError) as exc:
            log.debug("cannot truncate the recording after a failure: %s", exc)

    def close(self) -> None:
        self.raw.close()


class MediaWriter:
    """Writes video slots and audio blocks to ``path``; see the module docstring."""

    def __init__(self, path: Path | NetworkTarget, spec: StreamSpec, settings: RecordSettings, *,
                 threads: int | None = None, raw: IO[bytes] | None = None,
                 cancelled: threading.Event | None = None, independent_gops: bool = False) -> None:
        """``path``: the file, or a NetworkTarget to stream to: that connects, which may take
        seconds, so call it from the encoder's thread (``cancelled``, once set, ends the wait
        with StreamCancelled). ``threads``: libx264 threads (default: settings.threads, 0 = one
        per core). ``raw``: a binary file object to write instead of opening ``path`` (tests).
        ``independent_gops``: each GOP encoded from its own frames only (a file; see
        `EncoderSpec.independent`), so renders cut on keyframes and encoded in parts join up.
        A file's container follows its name (.mp4/.m4v/.mov, .mkv), else settings.container."""
        import av

        self.network = path if isinstance(path, NetworkTarget) else None
        self.path = None if self.network is not None else Path(path)
        self.name = self.network.url if self.network is not None else str(self.path)
        self.spec = spec
        self.settings = settings
        self.encoder = pick_encoder(settings.encoder, independent_gops=independent_gops)
        threads = settings.threads if threads is None else threads
        threads = threads or os.cpu_count() or 1
        gop = keyframe_interval(spec.fps, settings.keyframe_s)
        options = {"flush_packets": "1"}
        buffer_size = 32768
        if self.network is not None:
            try:
                self.file = open_sink(self.network, cancelled=cancelled)
            except OSError as exc:
                raise GansmaniaError(describe_link_failure(exc, url=self.name)) from None
            self.container_name = "ts"
            options["max_interleave_delta"] = str(STREAM_INTERLEAVE_US)
            buffer_size = PAYLOAD  # each write is a datagram's worth, whole TS packets
            video_options = live_codec_options(self.encoder, kbps=self.network.video_kbps,
                                               preset=settings.preset, threads=threads, gop=gop)
        else:
            self.file = SyncedFile(raw if raw is not None else self._create())
            self.container_name = SUFFIXES.get(self.path.suffix.lower(), settings.container)
            if self.container_name == "mp4":
                options["movflags"] = MP4_FLAGS
            else:
                options["cluster_time_limit"] = str(int(settings.keyframe_s * 1000))
            video_options = codec_options(self.encoder, quality=settings.quality,
                                          preset=settings.preset, threads=threads, gop=gop,
                                          independent_gops=independent_gops)
        try:
            self.container = av.open(self.file, mode="w", format=CONTAINERS[self.container_name],
                                     options=options, buffer_size=buffer_size)
            self.video = self.container.add_stream(self.encoder, rate=spec.rate,
                                                   options=dict(video_options))
            self.video.width, self.video.height = spec.encoded_size
            self.video.pix_fmt = ENCODERS[self.encoder].pix_fmt
            self.video.codec_context.time_base = 1 / spec.rate
            self.audio = None
            if spec.audio_channels:
                self.audio = self.container.add_stream(
                    "aac", rate=spec.sample_rate,
                    layout="mono" if spec.audio_channels == 1 else "stereo")
                self.audio.bit_rate = settings.audio_kbps * 1000
            self.container.start_encoding()
            self._mark_good()
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.file.close()
            what = "stream" if self.network is not None else "recording"
            raise GansmaniaError(f"{self.name}: cannot start the {what} ({exc})") from None
        self.video_slots = 0  # frames encoded (the next slot's pts)
        self.audio_samples = 0  # samples per channel encoded
        self.complete_s = 0.0  # video in finished fragments: what survives a crash now, seconds
        self._rgb: np.ndarray | None = None
        self._last_sync = time.monotonic()

    def _create(self) -> IO[bytes]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: FFmpeg buffers already, and a failed write must not leave bytes
            # in a Python buffer that a later flush would try (and fail) to write again.
            return open(self.path, "wb", buffering=0)  # noqa: SIM115 - closed by close()/abort()
        except OSError as exc:
            raise GansmaniaError(f"{self.path}: cannot create the recording "
                                 f"({exc.strerror or exc})") from None

    def _mark_good(self) -> None:
        if self.network is None:
            self.file.mark_good()

    @property
    def link_dropped(self) -> int:
        """A stream's TS chunks its socket could not take when they were written (0 for a file)."""
        return self.file.dropped if self.network is not None else 0

    @property
    def duration_s(self) -> float:
        """Video written so far, seconds."""
        return self.video_slots / self.spec.fps

    def write_video(self, image: np.ndarray, *, count: int = 1) -> None:
        """Encode ``image`` (uint8 (H, W, 3) RGB or (H, W, 4) RGBA, top row first; rescaled when
        its size differs) into the next ``count`` slots."""
        import av

        frame = av.VideoFrame.from_ndarray(image, format="rgba" if image.shape[2] == 4 else "rgb24")
        frame.time_base = 1 / self.spec.rate
        for _ in range(count):
            frame.pts = self.video_slots
            self._mux(self.video.encode(frame))
            self.video_slots += 1

    def write_audio(self, block: np.ndarray) -> None:
        """Encode ``block`` (n, channels) float32 [-1, 1] as the next samples."""
        import av

        if self.audio is None or block.shape[0] == 0:
            return
        block = block[:, :self.spec.audio_channels] if block.ndim == 2 else block[:, None]
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block, dtype=np.float32).reshape(1, -1), format="flt",
            layout="mono" if self.spec.audio_channels == 1 else "stereo")
        frame.sample_rate = self.spec.sample_rate
        frame.time_base = Fraction(1, self.spec.sample_rate)
        frame.pts = self.audio_samples
        self._mux(self.audio.encode(frame))
        self.audio_samples += block.shape[0]

    def _mux(self, packets) -> None:
        for packet in packets:
            keyframe_s = (float(packet.pts * packet.time_base)
                          if packet.is_keyframe and packet.stream.index == self.video.index
                          else None)
            self.container.mux(packet)
            self._mark_good()
            if keyframe_s is not None and self.network is None:
                # Everything before this keyframe is in complete fragments now.
                self.complete_s = keyframe_s
                # A keyframe closes the previous fragment: make it durable, at most once a second.
                now = time.monotonic()
                if now - self._last_sync >= 1.0:
                    self.file.sync()
                    self._last_sync = now

    def close(self) -> None:
        """Flush the encoders and finish the file (its index, for fast seeking)."""
        self._mux(self.video.encode(None))
        if self.audio is not None:
            self._mux(self.audio.encode(None))
        self.container.close()
        if self.network is None:
            self.file.sync()
        self.file.close()

    def abort(self) -> None:
        """Give up after a write error: keep what is on disk (complete fragments still play);
        a stream just lets go of its link."""
        import av

        if self.network is not None:
            try:
                self.container.close()
            except (av.FFmpegError, OSError, ValueError) as exc:
                log.debug("ending the stream to %s after a failure: %s", self.name, exc)
            self.file.close()
            return
        self.file.cut_to_good()  # frees the torn bytes, so the index may fit now
        try:
            self.container.close()  # writes the fragment held in memory, and the index
            self.file.mark_good()
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.debug("finishing %s after a failure: %s", self.path, exc)
        self.file.cut_to_good()
        try:
            self.file.close()
        except OSError as exc:
            log.debug("closing %s after a failure: %s", self.path, exc)


def describe_failure(exc: BaseException, *, path: Path, kept_s: float) -> str:
    """One line for the HUD and the log: why the recording stopped and what was kept."""
    number = getattr(exc, "errno", None)
    if number == errno.EFBIG:
        why = "file too large for this file system"
    elif number in DISK_FULL_ERRNOS:
        why = "disk full"
    else:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"recording stopped: {why} ({path.name}: {kept_s:.1f} s kept)"
