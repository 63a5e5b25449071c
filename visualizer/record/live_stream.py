"""`gansmania live --stream URL`: the show's picture and sound as a live stream, H.264 + AAC in
MPEG-TS over SRT or UDP (see `visualizer.record.network`), for a second room or a remote screen
(OBS's media source and VLC open it).

The picture is the audience's (no HUD), read back through a frame tap at output.stream.size; the
sound is the captured input. Both go to a `Recorder` whose target is the link: the same encoder
thread and drop-never-block rule as a recording (when the encoder or the link falls behind,
frames are dropped and counted; the show never waits). Frames are placed by the audio they
react to, so the far side sees the picture in step with its sound. The stream starts with the
show's first frame (SRT: once connected, on a keyframe; a listener waits for its caller as long
as it takes) and ends with the show.

Connecting happens on the encoder thread, never the render thread. When the link fails (an SRT
caller that nobody answers, a connection lost mid-show, the caller of a listener leaving, a
network error), one line naming the address goes to the HUD and the log, and the show goes on.
Then a new connection is tried every ``retry_s`` (5 s) for as long as the show runs, so a
receiver that comes (back) later gets the stream. UDP has no connection: it fails only on a
local network error, and a receiver may come and go at any time (it starts at the next
keyframe, at most ``record.keyframe_s`` away).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from visualizer.record.encoders import pick_encoder
from visualizer.record.network import check_stream_url, parse_stream_url
from visualizer.record.recorder import Recorder
from visualizer.record.writer import StreamSpec

if TYPE_CHECKING:
    import numpy as np

    from visualizer.app import LiveApp, Tick
    from visualizer.render.renderer import TappedFrame
    from visualizer.settings import StreamOutSettings

log = logging.getLogger(__name__)

RETRY_S = 5.0  # a failed link is tried again this long after it failed
STOP_WAIT_S = 10.0  # the end of the show waits at most this long for the stream to finish


class LiveStream:
    """The stream of a running LiveApp; see the module docstring."""

    def __init__(self, app: LiveApp, settings: StreamOutSettings, *, retry_s: float = RETRY_S,
                 what: str = "output.stream.url") -> None:
        """``settings``: [output.stream] (its url set). ``what``: how a bad url is named in the
        one-line GansmaniaError raised here, before the show starts (``--stream``)."""
        self.app = app
        self.settings = settings
        self.target = parse_stream_url(settings.url, video_kbps=settings.video_kbps, what=what)
        check_stream_url(self.target, what=what)
        self.size = app.size_for(settings.size)
        self.retry_s = retry_s
        self.record = app.show.record
        self.encoder = pick_encoder(self.record.encoder)  # probe now, not between two frames
        self.recorder: Recorder | None = None
        self.connections = 0  # links tried: the first and every retry
        self.failures = 0
        self.error = ""  # the last failure's line
        self._sent = self._dropped = self._audio_dropped = self._link_dropped = 0  # of ended links
        self._retry_at: float | None = None
        self._removers: tuple[Any, ...] = ()
        self._remove_hook = app.add_frame_hook(self._on_tick)

    # ------------------------------------------------------------------ the render thread

    def _on_tick(self, tick: Tick) -> None:
        if not self._removers:  # the show's first frame: taps and listeners belong to this thread
            self._removers = (self.app.add_frame_tap(self.size, self._on_frame),
                              self.app.add_audio_listener(self._on_audio))
            self._connect()
            return
        recorder = self.recorder
        if recorder is None or recorder.recording:
            return
        if self._retry_at is None:  # it has just failed: say so here, where the HUD is drawn
            status = recorder.status
            self.failures += 1
            self.error = status.message
            self._retry_at = tick.now_s + self.retry_s
            self.app.report_error("stream", f"{status.message}; trying again every "
                                            f"{self.retry_s:g} s")
        elif tick.now_s >= self._retry_at:
            self._connect()

    def _connect(self) -> None:
        self._retire()
        source = self.app.analyzer.source
        spec = StreamSpec(size=self.size, fps=self.settings.fps,
                          sample_rate=source.sample_rate, channels=source.channels)
        # Time 0 of the stream: the first audio block the listener hands over.
        self.recorder = Recorder(self.target, spec, origin_s=None, settings=self.record).start()
        if not self.connections:
            log.info("streaming to %s (%s, %dx%d at %g fps, %d kbit/s)", self.target.url,
                     self.encoder, *spec.encoded_size, spec.fps, self.settings.video_kbps)
        self.connections += 1
        self._retry_at = None

    def _on_frame(self, tapped: TappedFrame) -> None:
        recorder = self.recorder
        if recorder is None or not recorder.ready:  # not connected (yet): nothing to send to
            return
        frame = tapped.frame
        stamp = frame.presented_s if frame.fx_capture_s is None else frame.fx_capture_s
        # The tap's pixels are a fresh array per frame: nothing reuses them, no copy needed.
        recorder.add_frame(tapped.pixels, t_s=stamp)

    # ------------------------------------------------------------------ the analysis thread

    def _on_audio(self, block: np.ndarray, t_audio: float) -> None:
        recorder = self.recorder
        if recorder is None or not recorder.ready:
            return
        # The block is reused by the analyzer: copy it. t_audio is its last sample's time.
        rate = recorder.spec.sample_rate
        recorder.add_audio(block.copy(), t_s=t_audio - block.shape[0] / rate)

    # ------------------------------------------------------------------ the end

    def _retire(self) -> None:
        """Count what the current link did, and let it go."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            status = recorder.stop(timeout_s=STOP_WAIT_S)
            if status.state == "failed" and self._retry_at is None:  # failed as the show ended
                self.failures += 1
                self.error = status.message
            self._sent += status.frames
            self._dropped += status.dropped
            self._audio_dropped += status.audio_dropped
            self._link_dropped += status.link_dropped

    def close(self) -> None:
        """After the show (on its thread): the frames still in the tap go out, then the stream
        ends."""
        self._remove_hook()
        for remove in self._removers:
            remove()
        self._removers = ()
        self._retire()

    def stats(self) -> dict[str, Any]:
        """The ``stream`` entry of `live --stats`."""
        recorder = self.recorder
        status = recorder.status if recorder is not None else None
        return {
            "url": self.target.url,
            "size": list(self.size),
            "fps": self.settings.fps,
            "video_kbps": self.settings.video_kbps,
            "encoder": self.encoder,
            "frames_sent": self._sent + (status.frames if status else 0),
            # The encoder or the link fell behind (the show did not wait for it).
            "frames_dropped": self._dropped + (status.dropped if status else 0),
            "audio_dropped": self._audio_dropped + (status.audio_dropped if status else 0),
            # Datagrams (1316 bytes) the UDP socket could not take when they were sent.
            "link_dropped": self._link_dropped + (status.link_dropped if status else 0),
            "connections": self.connections,
            "failures": self.failures,
            "error": self.error,
        }
