"""`scrape --source debian-art`: a real .deb (built here with dpkg-deb) goes through the reviewed
list, the DEP-5 licences and the manifest, and a rerun resumes and follows an edited list."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from scraping.debian_art import fetch_package, licence_compatible, scrape_debian_art
from scraping.manifest import Manifest
from scraping.settings import ScrapeSettings
from tests.scraping.test_dep5 import COPYRIGHT
from visualizer.core.config import from_dict
from visualizer.core.errors import ConfigError, GansmaniaError

SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">
  <defs><linearGradient id="g"><stop offset="0" stop-color="#ff0000"/>
  <stop offset="1" stop-color="#0000ff"/></linearGradient></defs>
  <rect width="400" height="300" fill="url(#g)"/>
  <circle cx="200" cy="150" r="90" fill="#ffee00"/></svg>
"""

CATALOGUE = """\
[packages.testart]
kind = "wallpaper"
keep = ["usr/share/backgrounds/testart/*"]
drop = ["*/photo.*"]
"""


def _pattern(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((400, 300), Image.NEAREST)


@pytest.fixture
def packages(tmp_path):
    """OUT/packages/ holding testart_1.0_all.deb, as `apt-get download` would leave it."""
    root = tmp_path / "build" / "testart"
    art = root / "usr/share/backgrounds/testart"
    art.mkdir(parents=True)
    _pattern(1).save(art / "waves.png")
    _pattern(2).save(art / "lonely.png")
    _pattern(3).save(art / "photo.jpg")
    _pattern(4).save(art / "packaging.png")
    (art / "drawing.svg").write_text(SVG)
    (root / "usr/share/doc/testart").mkdir(parents=True)
    (root / "usr/share/doc/testart/copyright").write_text(COPYRIGHT)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text("Package: testart\nVersion: 1.0\nArchitecture: all\n"
                                         "Maintainer: T <t@example.org>\nDescription: test art\n")
    out = tmp_path / "raw"
    (out / "packages").mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root),
                    str(out / "packages" / "testart_1.0_all.deb")], check=True, capture_output=True)
    return out


def _settings(catalogue, **debian_art) -> ScrapeSettings:
    return from_dict(ScrapeSettings, {"source": "debian-art", "filter": {"min_size_px": 64},
                                      "debian_art": {"catalogue": str(catalogue),
                                                     "svg_width_px": 800, **debian_art}})


def _rows(out) -> dict[str, object]:
    with Manifest(out, create=False) as manifest:
        return {r.item_id.rsplit("/", 1)[-1]: r for r in manifest.rows()}


def test_selected_works_are_stored_with_their_authors_and_licences(packages, tmp_path):
    catalogue = tmp_path / "list.toml"
    catalogue.write_text(CATALOGUE)

    summary = scrape_debian_art(_settings(catalogue), packages)

    rows = _rows(packages)
    assert "photo.jpg" not in rows  # dropped by the reviewed list: never listed
    waves, drawing = rows["waves.png"], rows["drawing.svg"]
    assert (waves.status, waves.artist, waves.licence) == ("kept", "Ann Artist, Cy Second",
                                                           "CC-BY-SA-4.0")
    assert (drawing.status, drawing.width, drawing.height) == ("kept", 800, 600)  # drawn by librsvg
    assert drawing.page_url == "debian:testart=1.0 (wallpaper)"
    # The DEP-5 stanza names 16.04/lonely.png; the package installs it without the folder.
    lonely = rows["lonely.png"]
    assert (lonely.status, lonely.licence) == ("licence", "GPL-2")
    assert rows["packaging.png"].licence == "GPL-2+"  # only the catch-all matched
    assert summary.statuses["kept"] == 3
    stored = Image.open(packages / drawing.path).convert("RGB")
    assert stored.getpixel((5, 300))[0] > 200 and stored.getpixel((795, 300))[2] > 200


def test_a_rerun_resumes_and_follows_an_edited_list(packages, tmp_path):
    catalogue = tmp_path / "list.toml"
    catalogue.write_text(CATALOGUE)
    scrape_debian_art(_settings(catalogue), packages)

    again = scrape_debian_art(_settings(catalogue), packages)
    assert again.new_downloads == 0

    catalogue.write_text(CATALOGUE.replace('drop = ["*/photo.*"]',
                                           'drop = ["*/photo.*", "*/drawing.*"]'))
    scrape_debian_art(_settings(catalogue), packages)
    assert _rows(packages)["drawing.svg"].status == "excluded"

    catalogue.write_text(CATALOGUE)
    back = scrape_debian_art(_settings(catalogue), packages)
    assert _rows(packages)["drawing.svg"].status == "kept" and back.new_downloads == 1


def test_unknown_packages_and_kinds_are_one_line_errors(packages, tmp_path):
    catalogue = tmp_path / "list.toml"
    catalogue.write_text(CATALOGUE)
    with pytest.raises(ConfigError, match="debian_art.packages: nosuch not in the reviewed list"):
        scrape_debian_art(_settings(catalogue, packages=["nosuch"]), packages)
    with pytest.raises(ConfigError, match="debian_art.kinds: 'photos' is not a kind"):
        scrape_debian_art(_settings(catalogue, kinds=["photos"]), packages)
    catalogue.write_text("[packages.testart]\nkeep = []\n")
    with pytest.raises(GansmaniaError, match="packages.testart: missing or wrong key 'kind'"):
        scrape_debian_art(_settings(catalogue), packages)


def test_a_failed_download_names_the_package(tmp_path):
    def refuse(argv, **_):
        return subprocess.CompletedProcess(argv, 100, "", "E: Unable to locate package nosuch\n")

    with pytest.raises(GansmaniaError, match=r"apt-get download nosuch: failed \(E: Unable to "
                                             r"locate package nosuch\)"):
        fetch_package("nosuch", tmp_path, run=refuse)


@pytest.mark.parametrize(("licence", "allowed"), [
    ("GPL-2+", True), ("CC-BY-SA-3.0", True), ("CC0-1.0", True), ("GPL-3+ or CC-BY-SA-3.0", True),
    ("GPL-2", False), ("CC-BY-NC-4.0", False), (None, False), ("", False)])
def test_which_licences_the_weights_can_carry(licence, allowed):
    assert licence_compatible(licence) is allowed


def test_fractal_renders_in_a_cache_join_the_scrape_with_their_scene_s_licence(tmp_path):
    from tests.scraping.test_fractals import COPYRIGHT as FRACTAL_COPYRIGHT
    from tests.scraping.test_fractals import scene_text

    root = tmp_path / "build" / "mandelbulber2-data"
    examples = root / "usr/share/mandelbulber2/examples"
    jane = "Jane Doe  collection - license Creative Commons (CC-BY 4.0)"
    (examples / jane).mkdir(parents=True)
    (examples / jane / "knot.fract").write_text(scene_text())
    (examples / "top.fract").write_text(scene_text())
    (root / "usr/share/doc/mandelbulber2-data").mkdir(parents=True)
    (root / "usr/share/doc/mandelbulber2-data/copyright").write_text(FRACTAL_COPYRIGHT)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text("Package: mandelbulber2-data\nVersion: 2.20-2\n"
                                         "Architecture: all\nMaintainer: T <t@example.org>\n"
                                         "Description: scenes\n")
    out = tmp_path / "raw"
    (out / "packages").mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root),
                    str(out / "packages" / "mandelbulber2-data_2.20-2_all.deb")], check=True,
                   capture_output=True)
    cache = tmp_path / "fractals"
    cache.mkdir()
    lines = []
    for n, (scene, view) in enumerate([(f"{jane}/knot.fract", 0), (f"{jane}/knot.fract", 1),
                                       ("top.fract", 0)]):
        _pattern(10 + n).resize((128, 128)).save(cache / f"r{n}.png")
        lines.append(json.dumps({"key": f"{scene}#{view}@128", "status": "rendered",
                                 "overrides": {}, "seconds": 1.0, "png": f"r{n}.png"}))
    lines.append(json.dumps({"key": "top.fract#1@128", "status": "timeout", "overrides": {}}))
    (cache / "index.jsonl").write_text("\n".join(lines) + "\n")
    catalogue = tmp_path / "list.toml"
    catalogue.write_text(CATALOGUE)

    scrape_debian_art(_settings(catalogue, packages=[], kinds=["fractal"],
                                fractal_cache=str(cache)), out)

    rows = {r.item_id.rsplit("/", 1)[-1]: r for r in Manifest(out, create=False).rows()}
    assert sorted(rows) == ["knot.fract#view0", "knot.fract#view1", "top.fract#view0"]
    knot = rows["knot.fract#view1"]
    assert (knot.status, knot.artist, knot.licence) == ("kept", "Jane Doe", "CC-BY-4.0")
    assert knot.title == "knot (view 1, Jane Doe collection)"
    assert knot.page_url == "debian:mandelbulber2-data=2.20-2 (fractal)"
    assert rows["top.fract#view0"].licence == "GPL-3.0-or-later"


def test_a_fractal_cache_without_an_index_is_a_one_line_error(packages, tmp_path):
    catalogue = tmp_path / "list.toml"
    catalogue.write_text(CATALOGUE)
    summary = scrape_debian_art(_settings(catalogue, fractal_cache=str(tmp_path)), packages)
    assert any("no index.jsonl there" in e for e in summary.listing_errors)
