"""`Recorder`: what the audience sees, with the audio that drove it, to a video file or a live
stream.

The render loop hands frames (and the audio path hands captured audio) to :meth:`add_frame` /
:meth:`add_audio`, which only enqueue: encoding and writing run on the recorder's own thread.
When the encoder falls ``queue_frames`` behind, new frames are dropped and counted — the show
never waits for the recording. A write error (a full disk) ends the recording, keeps what is on
disk (it plays) and reports one line through ``on_failure`` for the HUD; the show goes on.

A stream (a `NetworkTarget` in place of the path) runs through the same thread and the same
rule; it connects on that thread too (a connection may take seconds), and a network error ends
it the same way, with one line naming the address.

Frames and audio carry capture-clock stamps; `visualizer.record.timeline` places both on the
file's fixed-rate timeline, so they stay in sync whatever the display rate does.
"""

from __future__ import annotations

import datetime
import logging
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from visualizer.core.errors import GansmaniaError
from visualizer.record.network import NetworkTarget, StreamCancelled, describe_link_failure
from visualizer.record.timeline import AudioTimeline, FrameTimeline
from visualizer.record.writer import MediaWriter, StreamSpec, describe_failure
from visualizer.settings import RecordSettings

log = logging.getLogger(__name__)

RecordingState = Literal["recording", "finished", "failed"]
AUDIO_QUEUE_S = 10.0  # captured audio the recorder may fall behind before it drops some
_STOP = object()


@dataclass(frozen=True)
class RecordingStatus:
    """A recording's progress (live) or its outcome (after stop)."""

    path: Path | None  # the file; None for a stream
    state: RecordingState
    encoder: str
    frames: int  # video frames written (fixed-rate slots)
    duration_s: float  # video written, seconds
    dropped: int  # frames the queue could not take: the encoder fell behind
    repeated: int  # slots that repeat a frame (the display ran slower than the recording)
    skipped: int  # frames that shared a slot with a newer one (the display ran faster)
    audio_dropped: int  # audio chunks the queue could not take (silence in the file)
    message: str = ""  # why it failed; "" otherwise
    url: str = ""  # a stream's address; "" for a file
    link_dropped: int = 0  # a stream's: TS chunks its socket could not take (UDP drops them)


def recording_folder(settings: RecordSettings) -> Path:
    """Where R-key / OSC takes go: record.folder, else ~/Videos/gansmania."""
    return Path(settings.folder or Path.home() / "Videos" / "gansmania").expanduser()


def default_recording_path(settings: RecordSettings, *,
                           now: datetime.datetime | None = None) -> Path:
    """Where an R-key / OSC recording goes: ``folder/gansmania-YYYYmmdd-HHMMSS.mp4`` (``-2``,
    ``-3``... when that name is taken: two takes in one second must not overwrite each other)."""
    folder = recording_folder(settings)
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = folder / f"gansmania-{stamp}.{settings.container}"
    number = 1
    while path.exists():
        number += 1
        path = folder / f"gansmania-{stamp}-{number}.{settings.container}"
    return path


class Recorder:
    """One recording, from :meth:`start` to :meth:`stop`; see the module docstring."""

    def __init__(self, path: Path | NetworkTarget, spec: StreamSpec, *, origin_s: float | None,
                 settings: RecordSettings | None = None, config: Any = None,
                 threads: int | None = None, raw: IO[bytes] | None = None,
                 on_failure: Callable[[str], None] | None = None, on_screen: bool = False,
                 independent_gops: bool = False) -> None:
        """``origin_s``: the capture-clock time that is 0 in the file; None = the start of the
        first audio chunk (frames before it are skipped: there is no audio to sync them to),
        or the first frame's stamp without audio. ``config``: the resolved show config, written
        next to the file. ``threads``/``raw``: see MediaWriter. ``path`` a NetworkTarget: a
        live stream (``config`` and ``raw`` are not used). ``on_screen``: frames are stamped
        with their present time (see `visualizer.record.timeline`). ``independent_gops``: see
        MediaWriter (an offline render's file)."""
        self.network = path if isinstance(path, NetworkTarget) else None
        self.path = None if self.network is not None else Path(path)
        self.name = self.network.url if self.network is not None else str(self.path)
        self.spec = spec
        self.settings = settings or RecordSettings()
        self.config = config
        self.on_failure = on_failure
        self._threads, self._raw = threads, raw
        self._independent_gops = independent_gops
        self.origin_s = origin_s
        self._frames = FrameTimeline(fps=spec.fps, origin_s=origin_s or 0.0, on_screen=on_screen)
        self._audio = AudioTimeline(sample_rate=spec.sample_rate,
                                    channels=max(spec.audio_channels, 1), origin_s=origin_s or 0.0)
        self._queue: queue.Queue = queue.Queue()
        self._room = threading.Semaphore(self.settings.queue_frames)  # free frame places
        # Single-writer counters (producer: _in, recorder thread: _out), so no lock is needed.
        self._audio_in = self._audio_out = 0  # samples
        self._audio_limit = int(AUDIO_QUEUE_S * spec.sample_rate)
        self.dropped = 0
        self.audio_dropped = 0
        self._state: RecordingState = "recording"
        self._message = ""
        self._writer: MediaWriter | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # stop() was called: a stream still connecting gives up

    # ------------------------------------------------------------------ the producer's side

    def start(self) -> Recorder:
        """Open the file (GansmaniaError, one line, when that fails) and start the thread. A
        stream connects on the thread: its failure to connect comes through ``on_failure``."""
        if self.network is None:
            self._writer = MediaWriter(self.path, self.spec, self.settings, threads=self._threads,
                                       raw=self._raw, independent_gops=self._independent_gops)
            if self.config is not None:
                from visualizer.core.config import write_resolved

                try:
                    write_resolved(self.config, self.path)
                except OSError as exc:  # the recording matters more than its note
                    log.warning("%s: cannot write its config beside it (%s)", self.path,
                                exc.strerror or exc)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="recorder" if self.network is None else "stream")
        self._thread.start()
        if self.network is None:
            log.info("recording to %s (%s, %dx%d at %g fps)", self.path, self._writer.encoder,
                     *self.spec.encoded_size, self.spec.fps)
        return self

    @property
    def recording(self) -> bool:
        return self._state == "recording" and self._thread is not None

    @property
    def ready(self) -> bool:
        """Writing: the file is open, or the stream connected. A live producer holds its frames
        back until then: queued while a stream connects, they would reach the receiver late,
        and keep every later frame as late."""
        return self.recording and self._writer is not None

    def add_frame(self, image: np.ndarray, *, t_s: float, block: bool = False) -> bool:
        """Queue a frame (uint8 (H, W, 3) RGB or (H, W, 4) RGBA, not modified afterwards) stamped
        ``t_s`` on the capture clock. Never waits unless ``block`` (offline rendering); False
        when it was dropped."""
        if not self.recording:
            return False
        if not block and not self._room.acquire(blocking=False):
            self.dropped += 1
            return False
        while block and not self._room.acquire(timeout=0.1):
            if not self.recording:  # it failed while we waited
                return False
        self._queue.put(("frame", image, t_s))
        return True

    def add_audio(self, samples: np.ndarray, *, t_s: float, block: bool = False) -> bool:
        """Queue captured audio (n, channels) float32 whose first sample was captured at ``t_s``."""
        if not self.recording:
            return False
        if self._audio_in - self._audio_out >= self._audio_limit and not block:
            self.audio_dropped += 1
            return False
        self._audio_in += samples.shape[0]
        self._queue.put(("audio", samples.reshape(samples.shape[0], -1), t_s))
        return True

    def stop(self, *, timeout_s: float = 60.0) -> RecordingStatus:
        """Finish the file (the video is made as long as the audio) and return the outcome."""
        self._stopping.set()
        if self._thread is not None:
            self._queue.put((_STOP, None, None))
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                log.warning("the recorder did not finish %s within %.0f s", self.name, timeout_s)
        return self.status

    @property
    def status(self) -> RecordingStatus:
        writer = self._writer
        return RecordingStatus(
            path=self.path, state=self._state, encoder=writer.encoder if writer else "",
            frames=writer.video_slots if writer else 0,
            duration_s=writer.duration_s if writer else 0.0, dropped=self.dropped,
            repeated=self._frames.repeated, skipped=self._frames.skipped,
            audio_dropped=self.audio_dropped, message=self._message,
            url=self.network.url if self.network is not None else "",
            link_dropped=writer.link_dropped if writer else 0)

    # ------------------------------------------------------------------ the recorder thread

    def _run(self) -> None:
        import av

        if self._writer is None:  # a stream: connect here, never on the render thread
            try:
                writer = MediaWriter(self.network, self.spec, self.settings,
                                     threads=self._threads, cancelled=self._stopping)
            except StreamCancelled:
                self._state = "finished"
                return
            except GansmaniaError as exc:
                self._fail(str(exc))
                return
            self._writer = writer
            log.debug("streaming to %s (%s, %dx%d at %g fps, %d kbit/s)", self.name,
                     self._writer.encoder, *self.spec.encoded_size, self.spec.fps,
                     self.network.video_kbps)
        writer = self._writer
        try:
            while True:
                kind, payload, t_s = self._queue.get()
                if kind is _STOP:
                    self._finish(writer)
                    self._state = "finished"
                    log.info("%s finished: %s (%.1f s, %d dropped)",
                             "recording" if self.network is None else "stream", self.name,
                             writer.duration_s, self.dropped)
                    return
                if self.origin_s is None:
                    if kind == "frame" and self.spec.audio_channels:
                        self._room.release()
                        self._frames.skipped += 1
                        continue
                    self.origin_s = self._frames.origin_s = self._audio.origin_s = t_s
                if kind == "frame":
                    self._room.release()
                    run = self._frames.add(payload, t_s=t_s)
                    if run is not None:
                        writer.write_video(run.image, count=run.count)
                else:
                    self._audio_out += payload.shape[0]
                    for block in self._audio.add(payload, t_s=t_s):
                        writer.write_audio(block)
        except (OSError, av.FFmpegError, ValueError) as exc:
            if self.network is None:
                message = describe_failure(exc, path=self.path, kept_s=writer.complete_s)
            else:
                message = describe_link_failure(exc, url=self.name)
            self._fail(message, writer=writer)

    def _fail(self, message: str, *, writer: MediaWriter | None = None) -> None:
        self._message = message
        self._state = "failed"
        # A stream's owner reports its failures (it retries: one log line per retry is noise).
        log.log(logging.ERROR if self.network is None else logging.DEBUG, "%s", message)
        if writer is not None:
            writer.abort()
        if self.on_failure is not None:
            self.on_failure(message)

    def _finish(self, writer: MediaWriter) -> None:
        end_slot = None
        if self.spec.audio_channels and self._audio.written:
            end_slot = round(self._audio.written / self.spec.sample_rate * self.spec.fps)
        run = self._frames.finish(end_slot=end_slot)
        if run is not None:
            writer.write_video(run.image, count=run.count)
        if self.spec.audio_channels:
            # The video may have run past the captured audio: silence keeps the tracks equal.
            target = math.floor(writer.video_slots / self.spec.fps * self.spec.sample_rate)
            pad = self._audio.pad_to(target)
            if pad is not None:
                writer.write_audio(pad)
        writer.close()
