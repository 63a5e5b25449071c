"""`gansmania web` (the studio) and `gansmania worker` (its jobs, in a process of their own)."""

from __future__ import annotations

import os
from pathlib import Path

import click

data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Studio folder: the job store (jobs.db), uploaded songs, job outputs "
         "(default: $XDG_DATA_HOME/gansmania/studio, i.e. ~/.local/share/gansmania/studio).")


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
@click.option("--external-worker", is_flag=True,
              help="Queue jobs only; `gansmania worker --data DIR` runs them (default: a worker "
                   "thread in this process).")
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
        external_worker: bool, max_upload_mb: float, max_song_min: float, max_model_mb: float,
        token: str | None,
        allow: tuple[str, ...], max_clients: int) -> None:
    """Serve the studio: upload a song, render it, watch the progress, play and download it;
    seed grids, the model library (NVlabs .pkl uploads are imported into
    ~/.config/gansmania/models), training runs.

    Renders and grids are jobs, run one at a time by a worker thread of this process (or by
    `gansmania worker` with --external-worker). Ctrl-C stops the server.

    \b
    Example:
      gansmania web                      # http://127.0.0.1:8000/, this computer only
      gansmania web --host 0.0.0.0 --runs runs/
    """
    import secrets
    import signal
    import threading

    from visualizer.control.osc import parse_allow
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
    queue = JobQueue.open(folder, kinds=KINDS)
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
        click.echo(f"studio: {url}  (jobs in {folder}; Ctrl-C stops)")
        if token:
            click.echo(terminal_qr(url))
        if external_worker:
            click.echo(f"jobs wait for `gansmania worker --data {folder}`")
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
def worker(data_dir: Path | None) -> None:
    """Run the studio's jobs (renders, grids) from its queue, one at a time, in this process.

    For `gansmania web --external-worker`, or to keep renders out of the web server's process.
    Ctrl-C stops after the running job.

    \b
    Example:
      gansmania worker --data ~/.local/share/gansmania/studio
    """
    from visualizer.jobs import JobQueue
    from visualizer.jobs.kinds import KINDS

    folder = studio_dir(data_dir)
    queue = JobQueue.open(folder, kinds=KINDS)
    for job_id in queue.recover():
        click.echo(f"job {job_id}: its worker had stopped while it ran; marked failed")
    click.echo(f"worker: jobs of {folder}")
    # Huey's own consumer: signals, a graceful stop, and the same code on Redis later.
    queue.huey.create_consumer(workers=1, worker_type="thread", periodic=False,
                               max_delay=1.0).run()
