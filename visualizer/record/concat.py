"""Join video-only parts into one file without re-encoding, and give it its audio once.

The parts (a segmented render's, `visualizer.segments`) each start on a keyframe and were
encoded with the same settings: their H.264 packets are copied one after the other, their times
moved by each part's first frame, into a container like `MediaWriter`'s (fragmented MP4 or
Matroska); the song's audio is encoded beside them as AAC, interleaved by time. The video
decodes to exactly the frames the parts hold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from visualizer.core.errors import GansmaniaError
from visualizer.record.writer import CONTAINERS, MP4_FLAGS, SUFFIXES
from visualizer.settings import RecordSettings

log = logging.getLogger(__name__)

AUDIO_BLOCK = 4096  # samples per AAC encode call
AUDIO_LEAD_S = 0.5  # audio is muxed this far ahead of the video packet that follows it


@dataclass(frozen=True)
class Part:
    """A video-only file whose first frame is frame ``first`` of the joined video."""

    path: Path
    first: int


@dataclass(frozen=True)
class JoinedVideo:
    path: Path
    frames: int  # video packets copied (one per frame)
    duration_s: float  # of the video


def join_parts(parts: Sequence[Part], out: Path, *, fps: float,
               audio: np.ndarray | None = None, sample_rate: int = 48000,
               settings: RecordSettings | None = None) -> JoinedVideo:
    """Copy the H.264 packets of ``parts`` (in order) into ``out``; add ``audio`` ((n, channels)
    float32, the first sample at the video's 0; more than 2 channels keep the first two) as AAC.
    ``out`` may be MP4 or Matroska; the parts are MP4 (Matroska keeps no decode times).

    GansmaniaError (one line) when a part is missing, has no video, or was encoded with other
    codec settings than the first (its packets would not decode in the first one's stream).
    """
    import av

    if not parts:
        raise GansmaniaError(f"{out}: no parts to join")
    settings = settings or RecordSettings()
    rate = Fraction(fps).limit_denominator(1001)
    inputs = [_open_part(part) for part in parts]
    try:
        template = inputs[0].streams.video[0]
        for part, container in zip(parts[1:], inputs[1:], strict=True):
            _check_same_codec(part.path, container.streams.video[0], parts[0].path, template)
        name = SUFFIXES.get(out.suffix.lower(), settings.container)
        options = {"movflags": MP4_FLAGS} if name == "mp4" else {}
        out.parent.mkdir(parents=True, exist_ok=True)
        output = av.open(str(out), mode="w", format=CONTAINERS[name], options=options)
        try:
            video = output.add_stream_from_template(template)
            sound = _AudioTrack(output, audio, sample_rate, settings) if audio is not None else None
            frames = 0
            for part, container in zip(parts, inputs, strict=True):
                stream = container.streams.video[0]
                offset = round(part.first / rate / stream.time_base)
                for packet in container.demux(stream):
                    if packet.size == 0:  # the demuxer's end-of-stream marker
                        continue
                    # Matroska keeps presentation times only: its B-frames come without a dts.
                    if packet.pts is not None:
                        packet.pts += offset
                    if packet.dts is not None:
                        packet.dts += offset
                    at = packet.dts if packet.dts is not None else packet.pts
                    if sound is not None and at is not None:
                        sound.write_until(float(at * packet.time_base) + AUDIO_LEAD_S)
                    packet.stream = video
                    output.mux(packet)
                    frames += 1
            if sound is not None:
                sound.finish(frames / rate)
        finally:
            output.close()
    except (av.FFmpegError, OSError) as exc:
        raise GansmaniaError(f"{out}: cannot join the parts ({exc})") from None
    finally:
        for container in inputs:
            container.close()
    return JoinedVideo(path=out, frames=frames, duration_s=float(frames / rate))


def _open_part(part: Part):
    import av

    try:
        container = av.open(str(part.path))
    except (av.FFmpegError, OSError) as exc:
        raise GansmaniaError(f"{part.path}: cannot read this part ({exc})") from None
    if not container.streams.video:
        container.close()
        raise GansmaniaError(f"{part.path}: no video stream in this part")
    return container


def _check_same_codec(path: Path, stream, first_path: Path, first) -> None:
    """Packets only decode in another part's stream when the decoder setup (SPS/PPS) matches."""
    mine = (stream.codec_context.name, stream.width, stream.height, stream.time_base,
            bytes(stream.codec_context.extradata or b""))
    theirs = (first.codec_context.name, first.width, first.height, first.time_base,
              bytes(first.codec_context.extradata or b""))
    if mine != theirs:
        raise GansmaniaError(f"{path}: encoded differently from {first_path.name} "
                             f"({mine[0]} {mine[1]}x{mine[2]} vs {theirs[0]} {theirs[1]}x"
                             f"{theirs[2]}, or other encoder settings); render all parts with "
                             f"the same settings")


class _AudioTrack:
    """The joined file's AAC track, fed from the song's samples as the video goes by."""

    def __init__(self, output, audio: np.ndarray, sample_rate: int,
                 settings: RecordSettings) -> None:
        samples = audio.reshape(audio.shape[0], -1)[:, :2]
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)
        self.layout = "mono" if self.samples.shape[1] == 1 else "stereo"
        self.sample_rate = sample_rate
        self.output = output
        self.stream = output.add_stream("aac", rate=sample_rate, layout=self.layout)
        self.stream.bit_rate = settings.audio_kbps * 1000
        self.written = 0

    def write_until(self, t_s: float) -> None:
        self._encode(min(self.samples.shape[0], round(t_s * self.sample_rate)))

    def finish(self, duration_s: Fraction) -> None:
        """The rest, cut or padded with silence to the video's length (as `Recorder` does)."""
        import math

        end = math.floor(duration_s * self.sample_rate)
        if end > self.samples.shape[0]:
            pad = np.zeros((end - self.samples.shape[0], self.samples.shape[1]), np.float32)
            self.samples = np.concatenate([self.samples, pad])
        self._encode(end)
        for packet in self.stream.encode(None):
            self.output.mux(packet)

    def _encode(self, end: int) -> None:
        import av

        while self.written < end:
            stop = min(end, self.written + AUDIO_BLOCK)
            frame = av.AudioFrame.from_ndarray(self.samples[self.written:stop].reshape(1, -1),
                                               format="flt", layout=self.layout)
            frame.sample_rate = self.sample_rate
            frame.time_base = Fraction(1, self.sample_rate)
            frame.pts = self.written
            for packet in self.stream.encode(frame):
                self.output.mux(packet)
            self.written = stop
