"""The studio over real HTTP on loopback: uploads decoded and refused with one line, job
requests checked, the job feed (Server-Sent Events) to 100 % and the file, the model library,
training runs, and the token when `gansmania web` is open to the LAN."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from tests.visualizer.jobs.test_queue import steps_kind
from tests.visualizer.web.studio_helpers import DEMO, post_json, request, studio_server, upload

pytestmark = pytest.mark.timeout(300)


def test_a_song_is_kept_only_when_it_decodes_and_fits(tmp_path):
    with studio_server(tmp_path, max_bytes=1_000_000, max_duration_s=60.0) as (base, _):
        status, song = upload(base, DEMO.read_bytes(), "My Song (final).ogg")
        assert status == 201, song
        assert song["name"] == "My Song (final).ogg"
        assert song["duration_s"] == pytest.approx(35.84, abs=0.05)
        refused = {
            "text named .wav": upload(base, b"RIFF? no, just text\n" * 50, "song.wav"),
            "too big": upload(base, bytes(1_000_001), "big.wav"),
            "empty": upload(base, b"", "nothing.wav"),
            "traversal": upload(base, DEMO.read_bytes(), "../../etc/cron.d/x.ogg"),
            "backslash": upload(base, DEMO.read_bytes(), "..\\evil.ogg"),
            "no name": request(base + "api/songs", data=b"abc", method="POST"),
        }
        assert {k: v[0] for k, v in refused.items()} == {
            "text named .wav": 415, "too big": 413, "empty": 400, "traversal": 400,
            "backslash": 400, "no name": 400}
        messages = {k: v[1]["error"] for k, v in refused.items()}
        assert messages["text named .wav"].startswith("song.wav: not an audio file")
        assert messages["too big"] == "big.wav: larger than the upload limit of 1 MB"
        assert messages["traversal"].startswith("file name '../../etc/cron.d/x.ogg': a plain "
                                                "file name is wanted")
        assert all("\n" not in m and "Traceback" not in m for m in messages.values())
        status, songs = request(base + "api/songs")
        assert [s["id"] for s in songs] == [song["id"]]
    # Refused uploads leave nothing behind, and no client name became a path.
    assert [p.name for p in (tmp_path / "songs").iterdir()] == [song["id"]]
    assert sorted(p.name for p in (tmp_path / "songs" / song["id"]).iterdir()) \
        == sorted(["audio", "song.json"])


def test_a_song_longer_than_the_limit_is_refused(tmp_path):
    with studio_server(tmp_path, max_duration_s=30.0) as (base, _):
        status, body = upload(base, DEMO.read_bytes(), "demo.ogg")
    assert status == 413
    assert body["error"] == "demo.ogg: 0.6 min long; songs up to 0.5 min are accepted"
    assert list((tmp_path / "songs").iterdir()) == []


def test_bad_job_requests_are_4xx_with_one_line(tmp_path):
    with studio_server(tmp_path) as (base, _):
        _, song = upload(base, DEMO.read_bytes(), "demo.ogg")
        render = {"kind": "render", "song": song["id"]}
        cases = {
            "not json": request(base + "api/jobs", data=b"{nope", method="POST"),
            "a list": post_json(base + "api/jobs", [1]),
            "kind": post_json(base + "api/jobs", {"kind": "paint"}),
            "song": post_json(base + "api/jobs", {**render, "song": "../../etc/passwd"}),
            "model": post_json(base + "api/jobs", {**render, "model": "../default"}),
            "preset": post_json(base + "api/jobs", {**render, "preset": "nope"}),
            "size": post_json(base + "api/jobs", {**render, "size": "huge"}),
            "odd size": post_json(base + "api/jobs", {**render, "size": "641x360"}),
            "fps": post_json(base + "api/jobs", {**render, "fps": 0}),
            "range": post_json(base + "api/jobs", {**render, "start_s": 5, "end_s": 2}),
            "start": post_json(base + "api/jobs", {**render, "start_s": 36}),
            "extra": post_json(base + "api/jobs", {**render, "out": "/etc/passwd"}),
            "grid count": post_json(base + "api/jobs", {"kind": "grid", "count": 1000}),
            "no job": request(base + "api/jobs/" + "0" * 32),
            "not an id": request(base + "api/jobs/..%2F..%2Fetc"),
            "no file": request(base + "api/jobs/" + "0" * 32 + "/file"),
            "no model": request(base + "api/models/nope/card"),
            "no part": request(base + "api/models/default/weights"),
            "no run": request(base + "api/runs/x"),
            "no page": request(base + "nothing/here"),
        }
        status, queued = post_json(base + "api/jobs", {**render, "end_s": 1})  # no worker
        assert status == 201 and queued["state"] == "queued"
        cases["file of a queued job"] = request(base + f"api/jobs/{queued['id']}/file")
    assert {k: v[0] for k, v in cases.items()} == {
        **dict.fromkeys(["not json", "a list", "kind", "song", "model", "preset", "size",
                         "odd size", "fps", "range", "start", "extra", "grid count"], 400),
        **dict.fromkeys(["no job", "not an id", "no file", "no model", "no part", "no run",
                         "no page"], 404),
        "file of a queued job": 409}
    errors = {k: v[1]["error"] for k, v in cases.items()}
    assert errors["kind"] == "job kind 'paint' unknown; allowed: render, grid"
    assert errors["model"] == "model '../default' unknown; available: default"
    assert errors["odd size"] == "size 641x360: even numbers from 16x16 to 3840x2160"
    assert errors["range"] == "end 2 s must be after start 5 s"
    assert errors["start"] == "start 36 s: demo.ogg ends at 35.8 s"
    assert errors["extra"].startswith("unknown setting 'out'; allowed: ")
    assert all("\n" not in e for e in errors.values())
    # The client's record names the song, never the server's path to it.
    assert queued["params"]["song"] == "demo.ogg" and str(tmp_path) not in json.dumps(queued)


def read_events(url: str, *, until, timeout_s: float = 60.0) -> list[dict]:
    """The job records the feed sends, until ``until(record)`` holds."""
    records = []
    with urllib.request.urlopen(url, timeout=timeout_s) as stream:
        for line in stream:
            if line.startswith(b"data: "):
                records.append(json.loads(line[6:]))
                if until(records[-1]):
                    return records
    raise AssertionError("the feed ended")


def test_the_feed_follows_a_job_to_its_file_and_cancel_stops_one(tmp_path):
    gate = threading.Event()
    kinds = {"steps": steps_kind(), "gated": steps_kind(gate)}
    with studio_server(tmp_path, worker=True, kinds=kinds) as (base, queue):
        status, job = post_json(base + "api/jobs", {"kind": "steps", "steps": 3})
        assert status == 201
        records = read_events(base + "api/events", until=lambda r: r["state"] == "done")
        progress = [r["progress"] for r in records if r["id"] == job["id"]]
        assert progress == sorted(progress) and progress[-1] == 1.0
        assert records[-1]["url"] == f"/api/jobs/{job['id']}/file"
        assert request(base + records[-1]["url"][1:]) == (200, b"3")
        # A gated job: cancelled from the page, stopped between its steps.
        _, job = post_json(base + "api/jobs", {"kind": "gated", "steps": 5})
        read_events(base + "api/events", until=lambda r: r["id"] == job["id"] and r["done"] == 1)
        status, cancelling = request(base + f"api/jobs/{job['id']}/cancel", method="POST")
        assert status == 200 and cancelling["cancelling"]
        gate.set()
        read_events(base + "api/events", until=lambda r: r["state"] == "cancelled")
        status, body = request(base + f"api/jobs/{job['id']}/cancel", method="POST")
        assert status == 409 and body["error"].endswith("already cancelled, nothing to cancel")
        assert request(base + f"api/jobs/{job['id']}/file")[0] == 410


def test_the_model_library_and_training_runs(tmp_path):
    runs = tmp_path / "runs"
    run = runs / "abstract"
    run.mkdir(parents=True)
    (runs / "notes").mkdir()  # not a run: no snapshot, fakes or metrics
    lines = [{"kimg": 1.0, "tick": 1, "cpu_s": 10.0, "kid": 0.5},
             {"kimg": 2.5, "tick": 2, "cpu_s": 20.0, "kid": 0.25}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (run / "network-snapshot-000002-000002.safetensors").write_bytes(b"")
    for name, shade in (("fakes-000001-000001.png", 10), ("fakes-000002-000002.png", 200)):
        Image.fromarray(np.full((8, 8, 3), shade, np.uint8)).save(run / name)
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(run)) as writer:
        for step, loss in ((1000, 2.0), (2500, 1.5)):
            writer.add_scalar("Loss/G/loss", loss, step)
    with studio_server(tmp_path / "studio", runs_dir=runs) as (base, _):
        _, models = request(base + "api/models")
        assert {"name": "default", "card": True, "grid": True} \
            .items() <= next(m for m in models if m["name"] == "default").items()
        status, png = request(base + "api/models/default/grid")
        assert status == 200 and png.startswith(b"\x89PNG")
        _, card = request(base + "api/models/default/card")
        assert card["text"].startswith("# default")
        _, summaries = request(base + "api/runs")
        assert [s["name"] for s in summaries] == ["abstract"]
        summary = summaries[0]
        assert summary["kimg"] == 2.5 and summary["snapshots"] == 1
        assert summary["kid"] == [{"kimg": 1.0, "kid": 0.5}, {"kimg": 2.5, "kid": 0.25}]
        assert summary["losses"] == {"Loss/G/loss": 1.5}
        assert summary["fakes"] == "fakes-000002-000002.png"
        status, png = request(base + "api/runs/abstract/fakes")
        assert status == 200 and (run / "fakes-000002-000002.png").read_bytes() == png
        assert request(base + "api/runs/notes")[0] == 404


@pytest.mark.slow
def test_gansmania_web_open_to_the_lan_wants_its_token(tmp_path):
    """The command itself: beyond loopback it makes a token and prints it; without it every
    request is a 401, with it the page and the API answer."""
    command = [sys.executable, "-m", "visualizer.cli", "web", "--host", "0.0.0.0", "--port", "0",
               "--data", str(tmp_path), "--external-worker"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "studio:" not in line:
            assert time.monotonic() < deadline and server.poll() is None, line
            line = server.stdout.readline()
        found = re.search(r"http://\S+:(\d+)/\?token=(\S+)", line)
        assert found, line
        port, token = found.groups()
        base = f"http://127.0.0.1:{port}/"
        for path in ("", "api/options", "api/jobs", "api/events"):
            status, body = request(base + path)
            assert status == 401, path
            assert body["error"] == ("this page needs its token: open the address printed by "
                                     "`gansmania web` (…/?token=...)")
        assert request(base + "api/options", headers={"X-GM-Token": "wrong"})[0] == 401
        status, options = request(base + "api/options", headers={"X-GM-Token": token})
        assert status == 200 and "default" in options["models"]
        status, page = request(base + f"?token={token}")
        assert status == 200 and b"GANsmania studio" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0  # SIGTERM is a clean stop


def test_an_nvlabs_pickle_is_imported_and_a_payload_is_refused(tmp_path, monkeypatch):
    """Through the restricted importer: nothing from the uploaded file runs."""
    import pickle

    from tests.training.generators import TINY, NVlabsNames, marker_source, randomised
    from tests.training.test_nvlabs_import import SystemCall
    from training.checkpoint import load_generator

    marker = tmp_path / "EXECUTED"
    nvlabs = NVlabsNames(monkeypatch)
    pkl = nvlabs.snapshot(tmp_path / "snap.pkl", randomised(TINY), source=marker_source(marker))
    evil = pickle.dumps({"G_ema": SystemCall(f"touch {marker}")})
    imports = tmp_path / "models"
    with studio_server(tmp_path / "studio", import_dir=imports, max_model_bytes=2_000_000) \
            as (base, _):
        def send(body: bytes, name: str):
            return request(base + "api/models", data=body, method="POST",
                           headers={"X-Filename": name})

        status, model = send(pkl.read_bytes(), "tiny-abstract.pkl")
        assert status == 201 and model["name"] == "tiny-abstract"
        _, options = request(base + "api/options")
        assert "tiny-abstract" in options["models"]
        cases = {
            "payload": send(evil, "evil.pkl"),
            "again": send(pkl.read_bytes(), "tiny-abstract.pkl"),
            "bundled name": send(pkl.read_bytes(), "default.pkl"),
            "not a pkl": send(pkl.read_bytes(), "model.safetensors"),
            "odd name": send(pkl.read_bytes(), "-rf .pkl"),
            "path": send(pkl.read_bytes(), "..%2Fx.pkl"),
            "too big": send(bytes(2_000_001), "big.pkl"),
            "text": send(b"not a pickle at all", "text.pkl"),
        }
    assert {k: v[0] for k, v in cases.items()} == {
        "payload": 422, "again": 409, "bundled name": 409, "not a pkl": 415, "odd name": 400,
        "path": 400, "too big": 413, "text": 422}
    errors = {k: v[1]["error"] for k, v in cases.items()}
    assert errors["payload"].startswith("evil.pkl: refused: the pickle asks for")
    assert errors["payload"].endswith("nothing from the file was run")
    assert errors["text"].startswith("text.pkl: not a readable NVlabs pickle")
    assert errors["again"] == "model tiny-abstract exists already: rename the file to import it"
    assert not marker.exists()
    assert sorted(p.name for p in imports.iterdir()) == ["tiny-abstract.safetensors"]
    assert load_generator(imports / "tiny-abstract.safetensors").config == TINY
