"""MIDI in: notes and CCs mapped to the same routes as OSC, MIDI learn, and MIDI clock.

Transport (:class:`MidiInput`: an RtMidi port, ALSA or JACK, read from its queue) is separate from routing
(:class:`MidiRouter`: message -> binding -> ``RouteTable.dispatch``), so the router is tested
with message objects and the port with a real virtual RtMidi port.

A mapping file (``--midi-map FILE``, TOML) has one table per control::

    [master]                   # any name
    cc = 7                     # or: note = 36
    channel = 0                # 1-16; 0 = any channel
    address = "/gm/intensity"  # an address from `gansmania osc addresses`
    range = [0.0, 1.0]         # optional: the value at 0 and at 127 (default: the address's range)
    value = "tunnel"           # optional: what a note or button sends (e.g. with /gm/preset)

A CC sweeps a parameter over its range (bools: on from 64); a note sets it to the top of its
range while held. A CC crossing 64 upwards or a note-on triggers an action. MIDI learn
(``/gm/learn ADDRESS``, or the L key for the control touched last) binds the next CC or note
that arrives and saves it to ``<user dir>/midi-learned.toml``, loaded at every start after the
mapping file.

MIDI clock (24 pulses per quarter note, start/stop/continue/song position) is a tempo source
(`visualizer.control.tempo`): :class:`MidiClock`.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from visualizer.control.routes import ProblemLog, RouteTable, is_release, problem_key
from visualizer.core.config import Origin, from_dict, read_toml, setting
from visualizer.core.errors import ConfigError, GansmaniaError

log = logging.getLogger(__name__)

PPQN = 24  # MIDI clock pulses per quarter note
LOST_PULSE_DEBT = 0.75  # pulses' worth of time owed, beyond what arrived, that counts as lost
DEBT_LEAK = 0.9  # per pulse: early and late deliveries offset within a few pulses, then fade
LEARNED_FILE = "midi-learned.toml"
APIS = ("auto", "alsa", "jack")
_RTMIDI_APIS = {"alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK"}
QUEUE_SIZE = 4096  # messages RtMidi holds for the reader (~1.4 s of dense clock + CCs)
POLL_S = 0.002  # the reader's sleep when the queue is empty: control latency, not timing
DRIFT_S_PER_S = 1e-4  # driver vs monotonic clock rates may differ this much (100 ppm)
_CLOCK_TYPES = frozenset({"clock", "start", "stop", "continue", "songpos"})


# ----------------------------------------------------------------------------- the map

@dataclass(frozen=True)
class MidiBinding:
    cc: int | None = setting(None, doc="controller number (0-127); give cc or note", min=0, max=127)
    note: int | None = setting(None, doc="note number (0-127); give cc or note", min=0, max=127)
    channel: int = setting(0, doc="MIDI channel 1-16; 0 = any", min=0, max=16)
    address: str = setting("", doc="the OSC address it drives (`gansmania osc addresses`)")
    range: tuple[float, ...] = setting((), doc="[value at 0, value at 127]; empty = the address's "
                                              "range")
    value: float | str | None = setting(None, doc="the argument a note or button sends "
                                                  "(e.g. a preset name for /gm/preset)")

    @property
    def key(self) -> tuple[str, int, int]:
        return ("cc", self.channel, self.cc) if self.cc is not None else ("note", self.channel, self.note)


def load_midi_map(path: Path, table: RouteTable) -> dict[str, MidiBinding]:
    """The bindings of the mapping file at ``path``, each checked against ``table``;
    ConfigError (one line: file:line, key, what is allowed) on the first problem."""
    data, text = read_toml(path)
    origin = Origin(str(path), text)
    bindings = {}
    for name, table_data in data.items():
        if not isinstance(table_data, Mapping):
            raise ConfigError(f"{origin.where(name)}: key '{name}' must be a table [{name}] with "
                              "cc or note, and address")
        binding = from_dict(MidiBinding, table_data, origin=origin, prefix=f"{name}.")
        check_binding(binding, table, where=f"{origin.where(name + '.address')}: [{name}]")
        bindings[name] = binding
    return bindings


def check_binding(binding: MidiBinding, table: RouteTable, *, where: str) -> None:
    if (binding.cc is None) == (binding.note is None):
        raise ConfigError(f"{where}: give exactly one of cc = 0..127 or note = 0..127")
    route = table.get(binding.address)
    if route is None:
        raise ConfigError(f"{where}: address {binding.address!r} is not one of the show's "
                          "addresses; see `gansmania osc addresses --all`")
    if binding.range and len(binding.range) != 2:
        raise ConfigError(f"{where}: range must be [value at 0, value at 127], got "
                          f"{list(binding.range)}")
    if route.kind == "param" and not binding.range and binding.value is None \
            and table.value_range(route) is None:
        raise ConfigError(f"{where}: {binding.address} has no fixed range; give range = [lo, hi] "
                          "or value = ...")


def save_bindings(path: Path, bindings: Mapping[str, MidiBinding]) -> None:
    """Write ``bindings`` as a mapping file (MIDI learn's results)."""
    tables = {}
    for name, b in bindings.items():
        fields = {k: v for k, v in dataclasses.asdict(b).items() if v not in (None, ())}
        fields["range"] = list(b.range) if b.range else None
        tables[name] = {k: v for k, v in fields.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# MIDI learn results (gansmania live, /gm/learn or the L key); edit freely.\n"
    path.write_text(text + tomli_w.dumps(tables), encoding="utf-8")


def learned_path() -> Path:
    from visualizer.core.paths import user_dir

    return user_dir() / LEARNED_FILE


# ----------------------------------------------------------------------------- routing

class MidiRouter:
    """MIDI messages -> route-table writes (any thread; MidiInput's reader calls it)."""

    def __init__(self, table: RouteTable, bindings: Mapping[str, MidiBinding] | None = None, *,
                 clock: MidiClock | None = None, problems: ProblemLog | None = None,
                 learned_file: Path | None = None,
                 on_notice: Callable[[str], None] | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.table = table
        self.clock = clock
        self.problems = problems or ProblemLog("MIDI")
        self.learned_file = learned_file
        self.on_notice = on_notice or (lambda message: log.info("%s", message))
        self._now = now
        self._bindings: dict[str, MidiBinding] = {}
        self._by_key: dict[tuple[str, int, int], MidiBinding] = {}
        self._cc: dict[tuple[int, int], int] = {}  # last CC value per (channel, number)
        self._learning: str | None = None
        self._lock = threading.Lock()
        self.set_bindings(bindings or {})

    @property
    def bindings(self) -> dict[str, MidiBinding]:
        return dict(self._bindings)

    def set_bindings(self, bindings: Mapping[str, MidiBinding]) -> None:
        with self._lock:
            self._bindings = dict(bindings)
            self._by_key = {b.key: b for b in self._bindings.values()}

    # ------------------------------------------------------------------ learn

    @property
    def learning(self) -> str | None:
        """The address the next CC or note will be bound to (None: not learning)."""
        return self._learning

    def learn(self, address: str | None) -> str | None:
        """Arm MIDI learn for ``address`` (None: the control touched last). Returns a problem."""
        address = address or self.table.last_touched
        if address is None:
            return "MIDI learn: touch a control first (or send /gm/learn ADDRESS)"
        if self.table.get(address) is None:
            return f"MIDI learn: {address!r} is not an address of this show"
        self._learning = address
        self.on_notice(f"MIDI learn: move a control to bind it to {address}")
        return None

    def _bind(self, kind: str, channel: int, number: int) -> None:
        address, self._learning = self._learning, None
        route = self.table.get(address)
        binding = MidiBinding(**{kind: number}, channel=channel, address=address)
        if route is not None and route.kind == "param" and self.table.value_range(route) is None:
            binding = dataclasses.replace(binding, range=(0.0, 127.0))  # e.g. the seed bank
        name = f"{kind}{number}_ch{channel}"
        with self._lock:
            kept = {n: b for n, b in self._bindings.items() if b.key != binding.key}
        self.set_bindings({**kept, name: binding})
        self.on_notice(f"MIDI learn: {kind} {number} (channel {channel}) -> {address}")
        if self.learned_file is not None:
            self._save_learned(name, binding)

    def _save_learned(self, name: str, binding: MidiBinding) -> None:
        try:
            saved = load_midi_map(self.learned_file, self.table) if self.learned_file.exists() else {}
        except GansmaniaError as exc:
            log.warning("%s; starting it afresh", exc)
            saved = {}
        saved = {n: b for n, b in saved.items() if b.key != binding.key}
        saved[name] = binding
        try:
            save_bindings(self.learned_file, saved)
        except OSError as exc:
            self.on_notice(f"MIDI learn: cannot save {self.learned_file} ({exc})")

    # ------------------------------------------------------------------ messages

    def handle(self, message: Any, t_s: float | None = None) -> None:
        """One mido message, received at time.monotonic() ``t_s`` (default: now)."""
        kind = message.type
        if kind in _CLOCK_TYPES:
            if self.clock is not None:
                self.clock.feed(message, self._now() if t_s is None else t_s)
            return
        if kind == "control_change":
            channel, number, value = message.channel + 1, message.control, message.value
            previous = self._cc.get((channel, number), 0)
            self._cc[(channel, number)] = value
            self._route("cc", channel, number, value=value, pressed=previous < 64 <= value)
        elif kind in ("note_on", "note_off"):
            on = kind == "note_on" and message.velocity > 0
            self._route("note", message.channel + 1, message.note, value=127 if on else 0,
                        pressed=on)

    def _route(self, kind: str, channel: int, number: int, *, value: int, pressed: bool) -> None:
        if self._learning is not None:
            if kind == "cc" or pressed:  # a note binds on its press, not its release
                self._bind(kind, channel, number)
            return
        binding = self._by_key.get((kind, channel, number)) or self._by_key.get((kind, 0, number))
        if binding is None:
            return
        route = self.table.get(binding.address)
        if route is None:
            return
        if route.kind == "action":
            if not pressed:
                return
            args = [] if binding.value is None else [binding.value]
        elif kind == "note" and binding.value is not None:
            if not pressed:
                return
            args = [binding.value]
        else:
            args = [self._scaled(binding, route, value)]
        error = self.table.apply(route, args, source="midi")
        if error is not None and not is_release(error):
            self.problems.problem(problem_key(error), error)

    def _scaled(self, binding: MidiBinding, route, value: int) -> Any:
        spec = self.table.params.spec(route.target)
        if spec is not None and spec.kind == "bool":
            return value >= 64
        lo, hi = binding.range or self.table.value_range(route) or (0.0, 127.0)
        scaled = lo + (hi - lo) * value / 127.0
        return round(scaled) if spec is not None and spec.kind == "int" else scaled


# ----------------------------------------------------------------------------- clock

class MidiClock:
    """An ExternalTempo from MIDI clock messages (see `visualizer.control.tempo`).

    Tempo: the least-squares slope of pulse time over pulse number across the last ``window``
    pulses. A median interval would snap to the transport's delivery steps (JACK hands pulses
    over once per period, 5-20 ms) and to scheduling delays; the slope averages them out.

    Lost pulses (a JACK overrun drops a cycle's events) are counted, so the tempo and the beat
    position do not fall behind: each interval adds the pulses' worth of time it took, minus
    the one pulse that came, to a leaky "debt"; debt beyond LOST_PULSE_DEBT is pulses that never
    came. A late cycle delivers several pulses at once, with one time, after a long gap: the
    gap's pulses are counted when it ends, and the ones that then arrive with it are not counted
    again, so a busy transport is not mistaken for a lossy one.

    Position: pulses / 24, plus
    the time since the last pulse (never more than one pulse ahead: when the clock stops, the
    beat does too). ``start`` and ``song position`` set the count; ``stop`` stops the clock
    (the show goes back to the audio tempo until it runs again).
    """

    name = "midi"

    def __init__(self, *, window: int = 2 * PPQN, timeout_s: float = 0.5) -> None:
        self.timeout_s = timeout_s
        self._fit: collections.deque[tuple[int, float]] = collections.deque(maxlen=window)
        self._intervals: collections.deque[float] = collections.deque(maxlen=window)
        self._count = 0  # pulses seen or inferred, for the fit (start/songpos leave it alone)
        self._debt = 0.0  # pulses' worth of time beyond the pulses that came (see above)
        self._counted_ahead = 0  # pulses of the current delivery counted as lost before it came
        self._pulses = 0
        self._last_s: float | None = None
        self._running = True  # clock without a start message still counts (many devices)
        # (pulse period s, time of the last pulse, pulses then): replaced whole.
        self._state: tuple[float, float, int] | None = None

    def feed(self, message: Any, t_s: float) -> None:
        kind = message.type
        if kind == "clock":
            step = 1
            interval = None if self._last_s is None else t_s - self._last_s
            if interval is not None and 0.0 <= interval < self.timeout_s:
                step = self._pulses_in(interval)
                if interval > 0.0:  # pulses delivered together say nothing about the period
                    self._intervals.append(interval)
            elif interval is not None:
                self._fit.clear()  # a gap: the old tempo says nothing about the new one
                self._intervals.clear()
                self._debt = 0.0
            self._last_s = t_s
            self._count += step
            self._fit.append((self._count, t_s))
            if self._running:
                self._pulses += step
            if len(self._fit) >= PPQN // 2:
                self._state = (_slope(self._fit), t_s, self._pulses)
        elif kind == "start":
            self._pulses, self._running = 0, True
            self._state = None if self._state is None else (self._state[0], t_s, 0)
        elif kind == "continue":
            self._running = True
        elif kind == "stop":
            self._running = False
            self._state = None
        elif kind == "songpos":  # in sixteenth notes: 6 pulses each
            self._pulses = message.pos * 6
            if self._state is not None:
                self._state = (self._state[0], t_s, self._pulses)

    def _pulses_in(self, interval: float) -> int:
        """Pulses this one stands for: 1; plus those lost before it; or 0 when it is one that
        was already counted as lost (see the class doc). Measured in periods of the fitted
        tempo (unbiased; the median of intervals quantised to JACK periods is not), or of the
        median interval until there is a fit."""
        if len(self._intervals) < PPQN // 2:
            return 1
        period = self._state[0] if self._state is not None else statistics.median(self._intervals)
        self._debt = self._debt * DEBT_LEAK + interval / period - 1.0
        if interval >= 0.5 * period:
            # A pulse on time: the catch-up is over, whatever was counted ahead and has not come
            # was lost. Not any later delivery: a stall can be handed over in several small ones.
            self._counted_ahead = 0
        if self._debt > LOST_PULSE_DEBT:
            lost = round(self._debt)
            self._debt -= lost
            self._counted_ahead += lost
            return 1 + lost
        if self._counted_ahead and self._debt < -0.5:
            # The gap before this delivery was counted as lost pulses, but here they come,
            # all at once: this one is already in the count.
            self._counted_ahead -= 1
            self._debt += 1.0
            return 0
        return 1

    @property
    def bpm(self) -> float | None:
        state = self._state
        return None if state is None else 60.0 / (state[0] * PPQN)

    def position(self, t_s: float) -> tuple[float, float] | None:
        state = self._state
        if state is None or not self._running:
            return None
        period, last_s, pulses = state
        if t_s - last_s > self.timeout_s:
            return None  # the clock stopped arriving
        ahead = min(max((t_s - last_s) / period, 0.0), 1.0)
        return 60.0 / (period * PPQN), (pulses + ahead) / PPQN

    def set_bpm(self, bpm: float | None) -> str | None:
        return "the tempo comes from the MIDI clock: change it on the sending device"

    def tap(self, t_s: float) -> None:
        log.info("tap ignored: the tempo comes from the MIDI clock")

    def close(self) -> None:
        pass


def _slope(points: collections.deque[tuple[int, float]]) -> float:
    """Seconds per pulse: the least-squares slope of (pulse number, time)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_t = sum(t for _, t in points) / n
    covariance = sum((x - mean_x) * (t - mean_t) for x, t in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance


# ----------------------------------------------------------------------------- transport

class MidiInput:
    """An open MIDI input port that feeds ``router`` from a reader thread of its own.

    ``port``: a name substring of an existing port, or ``virtual:NAME`` to create a port other
    programs connect to. ``api``: auto (ALSA, then a running JACK server), alsa or jack.

    No Python runs in RtMidi's thread (JACK's process cycle, or ALSA's sequencer thread): RtMidi
    queues each message there with the driver's time, and our reader takes them from that queue.
    A Python callback there would take the GIL inside JACK's 5 ms cycle, and a busy interpreter
    made the cycle overrun, which drops that cycle's MIDI. The driver's times, not when Python
    got round to a message, are what the router (and the MIDI clock's tempo) see.
    """

    def __init__(self, port: str, router: MidiRouter, *, api: str = "auto") -> None:
        self.router = router
        self.received = 0
        self._client, self.api = _client(api)
        virtual = port.startswith("virtual:")
        try:
            if virtual:
                self.name = port.split(":", 1)[1] or "GANsmania"
                self._client.open_virtual_port(self.name)
            else:
                names = self._client.get_ports()
                self.name = _find_port(names, port)
                self._client.open_port(names.index(self.name))
        except (OSError, RuntimeError) as exc:  # rtmidi's errors derive from RuntimeError
            self._client.delete()
            raise GansmaniaError(f"--midi-in {port}: cannot open it ({exc})") from None
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, name="midi-in", daemon=True)
        self._reader.start()
        log.info("MIDI in: %s (%s)", self.name, self.api)

    def _read(self) -> None:
        import mido

        clock = DriverClock()
        while not self._closing.is_set():
            got = self._client.get_message()
            if got is None:
                time.sleep(POLL_S)
                continue
            data, delta_s = got
            t_s = clock.to_monotonic(delta_s, arrived_s=time.monotonic())
            self.received += 1
            try:
                self.router.handle(mido.Message.from_bytes(data), t_s)
            except Exception:  # the reader must live on: a bad message or a bug is logged
                log.exception("MIDI message %s failed", data)

    def close(self) -> None:
        self._closing.set()
        self._reader.join(timeout=2.0)
        self._client.close_port()
        self._client.delete()


class DriverClock:
    """The driver's message times on ``time.monotonic()``.

    RtMidi gives each message's time since the previous one, from the driver. Their running sum
    is the driver's clock; it is mapped to ours by the smallest delay seen from a message's
    driver time to its arrival here (the queue can only add delay), let grow by DRIFT_S_PER_S
    so that two clocks running at slightly different rates stay in step over a long show.
    """

    def __init__(self) -> None:
        self._driver_s = 0.0
        self._offset_s: float | None = None  # monotonic time of driver time 0
        self._arrived_s = 0.0

    def to_monotonic(self, delta_s: float, *, arrived_s: float) -> float:
        self._driver_s += max(float(delta_s), 0.0)
        latest = arrived_s - self._driver_s
        if self._offset_s is None:
            self._offset_s = latest
        else:
            allowance = DRIFT_S_PER_S * (arrived_s - self._arrived_s)
            self._offset_s = min(self._offset_s + allowance, latest)
        self._arrived_s = arrived_s
        return self._offset_s + self._driver_s


def _client(api: str):
    """(rtmidi.MidiIn, api name): an input client on the first API that can make one here,
    passing clock and transport messages (RtMidi drops them by default)."""
    import rtmidi

    if api not in APIS:
        raise GansmaniaError(f"--midi-api {api!r}: allowed {', '.join(APIS)}")
    problems = []
    for name in (("alsa", "jack") if api == "auto" else (api,)):
        try:
            client = rtmidi.MidiIn(getattr(rtmidi, _RTMIDI_APIS[name]), "GANsmania", queue_size_limit=QUEUE_SIZE)
        except (OSError, RuntimeError) as exc:  # ALSA without /dev/snd/seq, JACK not running
            problems.append(f"{name}: {' '.join(str(exc).split())}")
            continue
        client.ignore_types(sysex=True, timing=False, active_sense=True)
        return client, name
    raise GansmaniaError("MIDI: no MIDI system here (" + "; ".join(problems) + "); on Linux load "
                         "snd-seq (ALSA) or start a JACK server")


def _find_port(names: list[str], wanted: str) -> str:
    matches = [n for n in names if wanted.lower() in n.lower()]
    if not matches:
        raise GansmaniaError(f"--midi-in {wanted!r}: no such MIDI input; available: "
                             f"{', '.join(names) or 'none'} (or virtual:NAME to create one)")
    return matches[0]


def input_names(api: str = "auto") -> list[str]:
    """The MIDI input ports the chosen API sees (for `gansmania devices`-style listings)."""
    client, _ = _client(api)
    try:
        return client.get_ports()
    finally:
        client.delete()
