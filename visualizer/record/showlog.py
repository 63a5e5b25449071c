"""The show event log (``SHOW.gmlog``): what the performer did and when, to replay a show.

JSON lines, UTF-8. The first line is the header, every other line one control event::

    {"gmlog": 1, "created": "2025-01-31T22:14:03", "audio": "song.ogg", "seed": 7,
     "preset": "tunnel", "fps": 60.0, "config": {...resolved show config...}}
    {"t": 12.345, "kind": "set", "name": "latent.speed", "value": 0.8, "source": "osc"}
    {"t": 14.0, "kind": "action", "name": "preset", "value": "strobe", "source": "key"}

``t`` is the audio position (seconds from the start of the show's audio) of the newest analysed
hop when the event took effect, so an offline render of the same audio applies it before the
same frame. A line cut short by a crash is skipped with a warning; every other malformed line is
a one-line error naming the file and line.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

VERSION = 1
# set: a parameter took a value; action: a one-shot command (preset switch, new seed, tap tempo,
# record start/stop); tempo: the BPM was fixed (value: BPM) or released (value: null).
EVENT_KINDS = ("set", "action", "tempo")


@dataclass(frozen=True)
class ShowEvent:
    t_s: float  # audio position when it took effect, seconds from the audio's start
    kind: str  # one of EVENT_KINDS
    name: str  # parameter or action name, e.g. "latent.speed", "preset", "seed"
    value: Any = None  # JSON value (numbers, strings, lists, null)
    source: str = ""  # who sent it: "osc", "midi", "keyboard", "web", "cli", ...

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {"t": round(self.t_s, 6), "kind": self.kind, "name": self.name}
        if self.value is not None:
            line["value"] = _plain(self.value)
        if self.source:
            line["source"] = self.source
        return line


@dataclass(frozen=True)
class ShowLogHeader:
    audio: str  # the audio input the show ran on (a file path or a device)
    seed: int = 0  # the latent walk's seed at the start
    preset: str = ""  # the preset at the start
    fps: float = 0.0  # the live display rate (for information; a replay picks its own)
    config: Mapping[str, Any] = field(default_factory=dict)  # the resolved show config
    created: str = ""  # ISO time the show started

    def to_json(self) -> dict[str, Any]:
        return {"gmlog": VERSION, "created": self.created, "audio": self.audio,
                "seed": self.seed, "preset": self.preset, "fps": self.fps,
                "config": _plain(self.config)}


@dataclass(frozen=True)
class ShowLog:
    header: ShowLogHeader
    events: tuple[ShowEvent, ...]  # in time order

    def until(self, t_s: float, *, start: int = 0) -> tuple[list[ShowEvent], int]:
        """Events from index ``start`` with ``t_s`` <= ``t_s``, and the index after them."""
        end = start
        while end < len(self.events) and self.events[end].t_s <= t_s:
            end += 1
        return list(self.events[start:end]), end


class ShowLogWriter:
    """Appends events to a log as they happen; safe to call from any thread.

    Each event is one flushed line, so a crash loses at most the line being written. Events
    are rare (a performer's gestures), so writing under a short lock is cheap.
    """

    def __init__(self, path: Path, header: ShowLogHeader) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise GansmaniaError(f"{self.path}: cannot write the show log "
                                 f"({exc.strerror or exc})") from None
        if not header.created:
            header = dataclasses.replace(header, created=_now())
        self._lock = threading.Lock()
        self._failed = False
        self._write(header.to_json())

    def write(self, event: ShowEvent) -> None:
        if event.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {event.kind!r}; allowed: {', '.join(EVENT_KINDS)}")
        self._write(event.to_json())

    def _write(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n"
        with self._lock:
            if self._failed:
                return
            try:
                self._file.write(text)
                self._file.flush()
            except OSError as exc:
                # A full disk must not stop the show: log once, stop logging.
                self._failed = True
                log.error("%s: show log stopped (%s)", self.path, exc.strerror or exc)

    def close(self) -> None:
        with self._lock:
            try:
                self._file.close()
            except OSError as exc:
                log.error("%s: closing the show log failed (%s)", self.path, exc)


def write_show_log(path: Path, header: ShowLogHeader, events: Iterable[ShowEvent]) -> Path:
    """Write a whole log at once (tests, editing tools)."""
    writer = ShowLogWriter(path, header)
    for event in events:
        writer.write(event)
    writer.close()
    return Path(path)


def read_show_log(path: Path) -> ShowLog:
    """Parse ``path``; one-line GansmaniaError naming the file:line for anything malformed."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GansmaniaError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GansmaniaError(f"{path}: cannot read ({exc})") from None
    if not lines:
        raise GansmaniaError(f"{path}: empty file, not a show log")
    header = _parse_header(path, lines[0])
    events: list[ShowEvent] = []
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            if number == len(lines) and not text.endswith("}"):
                log.warning("%s:%d: skipping a line cut short (the show ended abruptly)",
                            path, number)
                continue
            raise GansmaniaError(f"{path}:{number}: not a JSON object") from None
        events.append(_parse_event(path, number, data))
    events.sort(key=lambda e: e.t_s)  # stable: events at the same time keep their order
    return ShowLog(header=header, events=tuple(events))


def _parse_header(path: Path, text: str) -> ShowLogHeader:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or "gmlog" not in data:
        raise GansmaniaError(f"{path}:1: not a show log (the first line must be the "
                             '{"gmlog": 1, ...} header)')
    if data["gmlog"] != VERSION:
        raise GansmaniaError(f"{path}:1: show log version {data['gmlog']!r} is not supported; "
                             f"allowed: {VERSION}")
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise GansmaniaError(f"{path}:1: 'config' must be an object")
    try:
        return ShowLogHeader(audio=str(data.get("audio", "")), seed=int(data.get("seed", 0)),
                             preset=str(data.get("preset", "")), fps=float(data.get("fps", 0.0)),
                             config=config, created=str(data.get("created", "")))
    except (TypeError, ValueError) as exc:
        raise GansmaniaError(f"{path}:1: bad header value ({exc})") from None


def _parse_event(path: Path, number: int, data: Any) -> ShowEvent:
    where = f"{path}:{number}"
    if not isinstance(data, dict):
        raise GansmaniaError(f"{where}: not a JSON object")
    t = data.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
        raise GansmaniaError(f"{where}: 't' = {t!r} must be a time in seconds >= 0")
    kind = data.get("kind")
    if kind not in EVENT_KINDS:
        raise GansmaniaError(f"{where}: 'kind' = {kind!r} is not allowed; allowed: "
                             f"{', '.join(EVENT_KINDS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise GansmaniaError(f"{where}: 'name' = {name!r} must be a non-empty string")
    source = data.get("source", "")
    if not isinstance(source, str):
        raise GansmaniaError(f"{where}: 'source' = {source!r} must be a string (osc, midi, "
                             "keyboard, ...)")
    unknown = set(data) - {"t", "kind", "name", "value", "source"}
    if unknown:
        raise GansmaniaError(f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: t, kind, "
                             "name, value, source")
    return ShowEvent(t_s=float(t), kind=kind, name=name, value=data.get("value"), source=source)


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists and Paths as strings, so json.dumps takes it."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")
