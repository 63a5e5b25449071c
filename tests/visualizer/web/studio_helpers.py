"""Helpers for the studio's tests: a studio on a free loopback port, as `gansmania web` builds
it, over a job queue in the test's folder, and plain HTTP clients."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from visualizer.jobs import JobQueue, ThreadWorker
from visualizer.jobs.kinds import KINDS
from visualizer.presets.catalog import preset_paths
from visualizer.presets.loader import default_model_dirs
from visualizer.web.server import Gate, ServerThread
from visualizer.web.studio import STUDIO_STREAMS, Studio
from visualizer.web.studio_library import list_models
from visualizer.web.studio_songs import SongStore

DEMO = Path(__file__).parents[3] / "visualizer" / "audio" / "data" / "demo_track.ogg"


@contextlib.contextmanager
def studio_server(folder: Path, *, token: str = "", worker: bool = False,
                  max_bytes: int = 10_000_000, max_duration_s: float = 600.0,
                  runs_dir: Path | None = None, host: str = "127.0.0.1", kinds=None,
                  import_dir: Path | None = None, max_model_bytes: int = 10_000_000,
                  outputs: str | None = None):
    """(base URL, queue): the studio served on a free port; a worker thread when asked.
    ``import_dir`` stands in for the user's model folder (imports land there); ``outputs``
    is `gansmania web --outputs` (a bucket)."""
    queue = JobQueue.open(folder, kinds=kinds or KINDS, outputs=outputs)
    songs = SongStore(folder, max_bytes=max_bytes, max_duration_s=max_duration_s)
    folders = ((import_dir,) if import_dir else ()) + default_model_dirs()[1:]
    studio = Studio(queue, songs, models=lambda: list_models(folders),
                    presets=lambda: list(preset_paths()), runs_dir=runs_dir,
                    import_dir=import_dir, max_model_bytes=max_model_bytes, poll_s=0.1)
    gate = Gate(studio.asgi(), token=token, streams=STUDIO_STREAMS, command="gansmania web")
    server = ServerThread(gate, host, 0)
    running = ThreadWorker(queue, poll_s=0.05).start() if worker else None
    try:
        server.start()
        yield f"http://{host}:{server.port}/", queue
    finally:
        server.close()
        if running is not None:
            running.close()


def request(url: str, *, data: bytes | None = None, method: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, body as JSON or bytes)."""
    call = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            status, body, kind = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, body, kind = exc.code, exc.read(), exc.headers
    if kind.get("content-type", "").startswith("application/json"):
        return status, json.loads(body)
    return status, body


def upload(base: str, body: bytes, name: str, **headers: str) -> tuple[int, Any]:
    from urllib.parse import quote

    return request(base + "api/songs", data=body, method="POST",
                   headers={"X-Filename": quote(name), **headers})


def post_json(url: str, payload: Any) -> tuple[int, Any]:
    return request(url, data=json.dumps(payload).encode(), method="POST",
                   headers={"Content-Type": "application/json"})
