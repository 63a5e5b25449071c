"""Fractal art for the training set: mandelbulber2's bundled example scenes, rendered headless.

Each scene is rendered from several views: its own camera (view 0), then cameras orbited around
its target and moved closer, every second one with a new colour gradient. A view's overrides are
a function of (scene, view index) only, so a rerun asks for the same pictures. Authors and
licence come from the package's DEP-5 copyright file, the collection from the scene's folder.

Renders are resumable: ``index.jsonl`` in the cache folder gets one line per finished attempt
(rendered with the PNG's sha256, empty, failed or timeout), and a PNG reaches its final name only
by a rename after mandelbulber2 exits, so a killed run leaves nothing half-written behind.
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import json
import logging
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from scraping import dep5
from scraping.licences import FAMILIES, licence_family
from visualizer.core.atomic import exclusive_folder
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

INDEX_NAME = "index.jsonl"
TOP_COLLECTION = "mandelbulber2 examples"
OUTCOMES = ("rendered", "cached", "empty", "failed", "timeout", "skipped")

# mandelbulber2's own defaults (`mandelbulber2 -L`) for a scene that leaves its camera unset.
_DEFAULT_CAMERA = (3.0, -6.0, 2.0)
_DEFAULT_TARGET = (0.0, 0.0, 0.0)
_DEFAULT_ROTATION = (26.565, -16.60154, 0.0)

# Ceilings on the scene settings that cost the most time per pixel. The scenes were set up for
# 1920 px and more; on four slow scenes at 192 px these ceilings cut the CPU time 1.2-3x, with
# pictures hard to tell apart. key: (mandelbulber2's default, the ceiling)
QUALITY_CAPS = {"detail_level": (1.0, 0.5), "ambient_occlusion_quality": (4.0, 2.0),
                "reflections_max": (5.0, 1.0)}
# Always off: a stereo pair is two half pictures side by side. (Booleans are 0/1 here: `-O`
# reads "true" as false, although .fract files say "true".)
FIXED_OVERRIDES = {"stereo_enabled": "0"}

# A render is "empty" when its mean luminance (0..1) is below this ...
EMPTY_MEAN_LUMINANCE = 0.03
# ... or when this share of its pixels has one colour (16 levels per channel).
EMPTY_ONE_COLOUR_SHARE = 0.9
# (No rule for noise, as from a camera inside the fractal: a neighbour-difference measure
# dropped 11 of the first 40 renders, and the six of those looked at were fine detail, a tree's
# leaves or a Kleinian foam, not noise.)


@dataclass(frozen=True)
class FractalScene:
    """One ``.fract`` scene with its provenance."""

    path: Path
    relative: str  # path below the examples folder, with "/" (the scene's name in the index)
    collection: str  # "Krzysztof Marczak collection", or TOP_COLLECTION for the top level
    authors: tuple[str, ...]  # from the copyright file's stanza for this file
    licence: str  # SPDX-style: "CC-BY-4.0", "GPL-3.0-or-later"
    skip: str = ""  # why it is not rendered (a rule of skip_rule), "" when it is


@dataclass(frozen=True)
class FractalRender:
    """One rendered view of a scene, kept for the training set."""

    png: Path
    scene: str  # FractalScene.relative
    view: int  # 0 = the scene's own camera and colours
    overrides: dict[str, str]  # mandelbulber2 -O keys and values of this view
    author: str  # the scene's authors, comma-separated
    licence: str
    collection: str
    seconds: float  # wall-clock time of the render


# ---------------------------------------------------------------------------------- scenes

def list_scenes(examples_dir: Path, *, copyright_file: Path | None = None) -> list[FractalScene]:
    """Every ``.fract`` under ``examples_dir`` with its authors, licence and skip rule, most
    permissive licence first (an interrupted bulk run has the most reusable part done).

    ``copyright_file`` defaults to where the Debian package puts it beside the examples
    (``usr/share/doc/mandelbulber2-data/copyright``)."""
    examples_dir = Path(examples_dir)
    if not examples_dir.is_dir():
        raise GansmaniaError(f"{examples_dir}: no such folder of mandelbulber2 examples")
    if copyright_file is None:
        copyright_file = examples_dir.parent.parent / "doc" / "mandelbulber2-data" / "copyright"
    try:
        stanzas = dep5.parse(Path(copyright_file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GansmaniaError(f"{copyright_file}: cannot read the copyright file ({exc})") from None
    scenes = []
    for path in sorted(examples_dir.rglob("*.fract")):
        relative = path.relative_to(examples_dir).as_posix()
        stanza = dep5.governing(stanzas, relative)
        if stanza is None:
            raise GansmaniaError(f"{copyright_file}: no Files stanza covers {relative}")
        folder = relative.rpartition("/")[0]
        collection = _collection(folder, stanza, copyright_file)
        scenes.append(FractalScene(path=path, relative=relative, collection=collection,
                                   authors=stanza.authors, licence=dep5.spdx(stanza.licence),
                                   skip=skip_rule(path)))
    rank = {family: i for i, family in enumerate(FAMILIES)}
    return sorted(scenes, key=lambda s: (rank.get(licence_family(s.licence), len(rank)),
                                         s.relative))


def _collection(folder: str, stanza: dep5.Stanza, copyright_file: Path) -> str:
    """The collection a folder names ("X collection - license Creative Commons (CC-BY 4.0)"),
    after checking that the licence in the name is the copyright file's."""
    if not folder:
        return TOP_COLLECTION
    name, _, named_licence = folder.partition(" - licen")
    if named_licence and licence_family(named_licence) != licence_family(stanza.licence):
        raise GansmaniaError(f"{copyright_file}: {folder!r} names another licence than its "
                             f"stanza ({stanza.licence})")
    return " ".join(name.split())


def read_scene(path: Path) -> dict[str, str]:
    """The ``[main_parameters]`` of a ``.fract`` file: values as written, decimal commas (older
    files, saved under some locales) turned into points."""
    params: dict[str, str] = {}
    section = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "main_parameters" and line and not line.startswith("#"):
            key, _, value = line.rstrip(";").partition(" ")
            params[key] = value.strip().replace(",", ".")
    return params


def skip_rule(path: Path) -> str:
    """Why a scene is not rendered as a still, or "" when it is. The rules:

    - ``benchmark``: the file name starts with "benchmark" (speed tests, one of them for GPUs);
    - ``opencl``: the scene sets ``opencl_*`` keys (it was made for the GPU renderer);
    - ``voxel export``: the file name says "voxel" (a volume export set-up; other scenes may
      carry ``voxel_*`` values and still be ordinary stills).

    Animations are not skipped: their main camera is a still like any other. Of the 16 in
    mandelbulber2-data 2.20, 11 gave good stills (at 112 px), 1 was empty, 1 timed out and 3
    were dim or grey.
    """
    params = read_scene(path)
    if path.name.lower().startswith("benchmark"):
        return "benchmark"
    if any(key.lower().startswith("opencl") for key in params):
        return "opencl"
    if "voxel" in path.name.lower():
        return "voxel export"
    return ""


# ---------------------------------------------------------------------------------- views

def view_overrides(scene: FractalScene, view: int) -> dict[str, str]:
    """The ``-O`` overrides of one view: quality ceilings for all, then for view >= 1 a camera
    orbited around the target and moved closer, and for even views a new colour gradient.
    Seeded by (scene, view), so the same view is the same picture on every run."""
    params = read_scene(scene.path)
    overrides = dict(FIXED_OVERRIDES)
    for key, (default, ceiling) in QUALITY_CAPS.items():
        value = _number(params.get(key))
        if (default if value is None else value) > ceiling:
            overrides[key] = _format(ceiling)
    if view == 0:
        return overrides
    digest = hashlib.sha256(f"{scene.relative}#{view}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    # Small enough to stay on the target's side of the surface: wider orbits of deep-zoom scenes
    # put the camera inside the fractal.
    overrides.update(_orbit(params, yaw_deg=rng.choice((-1, 1)) * rng.uniform(10, 30),
                            pitch_deg=rng.uniform(-12, 12), closer=rng.uniform(0.6, 0.95)))
    if view % 2 == 0:
        overrides.update(_gradient(rng))
    return overrides


def _orbit(params: dict[str, str], *, yaw_deg: float, pitch_deg: float,
           closer: float) -> dict[str, str]:
    """Camera keys after turning the camera around the target (yaw about the z axis, then
    pitch) and scaling its distance by ``closer``, keeping the roll. mandelbulber2 aims the
    camera by ``camera_rotation`` (yaw, pitch, roll in degrees: Rz(yaw) Rx(pitch) Ry(roll)
    turns +y into the view direction), so that and ``camera_top`` move with it."""
    camera = _vector(params.get("camera"), _DEFAULT_CAMERA)
    target = _vector(params.get("target"), _DEFAULT_TARGET)
    roll = _vector(params.get("camera_rotation"), _DEFAULT_ROTATION)[2]
    view = [t - c for t, c in zip(target, camera)]
    distance = math.dist(target, camera) * closer
    alpha = math.atan2(view[1], view[0]) + math.radians(yaw_deg)
    beta = math.atan2(view[2], math.hypot(view[0], view[1])) + math.radians(pitch_deg)
    beta = max(-math.radians(80), min(math.radians(80), beta))
    direction = (math.cos(beta) * math.cos(alpha), math.cos(beta) * math.sin(alpha),
                 math.sin(beta))
    rotation = (math.degrees(alpha) - 90, math.degrees(beta), roll)
    return {"camera": _format(*(t - distance * d for t, d in zip(target, direction))),
            "camera_rotation": _format(*rotation),
            "camera_top": _format(*camera_top(rotation)),
            "camera_distance_to_target": _format(distance)}


def camera_top(rotation_deg: tuple[float, float, float]) -> tuple[float, float, float]:
    """The camera's up vector for mandelbulber2's (yaw, pitch, roll): Rz(yaw) Rx(pitch) Ry(roll)
    applied to +z."""
    yaw, pitch, roll = (math.radians(a) for a in rotation_deg)
    x, y, z = math.sin(roll), -math.sin(pitch) * math.cos(roll), math.cos(pitch) * math.cos(roll)
    return (math.cos(yaw) * x - math.sin(yaw) * y, math.sin(yaw) * x + math.cos(yaw) * y, z)


def _gradient(rng: random.Random) -> dict[str, str]:
    """A surface colour gradient of 4-8 stops around one hue, with neighbours and a rare
    complementary accent, so its colours belong together."""
    hue = rng.random()
    stops = rng.randint(4, 8)
    parts = []
    for i in range(stops):
        h = (hue + rng.choice((0.0, 0.06, -0.06, 0.12, 0.5))) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(0.35, 0.95), rng.uniform(0.35, 1.0))
        parts.append(f"{i * 10000 // stops} {round(r * 255):02x}{round(g * 255):02x}"
                     f"{round(b * 255):02x}")
    return {"mat1_surface_color_gradient": " ".join(parts),
            "mat1_use_colors_from_palette": "1", "mat1_surface_gradient_enable": "1"}


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _vector(text: str | None, default: tuple[float, float, float]) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in (text or "").split())
    except ValueError:
        return default
    return values if len(values) == 3 else default


def _format(*values: float) -> str:
    return " ".join(f"{v:.12g}" for v in values)


# ---------------------------------------------------------------------------------- renders

def render_scenes(scenes: list[FractalScene], cache_dir: Path, *, views_per_scene: int,
                  size_px: int, timeout_s: float, binary: str = "mandelbulber2",
                  threads: int = 1, retry_failed: bool = False,
                  wall_limit_s: float | None = None,
                  on_outcome: Callable[[FractalScene, int, str], None] | None = None,
                  ) -> Iterator[FractalRender]:
    """Render ``views_per_scene`` views of each scene to ``size_px`` square PNGs in
    ``cache_dir``, and yield the kept ones (those of earlier runs too, from the index).

    A render is stopped, with its process group, after ``timeout_s`` of CPU time (all its
    threads together) or ``wall_limit_s`` of wall-clock time (default ten times
    ``timeout_s``: a renderer that hangs). Failed and timed-out views are not tried again
    unless ``retry_failed`` (or, for a timeout, a longer ``timeout_s``); empty ones never.
    ``on_outcome(scene, view, outcome)`` hears every view's outcome (one of OUTCOMES; a
    skipped scene reports view 0 only)."""
    cache_dir = Path(cache_dir)
    wall_limit_s = wall_limit_s or 10 * timeout_s
    with _exclusive(cache_dir):
        index = _read_index(cache_dir / INDEX_NAME)
        for scene in scenes:
            if scene.skip:
                if on_outcome:
                    on_outcome(scene, 0, "skipped")
                continue
            for view in range(views_per_scene):
                overrides = view_overrides(scene, view)
                key = f"{scene.relative}#{view}@{size_px}"
                entry = index.get(key)
                if entry is None or entry["overrides"] != overrides:
                    outcome = "new"  # never tried, or tried as another picture
                elif entry["status"] == "rendered":
                    outcome = "cached" if _intact(cache_dir, entry) else "new"
                elif entry["status"] == "empty":
                    outcome = "empty"
                elif retry_failed or (entry["status"] == "timeout"
                                      and entry["timeout_s"] < timeout_s):
                    outcome = "new"
                else:
                    outcome = entry["status"]
                if outcome == "new":
                    entry = _render(scene, view, overrides, cache_dir, size_px=size_px,
                                    timeout_s=timeout_s, wall_limit_s=wall_limit_s,
                                    binary=binary, threads=threads)
                    _append(cache_dir / INDEX_NAME, key, entry)
                    outcome = entry["status"]
                if on_outcome:
                    on_outcome(scene, view, outcome)
                if entry["status"] == "rendered":
                    yield FractalRender(png=cache_dir / entry["png"], scene=scene.relative,
                                        view=view, overrides=overrides,
                                        author=", ".join(scene.authors), licence=scene.licence,
                                        collection=scene.collection, seconds=entry["seconds"])


def cached_renders(scenes: list[FractalScene], cache_dir: Path) -> Iterator[FractalRender]:
    """The kept renders already in ``cache_dir`` (any view and size), without rendering and
    without the cache's lock, so a bulk run may go on meanwhile. A PNG gets its name by a
    rename once complete, so one that exists is whole."""
    cache_dir = Path(cache_dir)
    by_relative = {scene.relative: scene for scene in scenes}
    for key, entry in _read_index(cache_dir / INDEX_NAME).items():
        relative, _, view_size = key.rpartition("#")
        scene = by_relative.get(relative)
        if scene is None or entry.get("status") != "rendered" or \
                not (cache_dir / entry["png"]).is_file():
            continue
        yield FractalRender(png=cache_dir / entry["png"], scene=relative,
                            view=int(view_size.partition("@")[0]), overrides=entry["overrides"],
                            author=", ".join(scene.authors), licence=scene.licence,
                            collection=scene.collection, seconds=entry["seconds"])


def _exclusive(cache_dir: Path):
    """One render run per cache folder: two would share (and clear) ``.partial/``."""
    return exclusive_folder(cache_dir, lock_name="render.lock",
                            busy="another fractal render is writing here; wait for it or give "
                                 "another cache folder")


def _render(scene: FractalScene, view: int, overrides: dict[str, str], cache_dir: Path, *,
            size_px: int, timeout_s: float, wall_limit_s: float, binary: str,
            threads: int) -> dict:
    """One mandelbulber2 run; returns the index entry (status, and the PNG's name and sha256
    when rendered)."""
    name = f"{_slug(scene.relative)}-v{view}-{size_px}px.png"
    partial = cache_dir / ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    home = cache_dir / ".home"  # mandelbulber2 keeps settings and a log under $HOME
    for folder in (partial, home):
        folder.mkdir(exist_ok=True)
    entry = {"status": "failed", "overrides": overrides, "timeout_s": timeout_s}
    command = [binary, "-n", "-C", "-f", "png", "-r", f"{size_px}x{size_px}", "-O",
               "#".join(f"{k}={v}" for k, v in {**overrides, "limit_CPU_cores": threads}.items()),
               "-o", str(partial / name), str(scene.path)]
    env = {**os.environ, "HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    # The kernel stops the renderer after timeout_s of CPU time (SIGXCPU, then SIGKILL 5 s
    # later): counted in CPU time, a scene's verdict does not depend on the machine's load.
    cpu_limit = (math.ceil(timeout_s), math.ceil(timeout_s) + 5)
    cpu_before = _children_cpu_s()
    started = time.monotonic()
    with open(partial / "output.log", "wb") as output:
        try:
            process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, cpu_limit))
        except OSError as exc:
            raise GansmaniaError(f"cannot run {binary!r}: {exc.strerror}") from None
        try:
            code = process.wait(timeout=wall_limit_s)
        except subprocess.TimeoutExpired:
            code = None
        if code is None or code < 0:
            # Its own session: the group is mandelbulber2 and anything it started.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    entry["seconds"] = round(time.monotonic() - started, 2)
    entry["cpu_s"] = round(_children_cpu_s() - cpu_before, 2)
    png = partial / name
    if code is None:
        entry.update(status="timeout", reason=f"wall clock over {wall_limit_s:g} s")
    elif code == -signal.SIGXCPU or (code != 0 and entry["cpu_s"] >= timeout_s):
        entry.update(status="timeout", reason=f"CPU time over {timeout_s:g} s")
    elif code != 0 or not png.is_file():
        status = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        entry["reason"] = f"{status}: {_last_line(partial / 'output.log')}"
    elif reason := empty_reason(png):
        entry.update(status="empty", reason=reason)
    else:
        with open(png, "rb") as file:
            entry["sha256"] = hashlib.file_digest(file, "sha256").hexdigest()
        os.replace(png, cache_dir / name)
        entry.update(status="rendered", png=name)
    if entry["status"] != "rendered":
        log.info("%s view %d: %s %s", scene.relative, view, entry["status"],
                 entry.get("reason", ""))
    return entry


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def empty_reason(png: Path) -> str:
    """Why a render is nearly empty ("dark" or "one colour"), or "" when it shows something."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB").reduce(max(1, image.width // 128)))
    luminance = (pixels @ np.array([0.299, 0.587, 0.114])) / 255
    if luminance.mean() < EMPTY_MEAN_LUMINANCE:
        return f"dark (mean luminance {luminance.mean():.3f})"
    _, counts = np.unique((pixels >> 4).reshape(-1, 3), axis=0, return_counts=True)
    share = counts.max() / counts.sum()
    return f"one colour ({share:.0%} of the pixels)" if share > EMPTY_ONE_COLOUR_SHARE else ""


def _read_index(path: Path) -> dict[str, dict]:
    """The newest entry per key. A line cut short by a kill is ignored (its render reruns)."""
    entries = {}
    if path.exists():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
                entries[record.pop("key")] = record
            except (ValueError, KeyError, AttributeError):
                log.warning("%s:%d: unreadable index line ignored", path, number)
    return entries


def _append(path: Path, key: str, entry: dict) -> None:
    with open(path, "a", encoding="utf-8") as index:
        index.write(json.dumps({"key": key, **entry}) + "\n")
        index.flush()
        os.fsync(index.fileno())


def _intact(cache_dir: Path, entry: dict) -> bool:
    png = cache_dir / entry["png"]
    if not png.is_file():
        return False
    with open(png, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest() == entry["sha256"]


def _slug(relative: str) -> str:
    # Readable, plus a short hash: "a b.fract" and "a_b.fract" must not share a file.
    readable = re.sub(r"[^a-z0-9]+", "-", relative.lower().removesuffix(".fract")).strip("-")
    return f"{readable[-60:]}-{hashlib.sha256(relative.encode()).hexdigest()[:6]}"


def _last_line(log_file: Path) -> str:
    lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip()[:200] if lines else "no output"


# ---------------------------------------------------------------------------------- command

@click.group()
def fractals() -> None:
    """Fractal art for the training set, rendered with mandelbulber2.

    \b
    Example:
      gansmania fractals render /usr/share/mandelbulber2/examples --cache fractals/ --views 3
      gansmania scrape --source debian-art --out raw/ --set debian_art.fractal_cache=fractals/
    """


@fractals.command()
@click.argument("examples_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for the PNGs and index.jsonl (resumed if it exists).")
@click.option("--views", type=click.IntRange(min=1), default=3, show_default=True,
              help="Views per scene (the scene's own camera, then orbits and palettes).")
@click.option("--size", type=click.IntRange(min=16), default=320, show_default=True,
              help="Side of the square renders, px.")
@click.option("--timeout", type=click.FloatRange(min=1), default=150, show_default=True,
              help="Most CPU time per render, s; slower ones are stopped and not tried again.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Render threads per scene.")
@click.option("--copyright", "copyright_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The package's DEP-5 copyright file (default: found beside EXAMPLES_DIR).")
@click.option("--retry-failed", is_flag=True, help="Try failed and timed-out views again.")
@click.option("--binary", default="mandelbulber2", show_default=True, help="The renderer.")
def render(examples_dir: Path, cache_dir: Path, views: int, size: int, timeout: float,
           threads: int, copyright_file: Path | None, retry_failed: bool, binary: str) -> None:
    """Render mandelbulber2's example scenes (from the mandelbulber2-data package) to PNGs.

    Benchmarks, OpenCL scenes and voxel exports are skipped. Nearly empty renders
    (dark, or one colour) are dropped. Run it again to resume.

    \b
    Example:
      gansmania fractals render /usr/share/mandelbulber2/examples --cache fractals/ --views 3
    """
    from scraping.progress import bar

    # The folder first: a wrong path is the user's to fix whether or not the renderer is here.
    scenes = list_scenes(examples_dir, copyright_file=copyright_file)
    if shutil.which(binary) is None:
        raise GansmaniaError(f"{binary}: not found (apt-get install mandelbulber2)")
    todo = sum(views for s in scenes if not s.skip)
    counts: Counter[str] = Counter()
    rules: Counter[str] = Counter(s.skip for s in scenes if s.skip)
    with bar("fractals", unit="renders") as advance:
        def count(scene: FractalScene, view: int, outcome: str) -> None:
            counts[outcome] += 1
            advance(sum(counts.values()) - counts["skipped"], todo)

        for _ in render_scenes(scenes, cache_dir, views_per_scene=views, size_px=size,
                               timeout_s=timeout, binary=binary, threads=threads,
                               retry_failed=retry_failed, on_outcome=count):
            pass
    click.echo(f"rendered {counts['rendered']}, already done {counts['cached']}, empty "
               f"{counts['empty']}, failed {counts['failed']}, timed out {counts['timeout']}")
    click.echo(f"skipped {sum(rules.values())} of {len(scenes)} scenes: "
               + (", ".join(f"{rule} {n}" for rule, n in sorted(rules.items())) or "none"))
    click.echo(f"index: {cache_dir / INDEX_NAME}")
