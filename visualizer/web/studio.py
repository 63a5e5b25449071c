"""`gansmania web`: the studio's pages and API. Upload a song, render it as a job (progress over
Server-Sent Events, cancel, play, download), seed grids, the model library, training runs.

    studio = Studio(queue, songs, models=list_models(...), runs_dir=...)
    Gate(studio.asgi(), token=..., streams=STUDIO_STREAMS)   # served by ServerThread

The handlers only read and queue: renders and grids run in the job worker (a thread of
`gansmania web`, or `gansmania worker`), never in a request. Every refusal is a 4xx with
``{"error": "one line"}``; an unexpected error is a 500 with one line, its trace in the log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from visualizer.core.errors import GansmaniaError
from visualizer.jobs import Job, JobQueue
from visualizer.web.studio_library import Model, latest_fakes, list_models, list_runs, run_summary
from visualizer.web.studio_songs import SongStore, UploadError, check_name

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
STUDIO_STREAMS = ("/api/events",)  # the Server-Sent Events feed: counted against the cap
MEDIA = {".mp4": "video/mp4", ".png": "image/png"}
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Refused(Exception):
    """A request refused with ``status`` and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Studio:
    """The studio's ASGI app over a job queue, a song store, the model library (name ->
    Model) and an optional folder of training runs."""

    def __init__(self, queue: JobQueue, songs: SongStore, *,
                 models: Callable[[], dict[str, Model]], presets: Callable[[], list[str]],
                 runs_dir: Path | None = None, import_dir: Path | None = None,
                 max_model_bytes: int = 1_000_000_000, poll_s: float = 0.3) -> None:
        self.queue = queue
        self.songs = songs
        self.models = models  # called per request: a model dropped in the folder shows up
        self.presets = presets
        self.runs_dir = runs_dir
        self.import_dir = import_dir  # where imported NVlabs pickles go (None: no imports)
        self.max_model_bytes = max_model_bytes
        self.poll_s = poll_s  # how often the event feed looks at the job records

    def asgi(self):
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.responses import FileResponse, JSONResponse
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles

        async def http_error(request, exc: HTTPException):
            return JSONResponse({"error": f"{request.url.path}: {exc.detail}"},
                                status_code=exc.status_code)

        async def crashed(request, exc: Exception):
            log.exception("studio: %s %s", request.method, request.url.path, exc_info=exc)
            return JSONResponse({"error": f"{type(exc).__name__} in the studio (the server's "
                                          "log has the details)"}, status_code=500)

        def api(handler):
            async def endpoint(request):
                try:
                    return await handler(request)
                except Refused as exc:
                    return JSONResponse({"error": str(exc)}, status_code=exc.status)
                except GansmaniaError as exc:  # a user's mistake found deeper down
                    return JSONResponse({"error": str(exc)}, status_code=400)
            return endpoint

        return Starlette(routes=[
            Route("/", lambda request: FileResponse(STATIC / "studio.html")),
            Route("/api/options", api(self._options)),
            Route("/api/songs", api(self._songs), methods=["GET"]),
            Route("/api/songs", api(self._upload), methods=["POST"]),
            Route("/api/jobs", api(self._jobs), methods=["GET"]),
            Route("/api/jobs", api(self._submit), methods=["POST"]),
            Route("/api/jobs/{id}", api(self._job)),
            Route("/api/jobs/{id}/cancel", api(self._cancel), methods=["POST"]),
            Route("/api/jobs/{id}/file", api(self._file)),
            Route("/api/events", api(self._events)),
            Route("/api/models", api(self._models), methods=["GET"]),
            Route("/api/models", api(self._import), methods=["POST"]),
            Route("/api/models/{name}/{part}", api(self._model_part)),
            Route("/api/runs", api(self._runs)),
            Route("/api/runs/{name}", api(self._run)),
            Route("/api/runs/{name}/fakes", api(self._fakes)),
            Mount("/static", StaticFiles(directory=STATIC)),
        ], exception_handlers={HTTPException: http_error, Exception: crashed})

    # ------------------------------------------------------------------ songs

    async def _options(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"models": sorted(self.models()), "presets": self.presets(),
                             "max_upload_bytes": self.songs.max_bytes,
                             "max_duration_s": self.songs.max_duration_s,
                             "runs": self.runs_dir is not None})

    async def _songs(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse([song.to_json() for song in self.songs.songs()])

    async def _upload(self, request):
        """The body is the file's bytes (no multipart: nothing to parse), its name in the
        X-Filename header (URI-encoded) as a label only."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        name = _label(request)
        _check_length(request, name, self.songs.max_bytes)
        song_id, path = self.songs.new_upload()
        try:
            await _receive(request, path, name, self.songs.max_bytes)
            song = await run_in_threadpool(self.songs.accept, song_id, name)
        except UploadError as exc:
            self.songs.discard(song_id)
            raise Refused(exc.status, str(exc)) from None
        except Refused:
            self.songs.discard(song_id)
            raise
        return JSONResponse(song.to_json(), status_code=201)

    # ------------------------------------------------------------------ jobs

    async def _submit(self, request):
        """``{"kind": "render", "song": ID, "model": NAME, "preset": NAME, "size": "WxH", "fps",
        "seed", "start_s", "end_s", "segments", "spread"}`` or ``{"kind": "grid", "model", "seed",
        "count", "truncation_psi"}``; names and ids are looked up here, never used as paths."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise Refused(400, "the job request is not JSON") from None
        if not isinstance(body, dict):
            raise Refused(400, "the job request must be a JSON object with a 'kind'")
        params = dict(body)
        kind = params.pop("kind", None)
        if "model" in params and params["model"] is not None:
            params["model"] = str(self._model(params["model"]).path)
        if kind == "render":
            song_id = params.pop("song", None)
            song = self.songs.get(song_id) if isinstance(song_id, str) else None
            if song is None:
                raise Refused(400, f"song {str(song_id)[:40]!r}: no such song; upload it first")
            start_s = params.get("start_s", 0)
            if isinstance(start_s, int | float) and start_s >= song.duration_s:
                raise Refused(400, f"start {start_s:g} s: {song.name} ends at "
                                   f"{song.duration_s:.1f} s")
            params["audio"] = str(self.songs.audio_path(song.id))
            params["size"] = _size(params.get("size", "640x360"))
        try:
            job_id = await run_in_threadpool(self.queue.submit, str(kind), params)
        except GansmaniaError as exc:
            raise Refused(400, str(exc)) from None
        return JSONResponse(self._job_json(self.queue.get(job_id)), status_code=201)

    async def _jobs(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse([self._job_json(job) for job in self._user_jobs()])

    async def _job(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse(self._job_json(self._get_job(request)))

    async def _cancel(self, request):
        from starlette.responses import JSONResponse

        job = self._get_job(request)
        try:
            return JSONResponse(self._job_json(self.queue.cancel(job.id)))
        except GansmaniaError as exc:
            raise Refused(409, str(exc)) from None

    async def _file(self, request):
        """The job's output; ?download=1 as an attachment, else inline (the page's player).
        Outputs in a bucket: a redirect to a presigned URL, so the bucket serves the bytes
        (and the player's range requests)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import FileResponse, RedirectResponse

        job = self._get_job(request)
        suffix = PurePosixPath(job.result).suffix
        name = f"gansmania-{job.kind}-{job.id[:8]}{suffix}"
        disposition = "attachment" if request.query_params.get("download") else "inline"
        try:
            found = await run_in_threadpool(self.queue.result, job.id, filename=name,
                                            attachment=disposition == "attachment")
        except GansmaniaError as exc:  # the bucket is away or refuses
            raise Refused(502, str(exc)) from None
        if found is None:
            raise Refused(409 if job.state not in ("failed", "cancelled") else 410,
                          f"job {job.id}: {job.state}, no file to fetch")
        if isinstance(found, str):
            return RedirectResponse(found, status_code=307)
        return FileResponse(found, media_type=MEDIA.get(suffix, "application/octet-stream"),
                            filename=name, content_disposition_type=disposition)

    async def _events(self, request):
        """Server-Sent Events: every job's record as it changes (``event: job``). Each page
        holds one; the worker may be another process, so the store is polled, not notified."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import StreamingResponse

        async def stream():
            sent: dict[str, str] = {}
            yield "retry: 2000\n\n"
            while True:
                for job in await run_in_threadpool(self._user_jobs):
                    data = json.dumps(self._job_json(job), sort_keys=True)
                    if sent.get(job.id) != data:
                        sent[job.id] = data
                        yield f"event: job\ndata: {data}\n\n"
                await asyncio.sleep(self.poll_s)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})

    def _user_jobs(self) -> list[Job]:
        """The jobs the user submitted: a spread render's parts show as its progress."""
        return [job for job in self.queue.jobs() if not job.part_of]

    def _get_job(self, request) -> Job:
        job = self.queue.get(request.path_params["id"])
        if job is None:
            raise Refused(404, f"job {request.path_params['id'][:40]!r}: no such job")
        return job

    def _job_json(self, job: Job) -> dict[str, Any]:
        """The record without the server's paths: the song's and the model's names instead."""
        data = job.to_json()
        params = dict(data["params"])
        if params.get("audio"):
            song = self.songs.get(Path(params.pop("audio")).parent.name)
            params["song"] = song.name if song else "(removed)"
        if params.get("model"):
            params["model"] = Path(params["model"]).stem
        data["params"] = params
        data["url"] = f"/api/jobs/{job.id}/file" if job.state == "done" else None
        return data

    # ------------------------------------------------------------------ library, runs

    def _model(self, name: Any) -> Model:
        models = self.models()
        if not isinstance(name, str) or name not in models:
            raise Refused(400, f"model {str(name)[:60]!r} unknown; available: "
                               f"{', '.join(models) or 'none'}")
        return models[name]

    async def _models(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse([model.to_json() for model in self.models().values()])

    async def _import(self, request):
        """An NVlabs network pickle (the body; its name in X-Filename) converted by the
        restricted importer, which runs nothing from the file, into the user's model folder."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        from training.nvlabs_import import import_pickle

        name = _label(request)
        stem, _, suffix = name.rpartition(".")
        if self.import_dir is None:
            raise Refused(403, "model imports are off in this studio")
        if suffix.lower() != "pkl" or not stem:
            raise Refused(415, f"{name}: an NVlabs network pickle (NAME.pkl) is wanted")
        if not MODEL_NAME.fullmatch(stem):
            raise Refused(400, f"{name}: a model name is letters, digits, '-', '_' and '.' "
                               "(at most 64), starting with a letter or digit")
        if stem in self.models():
            raise Refused(409, f"model {stem} exists already: rename the file to import it")
        _check_length(request, name, self.max_model_bytes)
        self.import_dir.mkdir(parents=True, exist_ok=True)
        upload = self.import_dir / f".upload-{uuid.uuid4().hex}.pkl"
        try:
            await _receive(request, upload, name, self.max_model_bytes)
            await run_in_threadpool(import_pickle, upload, self.import_dir / f"{stem}.safetensors")
        except GansmaniaError as exc:  # named after our temporary file: name the client's
            raise Refused(422, str(exc).replace(str(upload), name)) from None
        finally:
            upload.unlink(missing_ok=True)
        model = list_models((self.import_dir,))[stem]
        return JSONResponse(model.to_json(), status_code=201)

    async def _model_part(self, request):
        from starlette.responses import FileResponse, JSONResponse

        name, part = request.path_params["name"], request.path_params["part"]
        model = self.models().get(name)
        if model is None:
            raise Refused(404, f"model {name[:60]!r}: no such model")
        if part == "card" and model.card is not None:
            return JSONResponse({"name": name, "text": model.card.read_text(encoding="utf-8")})
        if part == "grid" and model.grid is not None:
            return FileResponse(model.grid, media_type="image/png")
        if part not in ("card", "grid"):
            raise Refused(404, f"model {name}: {part[:20]!r} unknown; allowed: card, grid")
        raise Refused(404, f"model {name}: has no {part} (NAME.md, NAME.png beside it)")

    def _run_dir(self, request) -> Path:
        name = request.path_params["name"]
        run = list_runs(self.runs_dir).get(name)
        if run is None:
            raise Refused(404, f"run {name[:60]!r}: no such run"
                               + ("" if self.runs_dir else " (start the studio with --runs DIR)"))
        return run

    async def _runs(self, request):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        runs = list_runs(self.runs_dir).values()
        return JSONResponse([await run_in_threadpool(run_summary, run) for run in runs])

    async def _run(self, request):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        return JSONResponse(await run_in_threadpool(run_summary, self._run_dir(request)))

    async def _fakes(self, request):
        from starlette.responses import FileResponse

        run = self._run_dir(request)
        path = latest_fakes(run)
        if path is None:
            raise Refused(404, f"run {run.name}: no fakes grid yet (the first snapshot writes it)")
        return FileResponse(path, media_type="image/png")


def _label(request) -> str:
    """The upload's X-Filename (URI-encoded): a label, checked, never a path."""
    try:
        return check_name(unquote(request.headers.get("x-filename", ""), errors="strict"))
    except UnicodeDecodeError:
        raise Refused(400, "file name: not valid UTF-8 after URI decoding") from None
    except UploadError as exc:
        raise Refused(exc.status, str(exc)) from None


def _check_length(request, name: str, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > 16 * limit:  # not worth reading to the end
        raise Refused(413, f"{name}: larger than the upload limit of {limit / 1e6:g} MB")


async def _receive(request, path: Path, name: str, limit: int) -> None:
    """The request's body into ``path``; Refused(413) past ``limit`` bytes, 400 when empty or
    cut off."""
    from starlette.requests import ClientDisconnect

    size = 0
    try:
        with open(path, "wb") as file:
            # Past the limit the rest is read and dropped, so the client gets the answer
            # instead of a reset connection.
            async for chunk in request.stream():
                size += len(chunk)
                if size <= limit:
                    file.write(chunk)
    except ClientDisconnect:
        raise Refused(400, f"{name}: the upload was cut off") from None
    if size > limit:
        raise Refused(413, f"{name}: larger than the upload limit of {limit / 1e6:g} MB")
    if size == 0:
        raise Refused(400, f"{name}: empty upload (0 bytes)")


def _size(value: Any) -> Any:
    """'640x360' -> [640, 360]; anything else is left for the render kind's check to refuse."""
    if isinstance(value, str):
        width, sep, height = value.lower().partition("x")
        if sep and width.strip().isdigit() and height.strip().isdigit():
            return [int(width), int(height)]
        raise Refused(400, f"size {value[:20]!r}: wants WxH, e.g. 640x360")
    return value
