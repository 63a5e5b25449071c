"""`gansmania web` (the studio) and `gansmania worker` (its jobs, in a process of their own)."""

from __future__ import annotations

import os
from pathlib import Path

import click

data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Studio folder: the job store (jobs.db), uploaded songs, job outputs "
         "(default: $XDG_DATA_HOME/gansmania/studio, i.e. ~/.local/share/gansmania/studio).")


broker_option = click.option(
    "--broker", envvar="GANSMANIA_BROKER", default=None, metavar="URL",
    help="The jobs' queue on a Redis server, shared by the web process and every worker "
         "(redis://HOST:6379/0; also $GANSMANIA_BROKER). Default: the SQLite file in --data. "
         "All of them must see the same --data folder (uploaded songs; job outputs unless "
         "--outputs puts them in a bucket).")


outputs_option = click.option(
    "--outputs", envvar="GANSMANIA_OUTPUTS", default=None, metavar="URL",
    help="Job outputs in an S3-compatible bucket (s3://BUCKET/PREFIX; also $GANSMANIA_OUTPUTS), "
         "reached with the standard AWS variables (AWS_ENDPOINT_URL for MinIO, Ceph, R2; "
         "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); needs pip install 'gansmania[s3]'. "
         "Default: the --data folder.")


def studio_dir(given: Path | None) -> Path:
    if given is not None:
        return given.expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gansmania" / "studio"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback (e.g. 0.0.0.0) requires the "
                   "token, printed at start with a QR code.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port (0: any free one).")
@data_option
@click.option("--runs", "runs_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of training runs (`gansmania train --out` folders) to show, read-only.")
@broker_option
@outputs_option
@click.option("--external-worker", is_flag=True,
              help="Queue jobs only; `gansmania worker --data DIR` runs them (default: a worker "
                   "thread in this process; with --broker always external).")
@click.option("--max-upload-mb", type=click.FloatRange(min=0.001), default=200.0,
              show_default=True, help="Largest song upload (MB).")
@click.option("--max-song-min", type=click.FloatRange(min=0.01), default=20.0, show_default=True,
              help="Longest song accepted (minutes).")
@click.option("--max-model-mb", type=click.FloatRange(min=0.001), default=1000.0,
              show_default=True, help="Largest NVlabs .pkl upload (MB).")
@click.option("--token", default=None,
              help="Token for a studio open beyond loopback (default: a new random one).")
@click.option("--allow", multiple=True, metavar="ADDR",
              help="Only these clients (IP or network, repeatable), loopback included.")
@click.option("--max-clients", type=click.IntRange(min=1), default=8, show_default=True,
              help="Pages with a live job feed at once.")
def web(host: str, port: int, data_dir: Path | None, runs_dir: Path | None,
        broker: str | None, outputs: str | None, external_worker: bool, max_upload_mb: float,
        max_song_min: float, max_model_mb: float, token: str | None, allow: tuple[str, ...],
        max_clients: int) -> None:
    """Serve the studio: upload a song, render it, watch the progress, play and download it;
    seed grids, the model library (NVlabs .pkl uploads are imported into
    ~/.config/gansmania/models), training runs.

    Renders and grids are jobs, run one at a time by a worker thread of this process (or by
    `gansmania worker` with --external-worker or --broker). Ctrl-C stops the server.

    \b
    Example:
      gansmania web                      # http://127.0.0.1:8000/, this computer only
      gansmania web --host 0.0.0.0 --runs runs/
      gansmania web --broker redis://queue-host:6379/0 --data /shared/studio
      gansmania web --broker redis://queue-host:6379/0 --outputs s3://renders/studio
    """
    import secrets
    import signal
    import threading

    from visualizer.control.osc import parse_allow
    from visualizer.core.errors import GansmaniaError
    from visualizer.core.paths import user_dir
    from visualizer.jobs import JobQueue, ThreadWorker
    from visualizer.jobs.kinds import KINDS
    from visualizer.presets.catalog import preset_paths
    from visualizer.presets.loader import default_model_dirs
    from visualizer.web.qr import phone_host, terminal_qr
    from visualizer.web.server import Gate, ServerThread, check_web, is_loopback
    from visualizer.web.studio import STUDIO_STREAMS, Studio
    from visualizer.web.studio_library import list_models
    from visualizer.web.studio_songs import SongStore

    check_web(f"{host}:{port}" if ":" not in host else f"[{host}]:{port}")
    networks = parse_allow(allow)
    folder = studio_dir(data_dir)
    queue = JobQueue.open(folder, kinds=KINDS, broker=broker, outputs=outputs)
    external_worker = external_worker or broker is not None
    if broker is not None:
        try:
            queue.broker.ping()
        except queue.broker.errors as exc:
            raise GansmaniaError(f"broker {queue.broker.where}: cannot reach it ({exc})") from None
    songs = SongStore(folder, max_bytes=int(max_upload_mb * 1e6),
                      max_duration_s=max_song_min * 60)
    studio = Studio(queue, songs, models=lambda: list_models(default_model_dirs()),
                    presets=lambda: list(preset_paths()), runs_dir=runs_dir,
                    import_dir=user_dir() / "models", max_model_bytes=int(max_model_mb * 1e6))
    token = "" if is_loopback(host) else token or secrets.token_urlsafe(12)
    gate = Gate(studio.asgi(), token=token, max_clients=max_clients, allow=networks,
                streams=STUDIO_STREAMS, command="gansmania web")
    worker = None if external_worker else ThreadWorker(queue).start()
    server = ServerThread(gate, host, port, max_message_bytes=65536)
    try:
        server.start()
        shown = phone_host(server.host)
        shown = f"[{shown}]" if ":" in shown else shown
        url = f"http://{shown}:{server.port}/" + (f"?token={token}" if token else "")
        click.echo(f"studio: {url}  (jobs in {folder}, outputs in {queue.outputs.where}; "
                   "Ctrl-C stops)")
        if token:
            click.echo(terminal_qr(url))
        if external_worker:
            where = f" --broker {queue.broker.where}" if broker else ""
            where += f" --outputs {queue.outputs.where}" if outputs else ""
            click.echo(f"jobs wait for `gansmania worker --data {folder}{where}`")
        stop = threading.Event()
        # SIGTERM (a service manager, a container stopping) ends it as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        while not stop.is_set() and server.running:
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if worker is not None:
            worker.close(timeout_s=5.0)


@click.command()
@data_option
@broker_option
@outputs_option
@click.option("--gpus", default=None, metavar="IDS",
              help="One worker process per GPU, e.g. 0,1 (each sees only its own through "
                   "CUDA_VISIBLE_DEVICES). Default: every GPU of this machine; none: one process.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Worker processes sharing the device(s) this process sees, instead of one "
                   "per GPU (e.g. several on a CPU-only machine).")
@click.option("--time-limit-min", type=click.FloatRange(min=0, min_open=True), default=240.0,
              show_default=True, help="A job running longer is stopped (between frames) and "
                                      "fails with that reason.")
def worker(data_dir: Path | None, broker: str | None, outputs: str | None, gpus: str | None,
           processes: int | None, time_limit_min: float) -> None:
    """Run the studio's jobs (renders, grids) from its queue, one at a time per process.

    For `gansmania web --external-worker` or `--broker`, or to keep renders out of the web
    server's process. Many workers on many machines share one Redis queue (--broker) and one
    --data folder (a shared mount); a job whose worker dies is queued again and ends once.
    Ctrl-C or SIGTERM stops after the running job; the broker going away is waited out.

    \b
    Example:
      gansmania worker --data ~/.local/share/gansmania/studio
      gansmania worker --broker redis://queue-host:6379/0 --data /shared/studio --gpus 0,1
      gansmania worker --broker redis://queue-host:6379/0 --outputs s3://renders/studio
    """
    from visualizer.core.errors import GansmaniaError
    from visualizer.jobs import JobQueue
    from visualizer.jobs.kinds import KINDS
    from visualizer.jobs.worker import gpu_count, run_here, run_processes

    if gpus is not None and processes is not None:
        raise GansmaniaError("--gpus and --processes: give one of them")
    if gpus is not None:
        slots: list[str | None] = [gpu.strip() for gpu in gpus.split(",")]
        if not all(slot.isdigit() for slot in slots):
            raise GansmaniaError(f"--gpus {gpus!r}: wants GPU numbers separated by commas, "
                                 "e.g. 0,1")
    elif processes is not None:
        slots = [None] * processes
    else:
        slots = [str(gpu) for gpu in range(gpu_count())] or [None]
    folder = studio_dir(data_dir)
    queue = JobQueue.open(folder, kinds=KINDS, broker=broker, outputs=outputs,
                          time_limit_s=time_limit_min * 60)
    if len(slots) > 1:
        click.echo(f"worker: {len(slots)} processes on the jobs of {queue.broker.where}")
        command = ["-m", "visualizer.cli", "worker", "--data", str(folder), "--processes", "1",
                   "--time-limit-min", str(time_limit_min)]
        # The URL travels in the environment, not on the command line: it may hold a password.
        if broker:
            os.environ["GANSMANIA_BROKER"] = broker
        if outputs:
            os.environ["GANSMANIA_OUTPUTS"] = outputs
        raise SystemExit(run_processes(command, slots))
    if slots[0] is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = slots[0]  # before anything imports torch
    gpu = f" on GPU {slots[0]}" if slots[0] is not None else ""
    click.echo(f"worker {os.getpid()}{gpu}: jobs of {queue.broker.where}, "
               f"outputs in {queue.outputs.where}")
    run_here(queue)
