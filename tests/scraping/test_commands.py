"""`gansmania scrape` and `gansmania prepare` from the command line: progress, summary, output,
and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.rigs.localsite import add_gallery
from tests.scraping.fakes import CONTACT


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "visualizer.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def _gallery_args(first: str, out) -> list[str]:
    return ["scrape", "--source", "gallery", "--start-url", first, "--item-selector", "a.work",
            "--image-selector", "img.art", "--next-selector", "a.next", "--out", str(out),
            "--rate", "0", "--min-size", "32"]


def test_scrape_then_prepare_end_to_end(site, tmp_path):
    first = add_gallery(site, count=7, per_page=3)
    raw, data = tmp_path / "raw", tmp_path / "data"
    scraped = run(*_gallery_args(first, raw), "--licence", "CC0", "--contact", CONTACT,
                  "--set", "gallery.title_selector=h1.title")
    assert scraped.returncode == 0, scraped.stderr
    assert "found 7, downloaded 7, kept 7" in scraped.stdout
    assert "7/7" in scraped.stderr and "items/s" in scraped.stderr  # the progress bar
    resolved = (raw / "scrape-gallery.config.toml").read_text()
    assert CONTACT in resolved and 'licence = "CC0"' in resolved

    prepared = run("prepare", str(raw), "--res", "32", "--augment", "1", "--out", str(data))
    assert prepared.returncode == 0, prepared.stderr
    assert "wrote 14 images (32x32) from 7 source images" in prepared.stdout
    assert json.loads((data / "dataset.json").read_text())["count"] == 14
    assert "Work 6" in (data / "ATTRIBUTION.md").read_text()
    assert "augment = 1" in (data / "config.toml").read_text()


def test_user_errors_are_one_line(site, tmp_path):
    first = add_gallery(site, count=1, per_page=3)
    env = {k: v for k, v in os.environ.items() if k != "GANSMANIA_CONTACT"}
    cases = [
        (_gallery_args(first, tmp_path / "a") + ["--licence", "CC0"], "crawl.contact"),
        (_gallery_args(first, tmp_path / "b") + ["--contact", CONTACT], "gallery.licence"),
        (_gallery_args(first, tmp_path / "c") + ["--contact", CONTACT, "--licence", "CC0",
                                                "--set", "gallery.image_selector=img[["],
         "gallery.image_selector"),
        (["scrape", "--source", "aic", "--out", str(tmp_path / "d"), "--contact", CONTACT,
          "--set", "crawl.retries=99"], "crawl.retries"),
        (["prepare", str(tmp_path / "missing"), "--out", str(tmp_path / "data")],
         "no manifest here"),
        (["prepare", str(tmp_path / "missing"), "--res", "100", "--out", str(tmp_path / "data")],
         "resolution"),
    ]
    for args, words in cases:
        result = run(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert words in result.stderr, result.stderr
    assert site.total_hits() == 0  # nothing was fetched for an invalid command
