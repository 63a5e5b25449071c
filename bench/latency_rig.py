"""Click -> flash latency measured from outside the program.

    python -m bench.latency_rig --json bench/results/latency_rig.json

The rig starts its own Xvfb and PulseAudio daemon (null sink), runs `gansmania live` in a real
window on that display capturing the sink's monitor, plays clicks into the sink and films the
window together with the monitor's audio in ONE ffmpeg process (x11grab + pulse, both stamped
on the wall clock). Click and flash times are read from that file: the first sample of each
click in its audio, the first grabbed frame whose brightness jumps after it. Nothing comes from
the program's stamps; those (``--stats`` onset_ms, and a ``record.align = "presented"``
recording of the same run) are read back only to check that they agree with the film.

Cases (each its own run of `live`):

- ``shader``: bench/rigs/latency_flash.toml, a black screen flashing white on onsets through the
  flash pass (u_onset): the shader path, random gaps of 0.4-1.2 s between clicks;
- ``generator``: the same clicks, no shader chain, a strong latent pulse on onsets: the first
  frame the generator's picture visibly changes;
- ``beat``: a steady click track, the flash pass on the beat only (u_beat_phase): flash time
  minus the true click once the tracker has locked (signed: negative = early).

Before the clicks, reference events check ffmpeg's own clocks against the wall clock: the rig
paints the root window (xsetroot), and the film must show it within a grab period of the call;
it writes a click into the sink, and a second client on the monitor (pacat --record, 2 ms
reads) notes when it arrives: ffmpeg's stamp of that click must come before the arrival, by no
more than the capture buffers (a few ms). The sink plays ~0.3 s behind the writes; that delay
is before the monitor, which is the "microphone" both the show and ffmpeg listen to.

Goals (2-core CPU, llvmpipe on Xvfb): shader path median <= 30 ms; beat flashes within
+/-10 ms of the beat once locked; the generator path is reported, with no goal. Xvfb has no
scan-out: a frame is "on screen" when the X server has its pixels, which a real display shows
up to one refresh later (plus the monitor's own lag).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import parser
from bench.rigs.film import (Film, beat_flash_times, change_times, changed_at, read_film,
                             read_recording)
from bench.rigs.processes import pulseaudio, xvfb
from bench.rigs.processes import stop as _stop

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "bench" / "rigs" / "latency_flash.toml"
SR = 48000
SIZE = (160, 90)  # the show's window: small, so llvmpipe and the grab cost little
ROOT_PATCH_PX = 32  # root-window columns filmed beside the show's window (the video reference)
GRAB_FPS = 200  # film rate: a flash is dated to within 5 ms
PLAYER_LATENCY_MS = 10  # pacat's requested buffer (PulseAudio's null sink adds its own)
BEAT_BPM = 120.0
LOCK_S = 8.0  # beat case: clicks before this (from the first) are the tracker's lock-in
COLUMNS = ("case", "clicks", "flashes", "median_ms", "p95_ms", "min_ms", "max_ms", "stats_ms",
           "recording_ms", "agree", "goal_ms", "display_fps", "gen_fps")
GOALS_MS = {"shader": 30.0, "beat": 10.0}  # beat: |error| bound; generator: none


@dataclass(frozen=True)
class Services:
    """An X display and a PulseAudio server with a null sink, for one rig run."""

    display: str  # DISPLAY
    pulse_server: str  # PULSE_SERVER
    sink: str  # play here
    monitor: str  # capture here

    def env(self) -> dict[str, str]:
        env = {**os.environ, "DISPLAY": self.display, "PULSE_SERVER": self.pulse_server}
        env.pop("WAYLAND_DISPLAY", None)
        return env


@dataclass(frozen=True)
class Case:
    name: str
    preset: str  # the preset file's text
    steady: bool  # a steady click track (beat case) instead of random gaps
    path: str  # the program's onset_ms path the film is compared with ("" = none)


def cases() -> dict[str, Case]:
    base = PRESET.read_text()
    # Every other route off and one seed for every keyframe: the picture holds still but for the
    # pulse, so its first change is the onset's (a drifting walk would blur the start).
    generator = ('description = "Latency rig: no shader chain, a strong latent pulse on onsets."\n'
                 "[transition]\nbeats = 0\n[controller.walk]\nseeds = [7, 7]\n"
                 "[controller.truncation]\nquiet = 0.8\nloud = 0.8\n"
                 "[controller.pulse]\ntrigger = \"onset\"\nstrength = 3.0\nrelease_s = 0.1\n"
                 "alternate = true\n[controller.noise]\nbase = 0.0\nbass = 0.0\n"
                 "[controller.jitter]\nstrength = 0.0\n[controller.chroma]\nstrength = 0.0\n")
    beat = base.replace("amount = 1.0\non_beat = 0.0", "amount = 0.0\non_beat = 1.0\nsharpness = 16.0")
    assert beat != base, "latency_flash.toml no longer has the flash pass the beat case edits"
    return {"shader": Case("shader", base, False, "shader"),
            "generator": Case("generator", generator, False, "generator"),
            "beat": Case("beat", beat, True, "")}


# ------------------------------------------------------------------ services

@contextlib.contextmanager
def started_services(work: Path) -> Iterator[Services]:
    """Xvfb and a private PulseAudio daemon with a null sink, as the tests' fixtures start them."""
    with xvfb() as display, pulseaudio(work / "pulse", sink="gm_rig_sink", rate=SR) as pulse:
        yield Services(display=display, pulse_server=pulse.server, sink=pulse.sink,
                       monitor=pulse.monitor)


# ------------------------------------------------------------------ sound

def click_times(*, steady: bool, duration_s: float, seed: int) -> np.ndarray:
    """Seconds from the start of the click track: 120 BPM, or random gaps of 0.4-1.2 s."""
    if steady:
        return np.arange(0.0, duration_s, 60.0 / BEAT_BPM)
    rng = np.random.default_rng(seed)
    gaps = rng.uniform(0.4, 1.2, int(duration_s / 0.4) + 1)
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    return times[times < duration_s]


def click_audio(times_s: np.ndarray, *, duration_s: float, seed: int = 0) -> np.ndarray:
    """Mono float32: a 10 ms 1.6 kHz burst at each time over -70 dBFS noise, shape (n,)."""
    rng = np.random.default_rng(seed)
    audio = rng.normal(0.0, 10 ** (-70 / 20), int(duration_s * SR)).astype(np.float32)
    t = np.arange(int(0.01 * SR)) / SR
    burst = (0.6 * (np.sin(2 * np.pi * 1600 * t) + 0.5 * np.sin(2 * np.pi * 3200 * t))
             * np.exp(-t / 0.003)).astype(np.float32)
    for start in np.round(np.asarray(times_s) * SR).astype(int):
        end = min(start + burst.shape[0], audio.shape[0])
        audio[start:end] += burst[:end - start]
    return audio


class Player:
    """Writes audio into the sink through ``pacat`` in 10 ms chunks paced by the wall clock, so
    what the rig schedules at wall time T is played at T plus pacat's small buffer."""

    CHUNK = SR // 100

    def __init__(self, services: Services) -> None:
        self._process = subprocess.Popen(
            ["pacat", "--playback", "--raw", f"--device={services.sink}", "--format=float32le",
             f"--rate={SR}", "--channels=1", f"--latency-msec={PLAYER_LATENCY_MS}"],
            stdin=subprocess.PIPE, env=services.env())
        self._lock = threading.Lock()
        self._queue: list[tuple[float, np.ndarray]] = []  # (wall start time, samples)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rig-player", daemon=True)
        self._thread.start()

    def play(self, audio: np.ndarray, *, at_s: float) -> None:
        """Play ``audio`` (mono float32) from wall time ``at_s`` (time.time())."""
        with self._lock:
            self._queue.append((at_s, audio))

    def _run(self) -> None:
        silence = np.zeros(self.CHUNK, dtype=np.float32)
        next_t = time.time()
        assert self._process.stdin is not None
        while not self._stop.is_set():
            chunk = silence.copy()
            with self._lock:
                for start, audio in self._queue:
                    first = round((next_t - start) * SR)
                    lo, hi = max(first, 0), min(first + self.CHUNK, audio.shape[0])
                    if hi > lo:
                        chunk[lo - first:hi - first] += audio[lo:hi]
                self._queue = [(s, a) for s, a in self._queue if (next_t - s) * SR < a.shape[0]]
            try:
                self._process.stdin.write(chunk.tobytes())
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            next_t += self.CHUNK / SR
            delay = next_t - time.time()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.2:  # the rig was starved: start a fresh schedule, as a sound card would
                next_t = time.time()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self._process.stdin is not None:
            self._process.stdin.close()
        _stop(self._process)


class Listener:
    """A second client on the monitor (``pacat --record``, 2 ms reads) noting the wall time each
    click's samples reach it: an upper bound of their capture time that ffmpeg's audio stamps
    are checked against."""

    READ = 96  # samples a read: 2 ms

    def __init__(self, services: Services) -> None:
        self._process = subprocess.Popen(
            ["pacat", "--record", "--raw", f"--device={services.monitor}", "--format=float32le",
             f"--rate={SR}", "--channels=1", "--latency-msec=5"],
            stdout=subprocess.PIPE, env=services.env())
        self.arrivals: list[float] = []  # wall time of each read that held a click's sample
        self._thread = threading.Thread(target=self._run, name="rig-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._process.stdout is not None
        while block := self._process.stdout.read(4 * self.READ):
            if np.abs(np.frombuffer(block, dtype=np.float32)).max() > 0.05:
                self.arrivals.append(time.time())

    def close(self) -> None:
        _stop(self._process)
        self._thread.join(timeout=2)


# ------------------------------------------------------------------ one run

def start_film(services: Services, box: tuple[int, int, int, int], path: Path) -> subprocess.Popen:
    """ffmpeg filming the window at ``box`` (x, y, w, h) plus ROOT_PATCH_PX columns of the root
    to its right, and the sink's monitor, into ``path`` (NUT: grey rawvideo + PCM)."""
    x, y, w, h = box
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         # The grab is stamped when it is read (the wall clock), the pulse input with the wall
         # clock minus the source's latency: both on one clock, kept as they are by -copyts.
         "-thread_queue_size", "4096", "-use_wallclock_as_timestamps", "1",
         "-f", "x11grab", "-framerate", str(GRAB_FPS), "-draw_mouse", "0",
         "-video_size", f"{w + ROOT_PATCH_PX}x{h}", "-i", f"{services.display}+{x},{y}",
         "-thread_queue_size", "4096", "-f", "pulse", "-sample_rate", str(SR), "-channels", "1",
         "-fragment_size", "1920", "-i", services.monitor,
         "-copyts", "-fps_mode", "passthrough", "-c:v", "rawvideo", "-pix_fmt", "gray",
         "-c:a", "pcm_s16le", "-f", "nut", str(path)],
        env=services.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=path.with_suffix(".ffmpeg.log").open("wb"))


def _window_box(services: Services, timeout_s: float = 30.0, *, title: str = "GANsmania") -> tuple[int, int, int, int]:
    """(x, y, w, h) of the show's window on the display."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--name", f"^{re.escape(title)}$"], capture_output=True,
                               text=True, env=services.env())
        for wid in found.stdout.split():
            geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", wid],
                                      capture_output=True, text=True, env=services.env()).stdout
            values = dict(line.split("=", 1) for line in geometry.split() if "=" in line)
            if int(values.get("WIDTH", 0)) >= SIZE[0] - 1:
                return (int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"]))
        time.sleep(0.2)
    raise RuntimeError("the show's window did not appear")


def _wait_for_line(stream_lines: list[str], pattern: str, process: subprocess.Popen,
                   timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(re.search(pattern, line) for line in list(stream_lines)):
            return
        if process.poll() is not None:
            raise RuntimeError("live ended early:\n" + "".join(stream_lines[-30:]))
        time.sleep(0.05)
    raise RuntimeError(f"live did not log {pattern!r} in {timeout_s:.0f} s:\n" + "".join(stream_lines[-30:]))


def run_case(case: Case, services: Services, work: Path, *, seconds: float, seed: int = 0,
             model: Path | None = None) -> dict[str, Any]:
    """One run of `live` for ``case``: film it and return the row plus the raw timings."""
    folder = work / case.name
    folder.mkdir(parents=True, exist_ok=True)
    preset = folder / "preset.toml"
    preset.write_text(case.preset)
    stats_path, recording, film_path = folder / "stats.json", folder / "rec.mp4", folder / "film.nut"
    settle_s, reference_s, tail_s = 3.0, 3.0, 3.0
    duration = settle_s + reference_s + seconds + tail_s
    player, listener = Player(services), Listener(services)
    command = [sys.executable, "-m", "visualizer.cli", "live", "--preset", str(preset),
               "--input", f"pulse:{services.monitor}", "--size", f"{SIZE[0]}x{SIZE[1]}",
               "--duration", f"{duration:.1f}", "--stats", str(stats_path), "--record", str(recording),
               "--set", "record.align=presented", "--set", "record.fps=60"]
    if model is not None:
        command += ["--model", str(model)]
    lines: list[str] = []
    live = subprocess.Popen(command, cwd=ROOT, env=services.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    reader = threading.Thread(target=lambda: lines.extend(iter(live.stdout.readline, "")), daemon=True)
    reader.start()
    ffmpeg = None
    try:
        _wait_for_line(lines, r"show running", live, timeout_s=120)
        _wait_for_line(lines, r"recording to", live, timeout_s=20)
        x, y, w, h = _window_box(services)
        ffmpeg = start_film(services, (x, y, w, h), film_path)
        time.sleep(settle_s)
        # Reference events: a click written at T and the root painted at T.
        references = []
        click = click_audio(np.array([0.0]), duration_s=0.05)
        for k in range(3):
            colour = "white" if k % 2 == 0 else "black"
            at = time.time() + 0.3
            player.play(click, at_s=at)
            while time.time() < at:
                time.sleep(0.0005)
            before = time.time()
            subprocess.run(["xsetroot", "-solid", colour], env=services.env(), check=True)
            references.append((at, before, time.time()))
            time.sleep(0.6)
        subprocess.run(["xsetroot", "-solid", "black"], env=services.env(), check=True)
        times = click_times(steady=case.steady, duration_s=seconds, seed=seed)
        start = time.time() + 0.5
        player.play(click_audio(times, duration_s=seconds + 0.5, seed=seed), at_s=start)
        time.sleep(seconds + 1.0)
        ffmpeg.send_signal(signal.SIGINT)
        ffmpeg.wait(timeout=30)
        live.wait(timeout=120)
    finally:
        player.close()
        listener.close()
        if ffmpeg is not None:
            _stop(ffmpeg)
        _stop(live)
        reader.join(timeout=5)
    if live.returncode != 0:
        raise RuntimeError(f"live failed ({live.returncode}):\n" + "".join(lines[-30:]))
    film = read_film(film_path, window_px=w)
    stats = json.loads(stats_path.read_text())
    return analyse(case, film, stats, references=references, arrivals=np.asarray(listener.arrivals),
                   recording=recording, clicks_from_s=start)


def analyse(case: Case, film: Film, stats: dict[str, Any], *, references, arrivals: np.ndarray,
            recording: Path, clicks_from_s: float) -> dict[str, Any]:
    # The reference clicks come first; the sink plays behind the writes, never ahead of them.
    show_clicks = film.clicks_s[film.clicks_s >= clicks_from_s]
    ref = reference_offsets(film, references, arrivals)
    if case.steady:
        locked = show_clicks[show_clicks >= show_clicks[0] + LOCK_S] if show_clicks.size else show_clicks
        flashes = beat_flash_times(locked, film.frame_s, film.show)
        errors_ms = (flashes - locked) * 1e3
        rec, paired = np.nan, np.zeros(0)
    else:
        # The flash is a jump from black; the generator's picture also drifts with the walk.
        detect = dict(min_change=40.0) if case.name == "shader" else dict(min_change=10.0, still=True)
        flashes = change_times(show_clicks, film.frame_s, film.show_pixels, **detect)
        errors_ms = (flashes - show_clicks) * 1e3
        rec_clicks, rec_t, rec_pixels = read_recording(recording)
        rec_flash = change_times(rec_clicks, rec_t, rec_pixels, **detect)
        rec_ms = (rec_flash - rec_clicks) * 1e3
        rec = float(np.nanmedian(rec_ms)) if np.isfinite(rec_ms).any() else np.nan
        paired = _paired(show_clicks, errors_ms, rec_clicks, rec_ms)
    seen = errors_ms[np.isfinite(errors_ms)]
    q = _quantiles(np.abs(seen) if case.steady else seen)
    program = stats.get("onset_ms", {}).get(case.path, {}) if case.path else {}
    median = float(np.median(seen)) if seen.size else None
    frame_ms = 1e3 / max(stats["display_fps"], 1e-6)
    # The recording saw the same clicks as the film: compared click by click, the spread of the
    # path itself (tens of ms on the generator's) drops out. --stats only gives its median.
    rec_diff = float(np.median(paired)) if paired.size else None
    stats_diff = None if program.get("median") is None or median is None else program["median"] - median
    others = [v for v in (stats_diff, rec_diff) if v is not None]
    return {
        "case": case.name, "clicks": int(show_clicks.size if not case.steady else len(errors_ms)),
        "flashes": int(seen.size),
        "median_ms": median,
        "p95_ms": q["p95"], "min_ms": float(seen.min()) if seen.size else None,
        "max_ms": float(seen.max()) if seen.size else None,
        "abs_median_ms": q["median"] if case.steady else None,
        "stats_ms": program.get("median"), "stats_p95_ms": program.get("p95"),
        "recording_ms": None if np.isnan(rec) else rec,
        "goal_ms": GOALS_MS.get(case.name),
        "display_fps": stats["display_fps"], "gen_fps": stats["gen_fps"],
        "stats_latency_ms": stats["latency_ms"]["median"], "bpm": stats["bpm"],
        "frame_ms": frame_ms,
        # The film, --stats and the presented recording within one display frame of each other.
        "agree": None if median is None or not others else
        bool(all(abs(v) <= frame_ms for v in others)),
        "stats_minus_film_ms": stats_diff, "recording_minus_film_ms": rec_diff,
        "reference": ref, "samples_ms": [round(float(v), 2) if np.isfinite(v) else None for v in errors_ms],
    }


def _paired(film_clicks: np.ndarray, film_ms: np.ndarray, rec_clicks: np.ndarray,
            rec_ms: np.ndarray) -> np.ndarray:
    """recording latency - film latency for the clicks both saw (ms). The files have clocks of
    their own: the offset is the one that lines most clicks up (to 20 ms); the pairs follow."""
    if film_clicks.size == 0 or rec_clicks.size == 0:
        return np.zeros(0)
    offsets = (film_clicks[:, None] - rec_clicks[None, :]).ravel()
    hits = [np.sum(np.abs(offsets - o) < 0.02) for o in offsets]
    offset = float(np.median(offsets[np.abs(offsets - offsets[int(np.argmax(hits))]) < 0.02]))
    diffs = []
    for click, ms in zip(film_clicks, film_ms):
        k = np.argmin(np.abs(rec_clicks + offset - click))
        if abs(rec_clicks[k] + offset - click) < 0.02 and np.isfinite(ms) and np.isfinite(rec_ms[k]):
            diffs.append(rec_ms[k] - ms)
    return np.asarray(diffs)


def reference_offsets(film: Film, references, arrivals: np.ndarray) -> dict[str, Any]:
    """ffmpeg's clocks against the wall clock (ms). Audio: the listener's arrival time of each
    reference click minus ffmpeg's stamp of it (>= 0, a few ms: the capture buffers). Video:
    ffmpeg's stamp of the root paint minus the end of the xsetroot call (-call .. +grab period)."""
    audio_ms, video_ms, call_ms, played_ms = [], [], [], []
    rises = np.abs(np.diff(film.root, prepend=film.root[:1]))
    for at, before, after in references:
        heard = film.clicks_s[(film.clicks_s >= at) & (film.clicks_s <= at + 1.0)]
        arrived = arrivals[(arrivals >= at) & (arrivals <= at + 1.0)]
        if heard.size and arrived.size:
            audio_ms.append((arrived[0] - heard[0]) * 1e3)
            played_ms.append((heard[0] - at) * 1e3)
        window = np.flatnonzero((film.frame_s >= before - 0.2) & (film.frame_s <= after + 0.3))
        if window.size and rises[window].max() > 50:
            video_ms.append((film.frame_s[window[np.argmax(rises[window] > 50)]] - after) * 1e3)
            call_ms.append((after - before) * 1e3)
    return {"audio_arrival_after_stamp_ms": [round(v, 2) for v in audio_ms],
            "video_after_paint_ms": [round(v, 2) for v in video_ms],
            "paint_call_ms": [round(v, 2) for v in call_ms],
            "sink_delay_ms": [round(v, 1) for v in played_ms], "grab_period_ms": 1e3 / GRAB_FPS}


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {"median": None, "p95": None}
    ordered = np.sort(values)
    return {"median": float(np.median(ordered)),
            "p95": float(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))])}


def probe_clocks(services: Services, work: Path, *, clicks: int = 12) -> dict[str, Any]:
    """The program's two clocks against the film, in this process, with the product's own
    parts: the capture clock (an Analyzer on the monitor, as `live` builds it: the capture time
    it gives a click's first sample) and the present stamp (a WindowOutput turning black/white:
    the stamp its present() returns). Both minus ffmpeg's time of the same event, in ms;
    positive = the program's stamp is later than the film. This tells which clock is wrong
    when the rig, --stats and a presented recording disagree."""
    from visualizer.audio.analyzer import analyzer_for
    from visualizer.core.config import load_config
    from visualizer.render.window import WindowOutput
    from visualizer.settings import ShowConfig

    os.environ.update({"DISPLAY": services.display, "PULSE_SERVER": services.pulse_server})
    show = load_config(ShowConfig, None, overrides={"audio.input": f"pulse:{services.monitor}"})
    analyzer = analyzer_for(show.audio)
    heard: list[float] = []  # capture-clock time of each click's first sample
    quiet_since = [0.0]

    def listen(block: np.ndarray, t_audio: float) -> None:
        sr = analyzer.source.sample_rate
        loud = np.flatnonzero(np.abs(block).max(axis=-1) > 0.05)
        first = t_audio - (block.shape[0] - (loud[0] if loud.size else 0)) / sr
        if loud.size and first - quiet_since[0] > 0.2:
            heard.append(first)
        if loud.size:
            quiet_since[0] = t_audio

    title = "GANsmania clock probe"
    output = WindowOutput(SIZE, title=title)
    player = None
    shown: list[tuple[float, int]] = []  # (present stamp, grey level) at every change
    film_path = work / "clocks.nut"
    analyzer.add_block_listener(listen)
    analyzer.start()
    try:
        box = _window_box(services, title=title)
        ffmpeg = start_film(services, box, film_path)
        player = Player(services)
        time.sleep(1.5)
        start = time.time() + 0.2
        times = np.arange(clicks) * 0.5
        player.play(click_audio(times, duration_s=times[-1] + 0.3), at_s=start)
        end = time.monotonic() + times[-1] + 1.5
        level, changed = 0, time.monotonic()
        while time.monotonic() < end:
            now = time.monotonic()
            if now - changed > 0.25 + 0.01 * (len(shown) % 7):  # uneven, never in step with the grab
                level, changed = 255 - level, now
                new = True
            else:
                new = False
            target = output.target()
            target.use()
            target.clear(level / 255, level / 255, level / 255, 1.0)
            stamp = output.present()
            output.poll()
            if new:
                shown.append((stamp, level))
            time.sleep(max(0.0, 1 / 60 - (time.monotonic() - now)))
        ffmpeg.send_signal(signal.SIGINT)
        ffmpeg.wait(timeout=30)
    finally:
        if player is not None:
            player.close()
        analyzer.stop()
        output.release()
    offset = statistics.median(time.time() - time.monotonic() for _ in range(101))  # monotonic -> wall
    film = read_film(film_path, window_px=box[2])
    capture_ms = [(t + offset - film.clicks_s[np.argmin(np.abs(film.clicks_s - t - offset))]) * 1e3
                  for t in heard] if film.clicks_s.size else []
    present_ms = []
    for stamp, level in shown:
        wall = stamp + offset
        after = np.flatnonzero((film.frame_s > wall - 0.1) & (np.abs(film.show - level) < 40))
        if after.size:
            present_ms.append((wall - changed_at(film.frame_s, after[0])) * 1e3)
    return {"capture_ms": _quantiles(np.asarray(capture_ms)) | {"count": len(capture_ms)},
            "present_ms": _quantiles(np.asarray(present_ms)) | {"count": len(present_ms)},
            "capture_samples_ms": [round(v, 2) for v in capture_ms],
            "present_samples_ms": [round(v, 2) for v in present_ms]}


def run(*, seconds: float, names: tuple[str, ...], services: Services | None = None,
        work: Path | None = None, model: Path | None = None,
        clocks: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(rows for the named cases, the clock probe's result or None); starts Xvfb + PulseAudio
    unless ``services`` are given."""
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="latency-rig-")))
        if services is None:
            services = stack.enter_context(started_services(work))
        chosen = cases()
        probe = probe_clocks(services, work) if clocks else None
        return [run_case(chosen[name], services, work, seconds=seconds, model=model)
                for name in names], probe


def main() -> None:
    from rich.console import Console

    from visualizer.benchmarks.report import report

    options = parser(__doc__)
    options.add_argument("--seconds", type=float, default=24.0, help="clicks per case (s)")
    options.add_argument("--cases", default="shader,generator,beat", help="comma-separated cases")
    options.add_argument("--keep", type=Path, default=None, help="keep films and recordings here")
    args = options.parse_args()
    for tool in ("Xvfb", "pulseaudio", "pacat", "ffmpeg", "xdotool", "xsetroot"):
        if shutil.which(tool) is None:
            sys.exit(f"bench.latency_rig needs {tool} (see the Makefile's test dependencies)")
    load = os.getloadavg()[0]
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    rows, clocks = run(seconds=args.seconds, names=tuple(args.cases.split(",")), work=args.keep)
    report("latency rig: click -> flash filmed by ffmpeg (x11grab + pulse) on Xvfb, llvmpipe",
           COLUMNS, rows, json_path=args.json, console=Console(width=200),
           extra={"seconds": args.seconds, "grab_fps": GRAB_FPS, "size": list(SIZE),
                  "goals_ms": GOALS_MS, "clocks": clocks,
                  "load_1m": [round(load, 2), round(os.getloadavg()[0], 2)]})
    for row in rows:
        print(f"{row['case']}: agree within a frame ({row['frame_ms']:.1f} ms): {row['agree']}; "
              f"ffmpeg reference {json.dumps(row['reference'])}")
    if clocks is not None:
        print("the program's clocks minus the film's (ms): capture "
              f"{json.dumps(clocks['capture_ms'])}, present {json.dumps(clocks['present_ms'])}")


if __name__ == "__main__":
    main()
