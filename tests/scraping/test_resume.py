"""Resuming: a crawl killed with SIGKILL and restarted ends with the same manifest as one that
ran through, and nothing recorded is downloaded again."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.rigs.localsite import LocalSite, add_gallery, artwork, jpeg_bytes, png_bytes
from scraping.crawl import scrape
from tests.scraping.fakes import CONTACT, manifest_rows, settings_for
from visualizer.core.errors import GansmaniaError

COUNT = 40
CONCURRENCY = 4


def _image(i: int) -> bytes:
    # Duplicates and a near duplicate, so the dedupe decision is compared too.
    if i in (7, 31):
        return png_bytes(artwork(7))
    if i == 20:
        return jpeg_bytes(artwork(21, size=(64, 64)), quality=85)
    return png_bytes(artwork(i))


def _gallery(site: LocalSite) -> str:
    # Slow listing pages, so the kill can land while the listing is still being walked too.
    return add_gallery(site, count=COUNT, per_page=5, image=_image, listing_delay_s=0.15)


def _command(first: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "visualizer.cli", "-q", "scrape", "--source", "gallery",
            "--start-url", first, "--item-selector", "a.work", "--image-selector", "img.art",
            "--next-selector", "a.next", "--licence", "CC0", "--out", str(out),
            "--contact", CONTACT, "--rate", "0", "--concurrency", str(CONCURRENCY),
            "--min-size", "32", "--set", "gallery.title_selector=h1.title",
            "--set", "crawl.timeout_s=5"]


def _image_hits(site: LocalSite) -> dict[str, int]:
    return {p: n for p, n in site.hit_counts().items() if p.startswith("/gallery/img/")}


def _settled_at_kill(out: Path) -> set[str]:
    """Image URLs whose result the killed run had recorded (read like any later reader)."""
    db = sqlite3.connect(out / "manifest.sqlite")
    try:
        rows = db.execute("SELECT image_url FROM items WHERE status NOT IN ('pending')").fetchall()
    finally:
        db.close()
    return {url for (url,) in rows}


def test_sigkill_then_restart_gives_the_uninterrupted_manifest(tmp_path):
    with LocalSite(latency_s=0.03) as site:
        first = _gallery(site)

        straight = tmp_path / "straight"
        done = subprocess.run(_command(first, straight), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert all(n == 1 for n in _image_hits(site).values())
        site.reset_counts()

        resumed = tmp_path / "resumed"
        process = subprocess.Popen(_command(first, resumed), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum(_image_hits(site).values()) < 12 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        recorded = _settled_at_kill(resumed)
        served_before = _image_hits(site)
        assert 0 < len(recorded) < COUNT, "the kill must land mid-crawl"

        again = subprocess.run(_command(first, resumed), capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 0, again.stderr

    assert manifest_rows(resumed) == manifest_rows(straight)
    hits = _image_hits(site)
    twice = {path for path, n in hits.items() if n > 1}
    # Nothing the killed run had recorded is fetched again; only transfers cut by the kill are.
    assert not {site.url(p) for p in twice} & recorded
    assert len(twice) <= CONCURRENCY
    assert all(served_before.get(p, 0) >= 1 for p in twice)
    assert not list((resumed / "staging").iterdir())
    assert sorted(p.name for p in (resumed / "images").rglob("*.*")) == \
        sorted(p.name for p in (straight / "images").rglob("*.*"))


def test_a_rerun_of_a_finished_crawl_fetches_nothing(site, tmp_path):
    first = add_gallery(site, count=6, per_page=4)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__next_selector="a.next",
                            gallery__licence="CC0")
    scrape(settings, tmp_path)
    before = manifest_rows(tmp_path)
    requests = sum(site.hit_counts().values())
    summary = scrape(settings, tmp_path)
    assert summary.requests == 0 and summary.new_downloads == 0
    assert sum(site.hit_counts().values()) == requests
    assert manifest_rows(tmp_path) == before


def test_a_complete_download_left_in_staging_is_not_downloaded_again(site, tmp_path):
    """The kill landed after a body was complete but before its result was recorded."""
    first = add_gallery(site, count=3, per_page=10, item_pages=False)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__image_selector="img.art", gallery__licence="CC0")
    scrape(settings, tmp_path)
    # Rewind item 2 to "pending" and put its bytes back in staging, as the kill would leave them.
    row = next(r for r in manifest_rows(tmp_path) if r["item_id"].endswith("/2.png"))
    (tmp_path / "staging" / f"{row['seq']}.done").write_bytes((tmp_path / row["path"]).read_bytes())
    (tmp_path / row["path"]).unlink()
    (tmp_path / "staging" / "3.part").write_bytes(b"half a body")
    db = sqlite3.connect(tmp_path / "manifest.sqlite")
    with db:
        db.execute("UPDATE items SET status='pending', sha256=NULL, path=NULL, downloads=0 "
                   "WHERE seq=?", (row["seq"],))
    db.close()

    summary = scrape(settings, tmp_path)
    assert summary.new_downloads == 0
    assert site.hits("/gallery/img/2.png") == 1
    after = next(r for r in manifest_rows(tmp_path) if r["seq"] == row["seq"])
    assert after == row
    assert (tmp_path / row["path"]).is_file()
    assert not list((tmp_path / "staging").iterdir())


def test_limit_lists_the_first_items_and_a_higher_limit_continues(site, tmp_path):
    first = add_gallery(site, count=12, per_page=5)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__next_selector="a.next",
                            gallery__licence="CC0", limit=7)
    summary = scrape(settings, tmp_path)
    assert summary.found == 7
    assert [r["item_id"] for r in manifest_rows(tmp_path)] == \
        [site.url(f"/gallery/item/{i}.html") for i in range(7)]

    summary = scrape(settings_for("gallery", gallery__start_urls=[first],
                                  gallery__item_selector="a.work",
                                  gallery__next_selector="a.next", gallery__licence="CC0",
                                  limit=10), tmp_path)
    assert summary.found == 10 and summary.statuses == {"kept": 10}
    assert all(site.hits(f"/gallery/img/{i}.png") == 1 for i in range(10))


def test_refresh_walks_the_listings_again_for_new_items(site, tmp_path):
    first = add_gallery(site, count=3, per_page=10)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__licence="CC0")
    scrape(settings, tmp_path)
    add_gallery(site, count=5, per_page=10)  # the gallery grew
    assert scrape(settings, tmp_path).found == 3
    summary = scrape(settings, tmp_path, refresh=True)
    assert summary.found == 5 and summary.new_downloads == 2


def test_two_crawls_cannot_share_a_folder(site, tmp_path):
    first = add_gallery(site, count=2, per_page=10)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__licence="CC0")
    with open(tmp_path / "scrape.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running crawl holds it
        with pytest.raises(GansmaniaError, match="another `gansmania scrape`"):
            scrape(settings, tmp_path)
    assert scrape(settings, tmp_path).found == 2
