"""Web remote benchmark: control round trip, and what preview viewers cost the show.

    python -m bench.web --json bench/results/web.json [--seconds 20]

Each case runs the real `gansmania live --headless --web 127.0.0.1:P` (a small random generator,
the demo track, 640x360 at 60 fps) in a fresh process. A page (a WebSocket client in this
process) moves a fader ~200 times and times each change until the state feed brings it back:
the round trip control change -> ParamStore -> feedback. With viewers, that many preview
WebSockets take every frame they are sent. Rows: round trip median and p95, display fps
against the case without viewers, preview frames a viewer got, the preview encoder's CPU
(scaling + JPEG, a fraction of one core) and the show process's CPU in all (cores).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import parser
from bench.osc import small_model
from bench.rigs.ports import free_port
from visualizer.benchmarks.report import report

COLUMNS = ("case", "viewers", "rtt_ms_median", "rtt_ms_p95", "changes", "display_fps",
           "fps_vs_none", "preview_fps_per_viewer", "preview_kb", "preview_encode_cores",
           "show_cores", "load_1m")


def _wait_up(base: str, deadline_s: float = 120.0) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            urllib.request.urlopen(base + "api/controls", timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the show's web remote did not come up") from None
            time.sleep(0.2)


def round_trips(base: str, changes: int) -> list[float]:
    """Seconds from sending each fader value to seeing it in the state feed."""
    from websockets.sync.client import connect

    times = []
    with connect(base.replace("http", "ws") + "ws") as ws:
        ws.recv(timeout=10)  # everything, on connect
        for i in range(changes):
            value = round(0.2 + 0.6 * (i % 100) / 99, 4) if i % 2 else round(0.21 + 0.001 * i, 4)
            start = time.perf_counter()
            ws.send(json.dumps({"address": "/gm/intensity", "args": [value]}))
            while True:
                state = json.loads(ws.recv(timeout=5)).get("state", {})
                if state.get("/gm/state/intensity") == [value]:
                    break
            times.append(time.perf_counter() - start)
            time.sleep(0.02)  # a finger on a fader, not a flood
    return times


def view(base: str, stop: threading.Event, got: list[int]) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(base.replace("http", "ws") + "preview") as ws:
        while not stop.is_set():
            try:
                got[1] += len(ws.recv(timeout=0.5))
                got[0] += 1
            except TimeoutError:
                continue
            except ConnectionClosed:  # the show ended first
                return


def run_case(viewers: int, *, model: Path, audio: Path, seconds: float, folder: Path,
             changes: int) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    stats_path = folder / f"web-{viewers}.json"
    command = [sys.executable, "-m", "visualizer.cli", "-q", "live", "--headless", "--model",
               str(model), "--input", str(audio), "--preset", "drift", "--size", "640x360",
               "--duration", str(seconds), "--stats", str(stats_path), "--web", str(port),
               "--set", "display.fps=60"]
    load = os.getloadavg()[0]
    show = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stop = threading.Event()
    counts = [[0, 0] for _ in range(viewers)]
    try:
        _wait_up(base)
        threads = [threading.Thread(target=view, args=(base, stop, got), daemon=True)
                   for got in counts]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        rtts = round_trips(base, changes)
        _, errors = show.communicate(timeout=seconds + 300)
        watched_s = time.monotonic() - started
    finally:
        stop.set()
        if show.poll() is None:
            show.kill()
    if show.returncode != 0:
        return {"case": f"{viewers} viewers", "error": errors.strip()[-300:]}
    stats = json.loads(stats_path.read_text())
    web = stats["control"]["web"]
    frames = sum(c[0] for c in counts)
    ms = sorted(t * 1e3 for t in rtts)
    return {"case": f"{viewers} preview viewers", "viewers": viewers,
            "rtt_ms_median": round(statistics.median(ms), 2),
            "rtt_ms_p95": round(ms[int(0.95 * (len(ms) - 1))], 2), "changes": len(ms),
            "display_fps": round(stats["display_fps"], 2),
            "preview_fps_per_viewer": round(frames / viewers / watched_s, 2) if viewers else 0,
            "preview_kb": round(sum(c[1] for c in counts) / max(frames, 1) / 1024, 1),
            "preview_encode_cores": round(web["preview_encode_s"] / stats["duration_s"], 3),
            "show_cores": round(sum(stats["cpu_cores"].values()), 3),
            "load_1m": round(load, 2), "stats": stats}


def main() -> None:
    from visualizer.audio.demo import demo_track_path

    options = parser(__doc__)
    options.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    options.add_argument("--changes", type=int, default=200, help="fader changes timed")
    options.add_argument("--viewers", type=int, default=3, help="preview viewers of the 2nd case")
    args = options.parse_args()
    with tempfile.TemporaryDirectory(prefix="gm-web-bench-") as tmp:
        folder = Path(tmp)
        model = small_model(folder)
        rows = [run_case(n, model=model, audio=demo_track_path(), seconds=args.seconds,
                         folder=folder, changes=args.changes) for n in (0, args.viewers)]
    none = rows[0].get("display_fps")
    for row in rows:
        if none and row.get("display_fps"):
            row["fps_vs_none"] = round(row["display_fps"] / none, 3)
    report(f"Web remote: {args.changes} fader round trips and {args.viewers} preview viewers on "
           f"`live --headless` (640x360, target 60 fps, {args.seconds:g} s)", COLUMNS, rows,
           json_path=args.json, extra={"seconds": args.seconds, "changes": args.changes},
           console=Console(width=220))


if __name__ == "__main__":
    main()
