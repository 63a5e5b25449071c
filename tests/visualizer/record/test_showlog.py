"""The show event log: written as the show runs, read back exactly, malformed files refused."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from visualizer.core.errors import GansmaniaError
from visualizer.record.showlog import (ShowEvent, ShowLogHeader, ShowLogWriter, read_show_log,
                                       write_show_log)

HEADER = ShowLogHeader(audio="song.ogg", seed=7, preset="tunnel", fps=60.0,
                       config={"display": {"size": (1280, 720)}}, created="2025-01-31T22:14:03")
EVENTS = (
    ShowEvent(t_s=1.5, kind="set", name="latent.speed", value=0.8, source="osc"),
    ShowEvent(t_s=2.0, kind="action", name="preset", value="strobe", source="key"),
    ShowEvent(t_s=2.0, kind="action", name="seed", value=42, source="midi"),
    ShowEvent(t_s=3.25, kind="tempo", name="bpm", value=128.0, source="osc"),
    ShowEvent(t_s=4.0, kind="tempo", name="bpm", value=None, source="key"),
    ShowEvent(t_s=5.0, kind="set", name="fx.colour", value=[0.1, 0.2, 0.3]),
)


def test_round_trip(tmp_path: Path) -> None:
    path = write_show_log(tmp_path / "SHOW.gmlog", HEADER, EVENTS)
    log = read_show_log(path)
    assert log.events == EVENTS
    assert log.header.seed == 7 and log.header.preset == "tunnel" and log.header.fps == 60.0
    assert log.header.config == {"display": {"size": [1280, 720]}}  # JSON has no tuples
    # Each line is one JSON object; the first is the header.
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["gmlog"] == 1 and len(lines) == 1 + len(EVENTS)


def test_events_due_by_a_time(tmp_path: Path) -> None:
    log = read_show_log(write_show_log(tmp_path / "a.gmlog", HEADER, EVENTS))
    due, index = log.until(2.0)
    assert [e.name for e in due] == ["latent.speed", "preset", "seed"] and index == 3
    due, index = log.until(3.0, start=index)
    assert due == [] and index == 3
    due, index = log.until(100.0, start=index)
    assert len(due) == 3 and index == len(EVENTS)


def test_writer_is_safe_from_many_threads(tmp_path: Path) -> None:
    writer = ShowLogWriter(tmp_path / "b.gmlog", HEADER)

    def send(source: str) -> None:
        for i in range(200):
            writer.write(ShowEvent(t_s=i / 100, kind="set", name="x", value=i, source=source))

    threads = [threading.Thread(target=send, args=(s,)) for s in ("osc", "midi", "key")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    events = read_show_log(tmp_path / "b.gmlog").events
    assert len(events) == 600
    assert [e.t_s for e in events] == sorted(e.t_s for e in events)


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    path = write_show_log(tmp_path / "c.gmlog", HEADER, EVENTS)
    path.write_text(path.read_text() + '{"t": 6.0, "kind": "se')
    assert read_show_log(path).events == EVENTS


@pytest.mark.parametrize(("line", "message"), [
    ('{"t": -1, "kind": "set", "name": "x"}', "c.gmlog:3: 't' = -1 must be a time"),
    ('{"t": 1, "kind": "jump", "name": "x"}', "c.gmlog:3: 'kind' = 'jump' is not allowed"),
    ('{"t": 1, "kind": "set", "name": ""}', "c.gmlog:3: 'name' = '' must be"),
    ('{"t": 1, "kind": "set", "name": "x", "source": 3}', "c.gmlog:3: 'source' = 3 must be a string"),
    ('{"t": 1, "kind": "set", "name": "x", "when": 2}', "c.gmlog:3: unknown key 'when'"),
    ("[1, 2]", "c.gmlog:3: not a JSON object"),
    ("{broken", "c.gmlog:3: not a JSON object"),
])
def test_malformed_events_are_one_line_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.gmlog"
    path.write_text(json.dumps(HEADER.to_json()) + "\n"
                    + json.dumps(EVENTS[0].to_json()) + "\n" + line + "\n"
                    + json.dumps(EVENTS[1].to_json()) + "\n")
    with pytest.raises(GansmaniaError, match=message.replace("(", r"\(")) as caught:
        read_show_log(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ('{"t": 1, "kind": "set", "name": "x"}\n', "not a show log"),
    ('{"gmlog": 9}\n', "version 9 is not supported"),
])
def test_bad_headers(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.gmlog"
    path.write_text(text)
    with pytest.raises(GansmaniaError, match=message):
        read_show_log(path)
    with pytest.raises(GansmaniaError, match="file not found"):
        read_show_log(tmp_path / "missing.gmlog")
