"""Control surfaces in `gansmania live`: OSC in and out, MIDI in, and the tempo source, wired
into a LiveApp through its extension points only (ParamStore, on_action, frame hook, analyzer
hook). The web remote (`visualizer.web`) shares its route table and status.

    surfaces = ControlSurfaces(app, show.control, recording=lambda: recorder.recording)
    ... app.run() ...
    surfaces.close()

Install it after the presets (the route table lists the parameters the store holds then).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from visualizer.control.routes import ProblemLog, RouteTable, build_routes
from visualizer.core.errors import GansmaniaError

if TYPE_CHECKING:
    from visualizer.app import LiveApp
    from visualizer.settings import ControlSettings

log = logging.getLogger(__name__)


def check_settings(settings: ControlSettings) -> None:
    """The mistakes a show would only find after loading its model: one line, at once."""
    from visualizer.control.osc import parse_allow

    if settings.tempo_source == "midi" and not settings.midi_in:
        raise GansmaniaError("--tempo-source midi needs a MIDI input: --midi-in PORT")
    parse_allow(settings.osc_allow)
    if settings.tempo_source == "link" or settings.link_lead:
        try:
            import link  # noqa: F401
        except ImportError:
            raise GansmaniaError("Ableton Link needs the LinkPython-extern package: pip install "
                                 "LinkPython-extern") from None


def live_status(app: LiveApp, *, recording: Callable[[], bool], tempo: str,
                fps: float = 0.0) -> dict[str, Any]:
    """The status values the state feeds send (besides the parameters), from the running app."""
    frame = app.analyzer.latest.get()
    return {
        "preset": app.preset_name,
        "bpm": round(frame.bpm, 2) if frame is not None else 0.0,
        "beat": round(frame.beat_phase, 3) if frame is not None and frame.bpm > 0 else 0.0,
        "level": round(frame.level, 3) if frame is not None else 0.0,
        # Per-band hit envelopes (1 at a hit, decaying): a controller's LEDs blink with the
        # kick and hats. Two decimals: the feed sends only what changed, so less churn.
        "low_hit": round(frame.low_hit_envelope, 2) if frame is not None else 0.0,
        "mid_hit": round(frame.mid_hit_envelope, 2) if frame is not None else 0.0,
        "high_hit": round(frame.high_hit_envelope, 2) if frame is not None else 0.0,
        "fps": round(fps, 1),
        "recording": bool(recording()),
        "tempo": tempo,
    }


class FrameRate:
    """A frame hook measuring the display rate over the last second; ``fps`` may be read from
    any thread (LiveStats belongs to the render thread)."""

    WINDOW_S = 1.0

    def __init__(self) -> None:
        self._times: collections.deque[float] = collections.deque()
        self.fps = 0.0

    def __call__(self, tick) -> None:
        self._times.append(tick.now_s)
        while tick.now_s - self._times[0] > self.WINDOW_S:
            self._times.popleft()
        span = self._times[-1] - self._times[0]
        self.fps = (len(self._times) - 1) / span if span > 0 else 0.0


class ControlSurfaces:
    """OSC server + state feed, MIDI input + learn, tempo source (see the module docstring).
    Raises GansmaniaError (one line) for a port in use, a missing MIDI port, a missing Link."""

    def __init__(self, app: LiveApp, settings: ControlSettings, *,
                 recording: Callable[[], bool] | None = None) -> None:
        from visualizer.control.osc_feedback import OscFeed

        self.app = app
        self.settings = settings
        self.table: RouteTable = build_routes(app.params)
        self.server = self.feed = self.midi = self.router = None
        self._recording = recording or (lambda: False)
        self.frame_rate = FrameRate()
        self._closers: list[Callable[[], None]] = [app.add_frame_hook(self.frame_rate)]
        try:
            self.midi_clock = self._install_midi()
            self.clock = self._install_tempo()
            if settings.osc_port:
                self.feed = OscFeed(self.table, app.params, send=self._send,
                                    rate_hz=settings.feedback_hz, status=self.status)
                self._closers.append(self.feed.close)
                self._install_osc()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ OSC

    def _install_osc(self) -> None:
        from visualizer.control.osc import Listen, OscServer

        s, feed = self.settings, self.feed
        problems = ProblemLog("OSC", on_new=lambda message: self.app.report_error("osc", message))
        self.server = OscServer(self.table, Listen(s.osc_host, s.osc_port, s.osc_allow),
                                problems=problems,
                                transport={"/gm/subscribe": feed.subscribe,
                                           "/gm/unsubscribe": feed.unsubscribe,
                                           "/gm/state": feed.request})
        self.server.dispatcher.on_message = feed.renew
        self._closers.append(self.server.close)
        self.server.start()
        feed.start()
        self.app.osc_port = self.server.port

    def _send(self, datagram: bytes, address: tuple[str, int]) -> None:
        if self.server is not None:
            self.server.send(datagram, address)

    # ------------------------------------------------------------------ MIDI

    def _install_midi(self):
        from visualizer.control.midi import MidiClock, MidiInput, MidiRouter, learned_path, load_midi_map

        s = self.settings
        if not s.midi_in:
            if s.tempo_source == "midi":
                raise GansmaniaError("--tempo-source midi needs a MIDI input: --midi-in PORT")
            self.app.on_action("learn", lambda action: self._report(
                "MIDI learn needs a MIDI input: start with --midi-in PORT"))
            return None
        bindings = load_midi_map(s.midi_map, self.table) if s.midi_map else {}
        learned = learned_path()
        if learned.exists():
            try:
                bindings.update(load_midi_map(learned, self.table))
            except GansmaniaError as exc:  # an old file may name addresses that are gone
                self._report(f"{exc} (learned bindings not loaded)")
        clock = MidiClock() if s.tempo_source == "midi" else None
        self.router = MidiRouter(self.table, bindings, clock=clock, learned_file=learned,
                                 problems=ProblemLog("MIDI", on_new=self._report),
                                 on_notice=self._report)
        self.midi = MidiInput(s.midi_in, self.router, api=s.midi_api)
        self._closers.append(self.midi.close)
        self.app.on_action("learn", lambda action: self._report(self.router.learn(action.value)))
        return clock

    # ------------------------------------------------------------------ tempo

    def _install_tempo(self):
        from visualizer.control.link import LinkClock, LinkLeader
        from visualizer.control.tempo import TapClock, TempoOverride

        s = self.settings
        clock = {"audio": lambda: None, "tap": TapClock, "midi": lambda: self.midi_clock,
                 "link": lambda: LinkClock(quantum=s.link_quantum)}[s.tempo_source]()
        override = None
        if clock is not None:
            self._closers.append(clock.close)
            override = TempoOverride(clock)
            self.app.on_action("tap", lambda action: clock.tap(action.value or action.t_s))
            self.app.on_action("bpm", lambda action: self._report(clock.set_bpm(action.value)))
        if s.link_lead and s.tempo_source != "link":
            leader = LinkLeader(LinkClock(quantum=s.link_quantum))
            self._closers.append(leader.close)
            inner = override
            override = leader if inner is None else (lambda frame: leader(inner(frame)))
        if override is not None:
            self.app.analyzer.tempo_override = override
            self._closers.append(lambda: setattr(self.app.analyzer, "tempo_override", None))
        log.info("tempo source: %s%s", s.tempo_source, " (leading Link)" if s.link_lead else "")
        return clock

    # ------------------------------------------------------------------ shared

    def status(self) -> dict[str, Any]:
        """The status values every state feed (OSC, web) sends besides the parameters."""
        return live_status(self.app, recording=self._recording, tempo=self.settings.tempo_source,
                           fps=self.frame_rate.fps)

    def stats(self) -> dict[str, Any]:
        """Counters for --stats: OSC datagrams received/applied/refused, problems, MIDI."""
        found: dict[str, Any] = {"tempo_source": self.settings.tempo_source}
        if self.server is not None:
            found["osc"] = {"port": self.server.port, "received": self.server.received,
                            "applied": self.server.dispatcher.applied,
                            "refused": self.server.refused,
                            "problems": self.server.problems.total,
                            "subscribers": len(self.feed.subscribers) if self.feed else 0}
        if self.midi is not None:
            found["midi"] = {"port": self.midi.name, "received": self.midi.received,
                             "problems": self.router.problems.total}
        return found

    def _report(self, message: str | None) -> None:
        if message:
            self.app.report_error("control", message)

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # closing one surface must not leave the others open
                log.exception("closing a control surface failed")
        self._closers.clear()
