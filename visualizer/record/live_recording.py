"""Recording and logging inside `gansmania live`: the R key, `--record`, `--log`.

`LiveRecorder` owns the ``record_toggle``/``record_start``/``record_stop`` actions (R key; OSC
``/gm/record/start|stop`` post the same actions; ``record_start``'s value, when there is one, is
the file to record to). A recording takes the frames the audience
sees (a frame tap at record.size: no HUD, read back asynchronously) and the captured audio, each with its capture-clock stamp;
starting happens on the render thread between two frames, stopping finishes the file on a
background thread, so neither stalls the show. A failure (full disk) ends the recording with a
HUD message; the show goes on and R starts a new file.

`ShowLogger` (``--log SHOW.gmlog``) writes every control event (OSC, MIDI, keys, web; tempo and
seeds included) with its audio time, for `gansmania render --replay`.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visualizer.control.shader_params import RESET_SOURCE
from visualizer.core.errors import GansmaniaError
from visualizer.record.encoders import pick_encoder
from visualizer.record.recorder import Recorder, default_recording_path, recording_folder
from visualizer.record.showlog import ShowEvent, ShowLogHeader, ShowLogWriter

if TYPE_CHECKING:
    import numpy as np

    from visualizer.app import LiveApp, Tick
    from visualizer.control.params import Action, ControlEvent
    from visualizer.render.renderer import TappedFrame
    from visualizer.settings import RecordSettings

log = logging.getLogger(__name__)

START_WAIT_S = 5.0  # `--record` starts when the show runs, or after this long regardless
CAUGHT_UP_S = 0.1  # analysis this close to the newest captured audio counts as running


class LiveRecorder:
    """Recordings of a running LiveApp; see the module docstring."""

    def __init__(self, app: LiveApp, *, path: Path | None = None) -> None:
        """``path``: where the first recording goes (``--record``; it starts with the show);
        later ones (R key) get timestamped names in record.folder."""
        self.app = app
        self.settings = app.show.record
        self.recorder: Recorder | None = None
        self._first: Recorder | None = None  # the show's first recording
        self._first_path = path
        self._removers: tuple[Any, ...] = ()
        self._finishing: list[threading.Thread] = []
        # Load PyAV and probe the encoders now, not between two frames when R is pressed.
        pick_encoder(self.settings.encoder)
        app.on_action("record_toggle", lambda action: self.stop() if self.recording else self.start())
        app.on_action("record_start", self._start_action)
        app.on_action("record_stop", lambda action: self.stop())
        if path is not None:
            # The audio source opens in app.run(), and the first second of a show is start-up
            # (the analysis catching up, the first generator frame): start once it runs.
            remover = None
            deadline: list[float] = []

            def when_running(tick: Tick) -> None:
                if not deadline:
                    deadline.append(tick.now_s + START_WAIT_S)
                if not self._show_running() and tick.now_s < deadline[0]:
                    return
                remover()
                self.start(path)

            remover = app.add_frame_hook(when_running)

    @property
    def origin_s(self) -> float | None:
        """Capture time at which the show's first recording begins (None: none yet)."""
        return None if self._first is None else self._first.origin_s

    @property
    def recording(self) -> bool:
        return self.recorder is not None and self.recorder.recording

    def _show_running(self) -> bool:
        """The analysis keeps up with the input and the generator has painted."""
        analyzer = self.app.analyzer
        latest = analyzer.latest.get()
        if latest is None or self.app.worker.latest.get() is None:
            return False
        source = analyzer.source
        return source.time_of(source.ring.written) - latest.t_audio < CAUGHT_UP_S

    def start(self, path: Path | None = None) -> Recorder | None:
        """Start a recording (a no-op while one runs); errors go to the HUD, not up."""
        from visualizer.record.writer import StreamSpec

        if self.recording:
            return self.recorder
        self._detach()
        source = self.app.analyzer.source
        path = path or default_recording_path(self.settings)
        size = self.app.size_for(self.settings.size)
        spec = StreamSpec(size=size, fps=self.settings.fps,
                          sample_rate=source.sample_rate, channels=source.channels)
        # Time 0 of the file: the first audio block the listener hands over.
        recorder = Recorder(path, spec, origin_s=None, settings=self.settings,
                            config=self.app.show, on_screen=self.settings.align == "presented",
                            on_failure=lambda message: self.app.report_error("record", message))
        try:
            recorder.start()
        except GansmaniaError as exc:
            self.app.report_error("record", str(exc))
            return None
        self.recorder = recorder
        self._first = self._first or recorder
        align_audio = self.settings.align == "audio"
        sample_rate = source.sample_rate

        def on_frame(tapped: TappedFrame) -> None:
            if not recorder.recording:
                return  # failed: the next start() detaches us
            shown = tapped.frame
            stamp = shown.fx_capture_s if align_audio else shown.presented_s
            # The tap's pixels are a fresh array per frame: nothing reuses them, no copy needed.
            recorder.add_frame(tapped.pixels, t_s=shown.presented_s if stamp is None else stamp)

        def on_audio(block: np.ndarray, t_audio: float) -> None:
            # The block is reused by the analyzer: copy it. t_audio is its last sample's time.
            recorder.add_audio(block.copy(), t_s=t_audio - block.shape[0] / sample_rate)

        # A frame tap: the picture at the recording's own size, read back without a stall; its
        # remover hands over the frames still in flight, so stop() loses none.
        self._removers = (self.app.add_frame_tap(size, on_frame),
                          self.app.add_audio_listener(on_audio))
        log.info("recording %s", path)
        return recorder

    def _start_action(self, action: Action) -> None:
        """``record_start`` (OSC ``/gm/record/start [path]``): to the path it names, else to a
        timestamped file in record.folder. A bad path is a HUD message; the show goes on."""
        if self.recording:
            return
        try:
            path = requested_path(action.value, self.settings)
        except GansmaniaError as exc:
            self.app.report_error("record", str(exc))
            return
        self.start(path)

    def stop(self) -> None:
        """Stop the recording; the file is finished on a background thread."""
        recorder = self.recorder
        self._detach()
        if recorder is None or not recorder.recording:
            return
        thread = threading.Thread(target=self._finish, args=(recorder,), name="recorder-stop",
                                  daemon=True)
        thread.start()
        self._finishing.append(thread)

    def _finish(self, recorder: Recorder) -> None:
        status = recorder.stop()
        if status.state == "finished":
            log.info("recorded %s: %.1f s, %d frames dropped", status.path, status.duration_s,
                     status.dropped)

    def _detach(self) -> None:
        for remove in self._removers:
            remove()
        self._removers = ()

    def close(self, *, timeout_s: float = 60.0) -> None:
        """At the end of the show: stop and wait until every file is finished."""
        self.stop()
        for thread in self._finishing:
            thread.join(timeout=timeout_s)
        self._finishing.clear()


def requested_path(value: Any, settings: RecordSettings) -> Path | None:
    """The file a ``record_start`` action names: None (no value) = a timestamped take.

    A relative path is in record.folder (a remote controller does not know the show's working
    folder); no suffix gets the record.container one. GansmaniaError (one line) for a value that
    is not text, a folder, an unknown container, or an existing file: a take sent twice must not
    overwrite the first.
    """
    from visualizer.record.writer import SUFFIXES

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str | Path):
        raise GansmaniaError(f"record_start: the path must be text, got {value!r}")
    path = Path(str(value).strip()).expanduser()
    if not path.is_absolute():
        path = recording_folder(settings) / path
    if path.is_dir():
        raise GansmaniaError(f"record_start {value}: {path} is a folder; name a file "
                             f"({', '.join(SUFFIXES)})")
    if not path.suffix:
        path = path.with_name(f"{path.name}.{settings.container}")
    elif path.suffix.lower() not in SUFFIXES:
        raise GansmaniaError(f"record_start {value}: unknown container {path.suffix!r}; "
                             f"allowed: {', '.join(SUFFIXES)}")
    if path.exists():
        raise GansmaniaError(f"record_start {value}: {path} exists; not overwritten")
    return path


class ShowLogger:
    """Writes the show's control events to a ``.gmlog`` as they happen."""

    # Actions that belong to the live session (not the picture) are still logged; a replay
    # skips them. Changes a preset or fx_reset makes itself are not: the replayed preset or
    # fx_reset makes them again.
    DERIVED_SOURCES = frozenset({"preset", RESET_SOURCE})

    def __init__(self, app: LiveApp, path: Path, *, recorder: LiveRecorder | None = None) -> None:
        from visualizer.audio.sources import looks_like_file
        from visualizer.core.config import values_of
        from visualizer.core.config import to_dict

        self.app = app
        self.recorder = recorder
        self.path = Path(path)
        self._is_file = looks_like_file(app.show.audio.input)
        self._origin_s: float | None = None
        params = app.params.snapshot()
        self.writer = ShowLogWriter(self.path, ShowLogHeader(
            audio=app.show.audio.input, seed=int(params.get("walk.bank", 0)),
            preset=app.preset_name, fps=app.show.display.fps, config=to_dict(app.show)))
        self._values_of = values_of
        self._remove = app.add_event_listener(self._on_event)

    def origin_s(self) -> float:
        """Capture time of audio position 0: a file's first sample; for a device, the start of
        the `--record` recording when there is one (its audio is what a replay renders)."""
        if self._origin_s is None:
            if not self._is_file and self.recorder is not None and self.recorder.origin_s is not None:
                self._origin_s = self.recorder.origin_s
            else:
                self._origin_s = self.app.analyzer.source.time_of(0)
        return self._origin_s

    def audio_position(self, t_capture: float | None = None) -> float:
        """Seconds of audio since position 0, at capture time ``t_capture`` (default: the newest
        analysed hop: what the show reacted to when the event took effect)."""
        if t_capture is None:
            latest = self.app.analyzer.latest.get()
            t_capture = latest.t_audio if latest is not None else time.monotonic()
        return max(0.0, t_capture - self.origin_s())

    def _on_event(self, event: ControlEvent) -> None:
        if event.source in self.DERIVED_SOURCES:
            return
        t = self.audio_position()
        value = event.value
        if event.kind == "param":
            kind = "set"
        elif event.name == "bpm":
            kind = "tempo"
        else:
            kind = "action"
            if event.name == "tap" and isinstance(value, int | float):
                value = self.audio_position(float(value))  # a tap's own time, on the audio's clock
        self.writer.write(ShowEvent(t_s=t, kind=kind, name=event.name, value=value,
                                    source=event.source))

    def close(self) -> None:
        self._remove()
        self.writer.close()
        if not self._is_file and (self.recorder is None or self.recorder.origin_s is None):
            log.warning("%s: the show ran on a live input; to replay it, record its audio too "
                        "(live --record OUT --log %s)", self.path, self.path.name)


class LiveRecording:
    """What `live --record/--log` install: the recorder (always: the R key) and the logger."""

    def __init__(self, app: LiveApp, *, record: Path | None = None, log_path: Path | None = None) -> None:
        self.recorder = LiveRecorder(app, path=record)
        self.logger = ShowLogger(app, log_path, recorder=self.recorder) if log_path else None

    def close(self) -> None:
        """After the show: finish the log and every recording file."""
        if self.logger is not None:
            self.logger.close()
        self.recorder.close()
