"""OSC flood benchmark: does a controller flood cost the render loop its rate?

    python -m bench.osc --json bench/results/osc.json [--seconds 10] [--rate 5000]

Each case runs the real `gansmania live --headless --osc-port P` (a small random generator,
the demo track) in a fresh process while another process sends valid OSC messages at a fixed
rate (5,000 a second: far beyond any human on a surface) for the whole run, optionally with a
subscribed client receiving the 30 Hz state feed. Rows: display fps against its target, the
messages sent, received and applied, and how many the kernel dropped. Pause other heavy work
(training) while it runs: the numbers are only as quiet as the machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import parser
from bench.rigs.ports import free_port
from visualizer.benchmarks.report import report

COLUMNS = ("case", "rate_msgs_s", "sent", "received", "applied", "problems", "lost",
           "display_fps", "target_fps", "fps_vs_quiet", "gen_fps", "load_1m")


@dataclass(frozen=True)
class FloodCase:
    name: str
    rate: int = 0  # messages a second; 0 = none
    subscribe: bool = False  # a client also receives the state feed


CASES = (FloodCase("quiet (OSC on, no traffic)"),
         FloodCase("flood 5000 msg/s", rate=5000),
         FloodCase("flood 5000 msg/s + feedback", rate=5000, subscribe=True))

# A surface's worth of addresses with valid values (faders moving, buttons, shader params).
_MESSAGES = (("/gm/intensity", (0.2, 1.0)), ("/gm/map/pulse/strength", (0.0, 2.0)),
             ("/gm/map/chroma/strength", (0.0, 2.0)), ("/gm/truncation", (0.5, 1.5)),
             ("/gm/fx/zoom/twist", (-1.0, 1.0)), ("/gm/fx/grade/hue", (-90.0, 90.0)),
             ("/gm/reactivity", (0.5, 2.0)), ("/gm/map/noise/strength", (0.5, 3.0)))

_SENDER = r"""
import json, socket, sys, time
from pythonosc.osc_message_builder import OscMessageBuilder
host, port, rate, seconds, subscribe = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
messages = json.loads(sys.argv[6])
def build(address, value):
    b = OscMessageBuilder(address); b.add_arg(float(value)); return b.build().dgram
datagrams = [build(a, lo + (hi - lo) * (i % 97) / 96) for i in range(97) for a, (lo, hi) in messages]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.bind(("127.0.0.1", 0))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20); sock.settimeout(0.2)
probe = OscMessageBuilder("/gm/state"); probe = probe.build().dgram
deadline = time.monotonic() + 120
while True:  # wait for the show's server: /gm/state answers once it listens
    sock.sendto(probe, (host, port))
    try:
        sock.recv(65536); break
    except (TimeoutError, ConnectionRefusedError):
        if time.monotonic() > deadline: print(json.dumps({"error": "no OSC server"})); sys.exit(1)
if subscribe:
    b = OscMessageBuilder("/gm/subscribe"); sock.sendto(b.build().dgram, (host, port))
sock.setblocking(False)
sent, feedback, start = 0, 0, time.perf_counter()
tick = 0.001
while rate:
    now = time.perf_counter() - start
    if now >= seconds: break
    due = int(now * rate) + 1
    while sent < due:
        sock.sendto(datagrams[sent % len(datagrams)], (host, port)); sent += 1
    try:
        while True: sock.recv(65536); feedback += 1
    except (BlockingIOError, ConnectionRefusedError): pass
    time.sleep(max(tick - (time.perf_counter() - start - now), 0))
print(json.dumps({"sent": sent, "elapsed": time.perf_counter() - start, "feedback": feedback}))
"""


def small_model(folder: Path) -> Path:
    """A random-weight 64 px generator (the `cpu` architecture shrunk): the bench measures the
    render loop and OSC, not the generator."""
    import torch

    from training.checkpoint import save_generator
    from training.configs import CONFIGS
    from training.networks import Generator

    torch.manual_seed(0)
    config = CONFIGS["cpu"].replace(z_dim=64, w_dim=64, img_resolution=64, channel_base=512,
                                    channel_max=64, mapping_layers=2)
    return save_generator(folder / "small.safetensors", Generator(config).eval())


def run_case(case: FloodCase, *, model: Path, audio: Path, seconds: float, folder: Path,
             size: tuple[int, int], fps: float) -> dict[str, Any]:
    port = free_port(socket.SOCK_DGRAM)
    stats_path = folder / f"{abs(hash(case))}.json"
    command = [sys.executable, "-m", "visualizer.cli", "-q", "live", "--headless",
               "--model", str(model), "--input", str(audio), "--preset", "drift",
               "--size", f"{size[0]}x{size[1]}", "--duration", str(seconds),
               "--stats", str(stats_path), "--osc-port", str(port),
               "--set", f"display.fps={fps}"]
    load = os.getloadavg()[0]
    show = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sender = subprocess.Popen([sys.executable, "-c", _SENDER, "127.0.0.1", str(port),
                               str(case.rate), str(seconds), "1" if case.subscribe else "0",
                               json.dumps(_MESSAGES)], stdout=subprocess.PIPE, text=True)
    try:
        _, errors = show.communicate(timeout=seconds + 300)
        sent_out, _ = sender.communicate(timeout=30)
    finally:
        for process in (show, sender):
            if process.poll() is None:
                process.kill()
    if show.returncode != 0:
        return {"case": case.name, "error": errors.strip()[-300:]}
    stats = json.loads(stats_path.read_text())
    flood = json.loads(sent_out.strip().splitlines()[-1]) if sent_out.strip() else {}
    osc = stats.get("control", {}).get("osc", {})
    sent = flood.get("sent", 0)
    return {"case": case.name, "rate_msgs_s": case.rate, "sent": sent,
            "received": osc.get("received"), "applied": osc.get("applied"),
            "problems": osc.get("problems"),
            # The first probes before the server listened count as received, not sent.
            "lost": max(sent - osc.get("applied", 0), 0) if case.rate else 0,
            "display_fps": stats["display_fps"], "target_fps": fps, "gen_fps": stats["gen_fps"],
            "feedback_datagrams": flood.get("feedback"), "load_1m": round(load, 2),
            "stats": stats}


def run(*, seconds: float = 10.0, size: tuple[int, int] = (640, 360), fps: float = 60.0,
        cases=CASES) -> list[dict[str, Any]]:
    """Every case's row (the quiet case first: the others' fps is compared with it)."""
    from visualizer.audio.demo import demo_track_path

    with tempfile.TemporaryDirectory(prefix="gm-osc-bench-") as tmp:
        folder = Path(tmp)
        model = small_model(folder)
        rows = [run_case(case, model=model, audio=demo_track_path(), seconds=seconds,
                         folder=folder, size=size, fps=fps) for case in cases]
    quiet = rows[0].get("display_fps")
    for row in rows:
        if quiet and row.get("display_fps"):
            row["fps_vs_quiet"] = round(row["display_fps"] / quiet, 3)
    return rows


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    options.add_argument("--rate", type=int, default=5000, help="flood rate, messages a second")
    options.add_argument("--fps", type=float, default=60.0, help="the render loop's target rate")
    args = options.parse_args()
    cases = tuple(FloodCase(case.name.replace("5000", str(args.rate)),
                            rate=args.rate if case.rate else 0, subscribe=case.subscribe)
                  for case in CASES)
    rows = run(seconds=args.seconds, fps=args.fps, cases=cases)
    report(f"OSC flood: {args.rate} msg/s for {args.seconds:g} s into `live --headless` "
           f"(640x360, target {args.fps:g} fps)", COLUMNS, rows, json_path=args.json,
           extra={"seconds": args.seconds, "rate": args.rate}, console=Console(width=200))


if __name__ == "__main__":
    main()
