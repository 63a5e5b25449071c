"""Every way a request goes wrong ends as the manifest says: retries, Retry-After, timeouts,
redirects, robots.txt, truncated and non-image bodies, size limits and duplicates."""

from __future__ import annotations

import email.utils
import time

import numpy as np
import pytest
from PIL import Image

from bench.rigs.localsite import Reply, add_gallery, artwork, jpeg_bytes, png_bytes
from scraping.crawl import scrape
from scraping.fetch import retry_after_s
from tests.scraping.fakes import by_id, manifest_rows, settings_for


def _image(i: int) -> bytes:
    if i == 10:
        whole = png_bytes(artwork(10))
        return whole[:len(whole) * 6 // 10]  # a PNG cut short, served complete: corrupt
    if i == 11:
        return png_bytes(artwork(11, size=(16, 16)))
    if i in (12, 13):
        return png_bytes(artwork(12))  # the same bytes twice
    if i == 14:
        return jpeg_bytes(artwork(15, size=(64, 64)), quality=80)  # a smaller copy of 15
    if i == 15:
        return png_bytes(artwork(15, size=(96, 96)))
    if i == 17:
        noise = np.random.default_rng(17).integers(0, 256, (200, 200, 3), dtype=np.uint8)
        return png_bytes(Image.fromarray(noise))  # ~120 kB, over the 0.05 MB limit
    return png_bytes(artwork(i))


def img(i: int) -> str:
    return f"/gallery/img/{i}.png"


@pytest.fixture
def faulty(site):
    """A 21-image gallery where image N misbehaves as EXPECTED[N] describes."""
    first = add_gallery(site, count=21, per_page=6, item_pages=False, image=_image)
    body = _image(0)
    site.page("/robots.txt", Reply.text("User-agent: *\nDisallow: /gallery/img/6.png\n"
                                        "Disallow: /private/\n"))
    site.script(img(0), Reply(429, b"slow down", "text/plain", (("Retry-After", "1"),)))
    site.script(img(1), Reply(500), Reply(502))
    site.page(img(2), Reply(500, b"boom", "text/plain"))
    site.script(img(3), Reply(200, body, "image/png", delay_s=1.5))
    site.page(img(4), Reply(200, body, "image/png", delay_s=1.5))
    site.page(img(5), Reply.redirect("/elsewhere/5.png"))
    site.page("/elsewhere/5.png", Reply(200, _image(5), "image/png"))
    site.page(img(7), Reply(200, body, "image/png", truncate_at=len(body) // 2))
    site.script(img(8), Reply(200, _image(8), "image/png", truncate_at=100))
    site.page(img(9), Reply.html("<html><body>Sorry, this image moved.</body></html>"))
    site.page(img(16), Reply(404, b"gone", "text/plain"))
    site.page(img(18), Reply.redirect(img(18)))
    site.page(img(19), Reply(503, b"maintenance", "text/plain", (("Retry-After", "3600"),)))
    site.page(img(20), Reply.redirect("/private/20.png"))
    site.page("/private/20.png", Reply(200, _image(20), "image/png"))
    return first


# index: (status, words in the reason, requests the server saw for the image)
EXPECTED = {
    0: ("kept", None, 2),
    1: ("kept", None, 3),
    2: ("failed", "HTTP 500 after 3 attempts", 3),
    3: ("kept", None, 2),
    4: ("failed", "timed out after 3 attempts", 3),
    5: ("kept", None, 1),
    6: ("robots", "robots.txt disallows", 0),
    7: ("truncated", "connection dropped", 3),
    8: ("kept", None, 2),
    9: ("not_image", "text/html", 1),
    10: ("corrupt", "PNG", 1),
    11: ("too_small", "16x16", 1),
    12: ("kept", None, 1),
    13: ("duplicate", "same bytes as gallery:", 1),
    14: ("near_duplicate", "gallery:" , 1),
    15: ("kept", None, 1),
    16: ("http_error", "HTTP 404", 1),
    17: ("too_large", "MB", 1),
    18: ("failed", "more than 5 redirects", 6),
    19: ("failed", "Retry-After", 1),
    20: ("robots", "/private/20.png", 1),
}


def test_each_failure_ends_as_the_manifest_says(site, faulty, tmp_path):
    settings = settings_for("gallery", gallery__start_urls=[faulty],
                            gallery__image_selector="img.art", gallery__next_selector="a.next",
                            gallery__licence="CC0", filter__max_image_mb=0.05, crawl__retry_after_max_s=5.0)
    summary = scrape(settings, tmp_path)

    rows = by_id(manifest_rows(tmp_path))
    assert len(rows) == 21
    for index, (status, words, hits) in EXPECTED.items():
        row = rows[site.url(img(index))]
        assert row["status"] == status, (index, row["status"], row["reason"])
        if words:
            assert words in row["reason"], (index, row["reason"])
        assert site.hits(img(index)) == hits, (index, site.hits(img(index)))
    # The duplicate names the copy that was kept: the lower name of two equal images.
    assert rows[site.url(img(13))]["reason"] == f"same bytes as gallery:{site.url(img(12))}"
    # Of two near duplicates the larger picture is kept.
    assert rows[site.url(img(14))]["reason"].endswith(f"from gallery:{site.url(img(15))}")
    # The Retry-After was honoured: the retry came no sooner than asked.
    first, second = site.times(img(0))
    assert second - first >= 0.95
    assert site.hits("/robots.txt") == 1
    assert site.hits("/private/20.png") == 0
    assert summary.statuses["kept"] == 7
    assert not list((tmp_path / "staging").iterdir())
    kept_files = {r["path"] for r in rows.values() if r["status"] in ("kept", "duplicate")}
    assert all((tmp_path / p).is_file() for p in kept_files)
    assert len(kept_files) == 7  # two items with the same bytes share one file


def test_per_host_concurrency_cap_and_rate_limit(tmp_path):
    from bench.rigs.localsite import LocalSite

    with LocalSite(latency_s=0.05) as site:
        first = add_gallery(site, count=12, per_page=20, item_pages=False)
        settings = settings_for("gallery", gallery__start_urls=[first],
                                gallery__image_selector="img.art", gallery__licence="CC0",
                                crawl__concurrency=8, crawl__per_host_concurrency=2)
        scrape(settings, tmp_path / "capped")
        assert site.max_in_flight() == 2

    with LocalSite() as site:
        first = add_gallery(site, count=8, per_page=20, item_pages=False)
        settings = settings_for("gallery", gallery__start_urls=[first],
                                gallery__image_selector="img.art", gallery__licence="CC0",
                                crawl__concurrency=8, crawl__rate_per_host_hz=20.0)
        scrape(settings, tmp_path / "rated")
        starts = sorted(t for i in range(8) for t in site.times(img(i)))
        # 20 requests per second: consecutive starts at least 50 ms apart on average.
        assert (starts[-1] - starts[0]) / (len(starts) - 1) >= 0.045


def test_robots_crawl_delay_slows_the_host(site, tmp_path):
    first = add_gallery(site, count=5, per_page=20, item_pages=False)
    site.page("/robots.txt", Reply.text("User-agent: gansmania\nCrawl-delay: 0.2\n"))
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__image_selector="img.art", gallery__licence="CC0")
    scrape(settings, tmp_path)
    starts = sorted(t for i in range(5) for t in site.times(img(i)))
    assert (starts[-1] - starts[0]) / 4 >= 0.19


def test_an_unreachable_robots_txt_keeps_the_crawler_off_the_site(site, tmp_path):
    first = add_gallery(site, count=3, per_page=20)
    site.page("/robots.txt", Reply(503, b"down", "text/plain"))
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__licence="CC0")
    summary = scrape(settings, tmp_path)
    assert summary.found == 0
    assert "robots.txt disallows" in summary.listing_errors[0]
    assert site.hits("/robots.txt") == 3  # retried like any 5xx, then treated as "disallow all"
    assert site.total_hits("/gallery/") == 0


def test_a_failed_listing_page_is_retried_on_the_next_run(site, tmp_path):
    first = add_gallery(site, count=9, per_page=3)
    site.script("/gallery/page/2.html", *[Reply(500)] * 3)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__next_selector="a.next",
                            gallery__licence="CC0")
    summary = scrape(settings, tmp_path)
    assert summary.found == 3 and len(summary.listing_errors) == 1
    summary = scrape(settings, tmp_path)
    assert summary.found == 9 and summary.statuses == {"kept": 9}


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert retry_after_s("7") == 7.0
    now = time.time()
    assert retry_after_s(email.utils.formatdate(now + 30, usegmt=True), now=now) == \
        pytest.approx(30, abs=1)
    assert retry_after_s(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None


def test_a_retry_after_pauses_the_whole_host(site, tmp_path):
    first = add_gallery(site, count=12, per_page=20, item_pages=False)
    site.script(img(0), Reply(429, b"", "text/plain", (("Retry-After", "1"),)))
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__image_selector="img.art", gallery__licence="CC0",
                            crawl__concurrency=2)
    scrape(settings, tmp_path)
    asked = site.times(img(0))[0]
    # Requests already under way may land just after the 429; then nothing until it expires.
    assert not [t for t in site.times() if asked + 0.2 < t < asked + 0.95]
    assert site.times(img(0))[1] >= asked + 0.95


def test_backoff_doubles_with_jitter_up_to_the_cap():
    import asyncio

    from scraping.fetch import Fetcher

    async def waits() -> list[float]:
        settings = settings_for("aic", crawl__backoff_s=1.0, crawl__backoff_max_s=6.0).crawl
        async with Fetcher(settings, seed=3) as fetcher:
            return [fetcher._backoff_s(attempt) for attempt in range(5)]

    for attempt, wait in enumerate(asyncio.run(waits())):
        step = min(6.0, 2.0 ** attempt)
        assert step / 2 <= wait <= step
