"""Outputs benchmark: what NDI out, a stream and a recording cost the show.

    python -m bench.outputs --json bench/results/outputs.json [--seconds 20] [--size 1280x720]

Each case runs the real `gansmania live --headless` on the bundled default model and the demo
track (target 60 fps) in a fresh process, with the outputs the case names. For NDI, a receiver
in this process finds the source on loopback and takes every frame, so the sender really
compresses (an NDI output nobody watches compresses nothing). Rows: display and generator fps,
each against the case with no outputs; the NDI frames the receiver got a second (from its first
frame to its last), those the sender dropped (busy) and those it did not compress because no
receiver was connected yet; the show process's CPU in all (cores).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import parser
from bench.rigs.ports import free_port
from visualizer.benchmarks.report import report

COLUMNS = ("case", "display_fps", "fps_vs_none", "gen_fps", "gen_vs_none", "ndi_received_fps",
           "ndi_dropped", "ndi_unwatched", "stream_sent", "stream_dropped", "show_cores", "load_1m")
NDI_NAME = "gm-bench"


def receive(ndi, stop: threading.Event, got: list[float]) -> None:
    """Connect to the bench's NDI source once it shows up; ``got``: [video frames, the first's
    and the last's arrival time]."""
    finder = ndi.find_create_v2()
    source = None
    while source is None and not stop.is_set():
        ndi.find_wait_for_sources(finder, 200)
        source = next((s for s in ndi.find_get_current_sources(finder)
                       if s.ndi_name.endswith(f"({NDI_NAME})")), None)
    if source is None:
        return
    receiver = ndi.recv_create_v3(ndi.RecvCreateV3(color_format=ndi.RECV_COLOR_FORMAT_RGBX_RGBA))
    ndi.recv_connect(receiver, source)
    try:
        while not stop.is_set():
            kind, video, audio, _ = ndi.recv_capture_v2(receiver, 200)
            if kind == ndi.FRAME_TYPE_VIDEO:
                got[0] += 1
                got[1] = got[1] or time.monotonic()
                got[2] = time.monotonic()
                ndi.recv_free_video_v2(receiver, video)
            elif kind == ndi.FRAME_TYPE_AUDIO:
                ndi.recv_free_audio_v2(receiver, audio)
    finally:
        ndi.recv_destroy(receiver)
        ndi.find_destroy(finder)


def run_case(name: str, extra: list[str], *, ndi, audio: Path, size: str, seconds: float,
             folder: Path) -> dict[str, Any]:
    stats_path = folder / f"{name.replace(' ', '-')}.json"
    command = [sys.executable, "-m", "visualizer.cli", "-q", "live", "--headless", "--input",
               str(audio), "--preset", "drift", "--size", size, "--duration", str(seconds),
               "--stats", str(stats_path), "--set", "display.fps=60", *extra]
    load = os.getloadavg()[0]
    stop, got = threading.Event(), [0, 0.0, 0.0]
    listener = None
    if "--ndi" in extra:
        listener = threading.Thread(target=receive, args=(ndi, stop, got), daemon=True)
        listener.start()
    show = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 600)
    stop.set()
    if listener is not None:
        listener.join(timeout=5)
    if show.returncode != 0:
        return {"case": name, "error": show.stderr.strip()[-300:]}
    stats = json.loads(stats_path.read_text())
    row = {"case": name, "display_fps": round(stats["display_fps"], 2),
           "gen_fps": round(stats["gen_fps"], 2),
           "show_cores": round(sum(stats["cpu_cores"].values()), 3), "load_1m": round(load, 2),
           "stats": stats}
    if "ndi" in stats:
        ndi_stats = stats["ndi"]
        watched_s = got[2] - got[1]  # the receiver connects a second or two into the show
        row.update(ndi_dropped=ndi_stats["frames_dropped"],
                   ndi_unwatched=ndi_stats["frames_unwatched"],
                   ndi_received_fps=round((got[0] - 1) / watched_s, 2) if watched_s > 0 else 0.0)
    if "stream" in stats:  # to a UDP port nobody reads: what sending costs, not receiving
        row.update(stream_sent=stats["stream"]["frames_sent"],
                   stream_dropped=stats["stream"]["frames_dropped"])
    return row


def main() -> None:
    from visualizer.audio.demo import demo_track_path
    from visualizer.ndi.runtime import load_ndi, ndi_config_text

    options = parser(__doc__)
    options.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    options.add_argument("--size", default="1280x720", help="output (and NDI) size, WxH")
    args = options.parse_args()
    with tempfile.TemporaryDirectory(prefix="gm-outputs-bench-") as tmp:
        folder = Path(tmp)
        # Loopback discovery for this process and the shows it starts (no mDNS needed).
        (folder / "ndi-config.v1.json").write_text(ndi_config_text(ips=("127.0.0.1",)))
        os.environ["NDI_CONFIG_DIR"] = str(folder)
        ndi = load_ndi()
        recording = ["--record", str(folder / "take.mp4")]
        stream = ["--stream", f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"]
        cases = [("no outputs", []), ("NDI", ["--ndi", NDI_NAME]),
                 ("recording", recording), ("NDI + recording", ["--ndi", NDI_NAME, *recording]),
                 ("stream", stream), ("NDI + recording + stream", ["--ndi", NDI_NAME, *recording,
                                                                   *stream])]
        rows = [run_case(name, extra, ndi=ndi, audio=demo_track_path(), size=args.size,
                         seconds=args.seconds, folder=folder) for name, extra in cases]
    none = rows[0]
    for row in rows:
        for key, base in (("fps_vs_none", "display_fps"), ("gen_vs_none", "gen_fps")):
            if none.get(base) and row.get(base):
                row[key] = round(row[base] / none[base], 3)
    report(f"Outputs: what NDI, a recording and a stream cost `live --headless` ({args.size}, "
           f"target 60 fps, {args.seconds:g} s a case) on {socket.gethostname()}", COLUMNS, rows,
           json_path=args.json, extra={"seconds": args.seconds, "size": args.size},
           console=Console(width=200))


if __name__ == "__main__":
    main()
