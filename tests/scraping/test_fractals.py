"""mandelbulber2 scenes: provenance from a DEP-5 file, views, resumable renders with a hard
timeout (a fake renderer stands in for mandelbulber2), the empty-render rule, and one real
render when mandelbulber2 is installed."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scraping.fractals import (INDEX_NAME, TOP_COLLECTION, camera_top, empty_reason, list_scenes,
                               read_scene, render_scenes, view_overrides)
from visualizer.core.errors import GansmaniaError

JANE = "Jane Doe  collection - license Creative Commons (CC-BY 4.0)"
COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Fractals

Files: *
Copyright: © 2014-2019, Ann Upstream <ann@example.org>
           © 2016, Bob Helper <bob@example.org>
License: GPL-3+
Comment: reconstructed from the commit history

Files: debian/*
Copyright: © 2020, Deb Packager <deb@example.org>
License: GPL-3+

Files: src/share/fractals/examples/Jane?Doe??collection?-?license?Creative?Commons?(CC-BY?4.0)/*
Copyright: © 2018, Jane Doe
License: CC-BY-4.0

License: GPL-3+
 The text of the GPL.

License: CC-BY-4.0
 Creative Commons Attribution 4.0 International Public License
"""

# IFS_001.fract of mandelbulber2-data 2.20: its camera, target, rotation and up vector, as a
# known answer for the camera maths (mandelbulber2 wrote the up vector from the rotation).
IFS_001 = """\
# Mandelbulber settings file
[main_parameters]
camera 0,5438717521578817 -0,8454475787919699 0,7132996114781568;
camera_distance_to_target 0.01235139523803053;
camera_rotation 63.26215763991517 -67.56108994258916 46.14364709191678;
camera_top -0.2475002568484173 0.9320966745628784 0.2644606060054918;
detail_level 5;
target 0.5396613484870504 -0.8433264809009103 0.7018833770293013;
[fractal_1]
IFS_scale 3;
"""


def write_examples(root: Path, scenes: dict[str, str]) -> tuple[Path, Path]:
    """A package tree like mandelbulber2-data's: usr/share/fractals/examples and the copyright
    file where list_scenes looks for it by default."""
    examples = root / "usr" / "share" / "fractals" / "examples"
    for relative, text in scenes.items():
        (examples / relative).parent.mkdir(parents=True, exist_ok=True)
        (examples / relative).write_text(text)
    copyright_file = root / "usr" / "share" / "doc" / "mandelbulber2-data" / "copyright"
    copyright_file.parent.mkdir(parents=True)
    copyright_file.write_text(COPYRIGHT)
    return examples, copyright_file


def scene_text(marker: str = "ok") -> str:
    return f"# fake: {marker}\n" + IFS_001


# ---------------------------------------------------------------------------------- listing

def test_scenes_get_collection_authors_and_licence_from_folder_and_dep5(tmp_path):
    examples, _ = write_examples(tmp_path, {
        "zeta.fract": IFS_001, "alpha 001.fract": IFS_001, f"{JANE}/jane 1.fract": IFS_001,
        "notes.txt": "not a scene",
    })
    scenes = list_scenes(examples)
    # CC BY before GPL (more permissive first), then by path.
    assert [s.relative for s in scenes] == [f"{JANE}/jane 1.fract", "alpha 001.fract",
                                            "zeta.fract"]
    jane, alpha, _ = scenes
    assert (jane.collection, jane.authors, jane.licence) == (
        "Jane Doe collection", ("Jane Doe",), "CC-BY-4.0")
    assert (alpha.collection, alpha.authors, alpha.licence) == (
        TOP_COLLECTION, ("Ann Upstream", "Bob Helper"), "GPL-3.0-or-later")
    assert alpha.path == examples / "alpha 001.fract" and not alpha.skip


def test_skip_rules(tmp_path):
    examples, _ = write_examples(tmp_path, {
        "benchmark-GPU.fract": IFS_001,
        "gpu.fract": IFS_001.replace("[fractal_1]", "opencl_mode 2;\n[fractal_1]"),
        "voxel_export_with_bulb.fract": IFS_001,
        "flight.fract": IFS_001 + "[frames]\nframe;main_camera_x\n0;1\n",
        "keyframes.fract": IFS_001 + "[keyframes]\nframe;main_camera_x\n0;1\n",
        "still.fract": IFS_001,
    })
    assert {s.relative: s.skip for s in list_scenes(examples)} == {
        "benchmark-GPU.fract": "benchmark", "gpu.fract": "opencl",
        "voxel_export_with_bulb.fract": "voxel export", "still.fract": "",
        # Animations render as the still of their main camera.
        "flight.fract": "", "keyframes.fract": ""}


def test_a_folder_whose_name_contradicts_the_copyright_file_is_an_error(tmp_path):
    examples, copyright_file = write_examples(tmp_path, {f"{JANE}/a.fract": IFS_001})
    copyright_file.write_text(COPYRIGHT.replace("License: CC-BY-4.0\n", "License: GPL-3+\n", 1))
    with pytest.raises(GansmaniaError, match="names another licence"):
        list_scenes(examples)


def test_an_explicit_copyright_file_and_one_without_a_matching_stanza(tmp_path):
    examples, copyright_file = write_examples(tmp_path, {"a.fract": IFS_001})
    elsewhere = tmp_path / "copyright"
    elsewhere.write_text(COPYRIGHT.replace("Files: *\n", "Files: src/*\n"))
    with pytest.raises(GansmaniaError, match=rf"{elsewhere}: no Files stanza covers a.fract"):
        list_scenes(examples, copyright_file=elsewhere)
    copyright_file.unlink()
    with pytest.raises(GansmaniaError, match="cannot read the copyright file"):
        list_scenes(examples)


# ---------------------------------------------------------------------------------- views

def test_camera_up_vector_matches_mandelbulber2s(tmp_path):
    (tmp_path / "IFS_001.fract").write_text(IFS_001)
    params = read_scene(tmp_path / "IFS_001.fract")
    rotation = tuple(float(v) for v in params["camera_rotation"].split())
    want = [float(v) for v in params["camera_top"].split()]
    assert camera_top(rotation) == pytest.approx(want, abs=1e-9)


def test_views_orbit_the_target_and_are_the_same_on_every_run(tmp_path):
    examples, _ = write_examples(tmp_path, {"a.fract": IFS_001, "b.fract": IFS_001})
    a, b = list_scenes(examples)
    params = read_scene(a.path)
    target = [float(v) for v in params["target"].split()]
    camera = [float(v) for v in params["camera"].split()]

    own = view_overrides(a, 0)
    # The scene's camera, with the quality ceilings (detail_level 5 set, the others defaults).
    assert own == {"stereo_enabled": "0", "detail_level": "0.5",
                   "ambient_occlusion_quality": "2", "reflections_max": "1"}
    views = [view_overrides(a, v) for v in range(1, 5)]
    assert views == [view_overrides(a, v) for v in range(1, 5)]  # deterministic
    assert view_overrides(b, 1) != views[0]  # seeded by the scene too
    for view, overrides in enumerate(views, 1):
        moved = [float(v) for v in overrides["camera"].split()]
        distance = math.dist(moved, target)
        assert float(overrides["camera_distance_to_target"]) == pytest.approx(distance)
        assert 0.6 * math.dist(camera, target) < distance < math.dist(camera, target)
        # The rotation still aims at the target: Rz(yaw) Rx(pitch) turns +y into the view.
        yaw, pitch, _ = (math.radians(float(v)) for v in overrides["camera_rotation"].split())
        aim = (-math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch),
               math.sin(pitch))
        to_target = [(t - m) / distance for t, m in zip(target, moved)]
        assert aim == pytest.approx(to_target, abs=1e-9)
        assert ("mat1_surface_color_gradient" in overrides) == (view % 2 == 0)


# ---------------------------------------------------------------------------------- renders

FAKE_RENDERER = '''\
#!{python}
"""Stands in for mandelbulber2: reads the scene's "# fake:" marker and writes a PNG at -o."""
import os, subprocess, sys, time
from PIL import Image
args = sys.argv[1:]
scene = args[-1]
out = args[args.index("-o") + 1]
width, height = (int(v) for v in args[args.index("-r") + 1].split("x"))
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(scene + "\\t" + args[args.index("-O") + 1] + "\\n")
marker = open(scene).readline().split("fake:")[1].strip()
if marker == "spin":  # a slow render, with a child process of its own
    child = subprocess.Popen(["sleep", "1000"])
    open(os.environ["FAKE_CALLS"] + ".child", "w").write(str(child.pid))
    while True:
        pass
if marker == "hang":  # a renderer stuck without using CPU
    time.sleep(1000)
if marker == "fail":
    print("Error: cannot load textures")
    sys.exit(3)
if marker == "black":
    Image.new("RGB", (width, height)).save(out)
    sys.exit(0)
Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out)
'''


@pytest.fixture
def fake(tmp_path, monkeypatch) -> tuple[str, Path]:
    """The fake renderer's path, and the file where it logs its calls (scene, overrides)."""
    binary = tmp_path / "fake-mandelbulber2"
    binary.write_text(FAKE_RENDERER.format(python=sys.executable))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls.log"
    calls.touch()
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    return str(binary), calls


def calls_of(calls: Path) -> list[str]:
    return [line.split("\t")[0] for line in calls.read_text().splitlines()]


def index_of(cache: Path) -> list[dict]:
    return [json.loads(line) for line in (cache / INDEX_NAME).read_text().splitlines()]


def test_renders_resume_and_are_never_done_twice(tmp_path, fake):
    binary, calls = fake
    examples, _ = write_examples(tmp_path, {"a.fract": scene_text(), "b.fract": scene_text(),
                                            f"{JANE}/c.fract": scene_text()})
    scenes = list_scenes(examples)
    cache = tmp_path / "cache"
    run = dict(views_per_scene=2, size_px=48, timeout_s=30, binary=binary)

    # A run stopped after its first render (the generator is closed, as by Ctrl-C).
    renders = render_scenes(scenes, cache, **run)
    first = next(renders)
    renders.close()
    assert len(calls_of(calls)) == 1
    assert (first.scene, first.view, first.licence, first.author, first.collection) == (
        f"{JANE}/c.fract", 0, "CC-BY-4.0", "Jane Doe", "Jane Doe collection")
    assert Image.open(first.png).size == (48, 48)
    # A render killed before its rename left a partial PNG; it must not count as done.
    (cache / ".partial").mkdir(exist_ok=True)
    (cache / ".partial" / "half.png").write_bytes(b"\x89PNG half")

    outcomes = []
    renders = list(render_scenes(scenes, cache, **run,
                                 on_outcome=lambda s, v, o: outcomes.append((s.relative, v, o))))
    assert len(renders) == 6 and len(calls_of(calls)) == 6  # 1 before, 5 now
    assert outcomes[0] == (f"{JANE}/c.fract", 0, "cached")
    assert [o for *_, o in outcomes[1:]] == ["rendered"] * 5
    assert renders[0] == first
    assert len({r.png for r in renders}) == 6
    assert renders[1].overrides["camera"] != renders[0].overrides.get("camera")
    entry = index_of(cache)[0]
    assert entry["status"] == "rendered" and entry["png"] == first.png.name
    assert entry["sha256"] == hashlib.sha256(first.png.read_bytes()).hexdigest()

    # Everything done: a third run renders nothing and yields the same renders.
    assert list(render_scenes(scenes, cache, **run)) == renders
    assert len(calls_of(calls)) == 6
    # More views only add the new ones.
    assert len(list(render_scenes(scenes, cache, **{**run, "views_per_scene": 3}))) == 9
    assert len(calls_of(calls)) == 9


def test_one_run_per_cache_folder(tmp_path, fake):
    binary, _ = fake
    examples, _ = write_examples(tmp_path, {"a.fract": scene_text(), "b.fract": scene_text()})
    scenes, cache = list_scenes(examples), tmp_path / "cache"
    run = dict(views_per_scene=1, size_px=32, timeout_s=30, binary=binary)
    first = render_scenes(scenes, cache, **run)
    next(first)
    with pytest.raises(GansmaniaError, match="another fractal render is writing here"):
        next(render_scenes(scenes, cache, **run))
    first.close()  # the lock goes with the run
    assert len(list(render_scenes(scenes, cache, **run))) == 2


def test_a_damaged_png_or_a_torn_index_line_is_rendered_again(tmp_path, fake):
    binary, calls = fake
    examples, _ = write_examples(tmp_path, {"a.fract": scene_text(), "b.fract": scene_text()})
    scenes, cache = list_scenes(examples), tmp_path / "cache"
    run = dict(views_per_scene=1, size_px=32, timeout_s=30, binary=binary)
    a, b = list(render_scenes(scenes, cache, **run))
    a.png.write_bytes(b"not the rendered bytes")
    lines = (cache / INDEX_NAME).read_text().splitlines()
    # The last line was being written when the run was killed.
    (cache / INDEX_NAME).write_text(lines[0] + "\n" + lines[1][:25])
    list(render_scenes(scenes, cache, **run))
    assert calls_of(calls) == [str(s.path) for s in scenes] * 2
    assert Image.open(a.png).size == (32, 32)


def test_a_render_past_its_cpu_time_or_the_wall_limit_is_stopped_and_not_retried(
        tmp_path, fake):
    binary, calls = fake
    examples, _ = write_examples(tmp_path, {"slow.fract": scene_text("spin"),
                                            "stuck.fract": scene_text("hang"),
                                            "broken.fract": scene_text("fail"),
                                            "fine.fract": scene_text()})
    scenes, cache = list_scenes(examples), tmp_path / "cache"
    broken, fine, slow, stuck = scenes
    run = dict(views_per_scene=1, size_px=32, binary=binary)
    # A wall-clock limit the busy one cannot reach first, even on a loaded machine; then one
    # for the stuck one.
    renders = list(render_scenes([broken, fine, slow], cache, timeout_s=1, wall_limit_s=120,
                                 **run))
    assert [r.scene for r in renders] == ["fine.fract"]
    assert list(render_scenes([stuck], cache, timeout_s=1, wall_limit_s=2, **run)) == []
    # The process group went with it: the renderer's own child is gone (or a zombie of init's).
    child = Path(f"/proc/{Path(f'{calls}.child').read_text()}/stat")
    assert not child.exists() or child.read_text().split(") ")[1].startswith("Z")
    entries = {e["key"]: e for e in index_of(cache)}
    assert {key: (e["status"], e.get("reason", "")) for key, e in entries.items()} == {
        "broken.fract#0@32": ("failed", "exit status 3: Error: cannot load textures"),
        "fine.fract#0@32": ("rendered", ""),
        "slow.fract#0@32": ("timeout", "CPU time over 1 s"),
        "stuck.fract#0@32": ("timeout", "wall clock over 2 s")}
    # (getrusage said 0.91 s for a process the kernel had stopped at its 1 s CPU limit.)
    assert entries["slow.fract#0@32"]["cpu_s"] > 0.5 > entries["stuck.fract#0@32"]["cpu_s"]
    assert not list((cache / ".partial").glob("*.png"))

    list(render_scenes(scenes, cache, timeout_s=1, wall_limit_s=2, **run))  # none again
    assert len(calls_of(calls)) == 4
    list(render_scenes([broken, fine], cache, timeout_s=1, retry_failed=True, **run))
    assert calls_of(calls)[4:] == [str(broken.path)]
    # A longer timeout: that one again.
    list(render_scenes([fine, stuck], cache, timeout_s=2, wall_limit_s=2, **run))
    assert calls_of(calls)[5:] == [str(stuck.path)]


def test_nearly_empty_renders_are_dropped_and_recorded(tmp_path, fake):
    binary, calls = fake
    examples, _ = write_examples(tmp_path, {"void.fract": scene_text("black")})
    cache = tmp_path / "cache"
    run = dict(views_per_scene=1, size_px=32, timeout_s=30, binary=binary)
    assert list(render_scenes(list_scenes(examples), cache, **run)) == []
    (entry,) = index_of(cache)
    assert entry["status"] == "empty" and entry["reason"].startswith("dark")
    assert not list(cache.glob("*.png"))
    assert list(render_scenes(list_scenes(examples), cache, **run)) == []
    assert len(calls_of(calls)) == 1  # an empty view stays empty; never rendered again


def test_empty_reason_on_known_images(tmp_path):
    rng = np.random.default_rng(0)
    grey, blue = np.full((64, 64, 3), 200), np.array([20, 40, 200])
    tiles = (np.indices((64, 64)) // 8).sum(axis=0) % 2  # an 8 px checkerboard
    cases = [
        (rng.integers(0, 12, (64, 64, 3)), "dark"),  # noise under 3% mean luminance
        (np.concatenate([grey[:60], rng.integers(0, 255, (4, 64, 3))]), "one colour"),  # 94%
        (np.concatenate([grey[:54], np.broadcast_to(blue, (10, 64, 3))]), ""),  # 84% grey
        (rng.integers(0, 255, (64, 64, 3)), ""),  # noise is not empty
        (np.where(tiles[..., None] == 1, grey, blue), ""),  # two colours, half each
        (np.broadcast_to(np.linspace(0, 255, 64)[None, :, None], (64, 64, 3)), ""),
    ]
    for pixels, want in cases:
        path = tmp_path / "image.png"
        Image.fromarray(pixels.astype(np.uint8)).save(path)
        assert empty_reason(path).split(" (")[0] == want


def test_the_command_renders_and_summarises(tmp_path, fake):
    binary, _ = fake
    examples, _ = write_examples(tmp_path, {"a.fract": scene_text(),
                                            "benchmark.fract": scene_text(),
                                            "void.fract": scene_text("black")})
    cache = tmp_path / "cache"
    result = subprocess.run([sys.executable, "-m", "visualizer.cli", "fractals", "render",
                             str(examples), "--cache", str(cache), "--views", "2", "--size", "32",
                             "--timeout", "30", "--binary", binary],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "rendered 2, already done 0, empty 2, failed 0, timed out 0" in result.stdout
    assert "skipped 1 of 3 scenes: benchmark 1" in result.stdout
    assert "4/4" in result.stderr  # the progress bar

    missing = subprocess.run([sys.executable, "-m", "visualizer.cli", "fractals", "render",
                              str(tmp_path / "nowhere"), "--cache", str(cache)],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "nowhere" in missing.stderr


@pytest.mark.skipif(shutil.which("mandelbulber2") is None,
                    reason="mandelbulber2 is not installed (apt-get install mandelbulber2)")
def test_a_real_render(tmp_path):
    # The default Mandelbulb seen from mandelbulber2's default camera: quick at 64 px.
    scene = "# Mandelbulber settings file\n[main_parameters]\nformula_1 2;\n[fractal_1]\n"
    examples, _ = write_examples(tmp_path, {"bulb.fract": scene})
    (render,) = render_scenes(list_scenes(examples), tmp_path / "cache", views_per_scene=1,
                              size_px=64, timeout_s=120)
    with Image.open(render.png) as image:
        assert image.size == (64, 64)
    assert empty_reason(render.png) == ""
