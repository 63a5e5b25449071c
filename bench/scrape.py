"""Scraper benchmark: items/s at concurrency 1, 8, 32 against a local gallery that answers 50 ms
late, and resident memory along a 100k-item crawl. Loopback only (127.0.0.1; never a real site).

    python -m bench.scrape --json bench/results/scrape.json
    python -m bench.scrape --memory-items 20000      # a shorter memory run

- :func:`throughput_rows`: items/s at several concurrencies, every answer 50 ms late. Each item
  is two requests (item page, then image), so the ideal is ``concurrency / (2 x latency)``.
- :func:`memory_rows`: resident memory sampled along a 100k-item crawl, and its peak, to show it
  stays flat. Listing pages show the images directly (one request per item) and the server adds
  no latency, so the crawl takes minutes, not hours. Images are tiny (64x64 PNG) but fully
  processed: sha256, decode, perceptual hash, dedupe.

The server runs in its own process so it does not share the crawler's interpreter lock, and the
crawl being measured for memory runs in a fresh process so nothing else counts in its peak.
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import parser
from scraping.settings import ScrapeSettings
from visualizer.benchmarks.report import report
from visualizer.core.config import override

CONTACT = "benchmark@localhost"


def _serve(count: int, per_page: int, latency_s: float, item_pages: bool, urls, stop) -> None:
    from bench.rigs.localsite import LocalSite, add_gallery

    with LocalSite(latency_s=latency_s, keep_times=False) as site:
        urls.put(add_gallery(site, count=count, per_page=per_page, item_pages=item_pages))
        stop.wait()


@contextmanager
def served_gallery(*, count: int, per_page: int, latency_s: float,
                   item_pages: bool = True) -> Iterator[str]:
    """A local gallery of ``count`` works in a separate process; yields its first page URL."""
    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, daemon=True,
                              args=(count, per_page, latency_s, item_pages, urls, stop))
    process.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def gallery_settings(first: str, *, concurrency: int, item_pages: bool) -> ScrapeSettings:
    settings = ScrapeSettings(source="gallery")
    values = {"crawl.contact": CONTACT, "crawl.concurrency": concurrency,
              "crawl.per_host_concurrency": concurrency, "crawl.rate_per_host_hz": 0.0,
              "crawl.retries": 1, "crawl.timeout_s": 30.0, "filter.min_size_px": 32,
              "gallery.start_urls": [first], "gallery.image_selector": "img.art",
              "gallery.next_selector": "a.next", "gallery.licence": "CC0",
              "gallery.item_selector": "a.work" if item_pages else ""}
    for key, value in values.items():
        settings = override(settings, key, value)
    return settings


def throughput_rows(*, concurrencies: tuple[int, ...] = (1, 8, 32), latency_s: float = 0.05,
                    items_per_worker: int = 40, max_items: int = 1200) -> list[dict]:
    """Items per second at each concurrency (fresh crawl, fresh server, each time)."""
    from scraping.crawl import scrape

    rows = []
    for concurrency in concurrencies:
        count = min(max_items, items_per_worker * concurrency)
        with served_gallery(count=count, per_page=100, latency_s=latency_s) as first, \
                tempfile.TemporaryDirectory() as out:
            settings = gallery_settings(first, concurrency=concurrency, item_pages=True)
            began = time.perf_counter()
            summary = scrape(settings, Path(out))
            seconds = time.perf_counter() - began
        kept = summary.statuses.get("kept", 0)
        rows.append({"concurrency": concurrency, "items": count, "kept": kept,
                     "requests": summary.requests, "seconds": seconds,
                     "items_per_s": count / seconds,
                     "ideal_items_per_s": concurrency / (2 * latency_s)})
    return rows


def _rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mb() -> float:
    """This process's high-water resident memory. VmHWM, not ru_maxrss: a spawned child's
    ru_maxrss starts from its parent's peak (Linux carries it across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Sampler:
    """A crawl observer that notes resident memory every ``every`` settled items."""

    def __init__(self, every: int) -> None:
        self.every, self.settled_count, self.samples = every, 0, []
        self.began = time.perf_counter()

    def start(self, *, found: int, settled: int) -> None:
        self.samples.append({"items": 0, "rss_mb": _rss_mb(), "seconds": 0.0})

    def found(self, total: int) -> None:
        pass

    def settled(self, status: str) -> None:
        self.settled_count += 1
        if self.settled_count % self.every == 0:
            self.samples.append({"items": self.settled_count, "rss_mb": _rss_mb(),
                                 "seconds": time.perf_counter() - self.began})


def _memory_child(first: str, count: int, every: int, concurrency: int, results) -> None:
    from scraping.crawl import scrape
    from scraping.dedupe import decide_duplicates
    from scraping.manifest import Manifest

    sampler = _Sampler(every)
    with tempfile.TemporaryDirectory() as out:
        settings = gallery_settings(first, concurrency=concurrency, item_pages=False)
        summary = scrape(settings, Path(out), observer=sampler)
        began = time.perf_counter()
        with Manifest(Path(out)) as manifest:
            decide_duplicates(manifest, near_bits=settings.filter.near_duplicate_bits,
                              colour_tolerance=settings.filter.near_duplicate_colour)
        dedupe_s = time.perf_counter() - began
        manifest_mb = (Path(out) / "manifest.sqlite").stat().st_size / 2**20
    results.put({"samples": sampler.samples, "statuses": summary.statuses,
                 "seconds": summary.elapsed_s, "dedupe_s": dedupe_s, "manifest_mb": manifest_mb,
                 "peak_rss_mb": _peak_rss_mb()})


def memory_rows(*, items: int = 100_000, samples: int = 10, concurrency: int = 32) -> tuple[list[dict], dict]:
    """RSS along an ``items``-item crawl (rows), and the crawl's totals (peak, time, statuses)."""
    context = multiprocessing.get_context("spawn")
    with served_gallery(count=items, per_page=500, latency_s=0.0, item_pages=False) as first:
        results = context.Queue()
        child = context.Process(target=_memory_child,
                                args=(first, items, max(1, items // samples), concurrency, results))
        child.start()
        outcome = results.get()
        child.join()
    return outcome["samples"], {k: v for k, v in outcome.items() if k != "samples"}


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--latency-ms", type=float, default=50.0)
    options.add_argument("--memory-items", type=int, default=100_000,
                         help="items in the memory run (0 skips it)")
    args = options.parse_args()

    throughput = throughput_rows(latency_s=args.latency_ms / 1000)
    report(f"scrape: items/s vs concurrency ({args.latency_ms:g} ms server latency, "
           "2 requests per item)",
           ["concurrency", "items", "kept", "requests", "seconds", "items_per_s",
            "ideal_items_per_s"], throughput,
           json_path=args.json if not args.memory_items else None)
    if not args.memory_items:
        return
    samples, totals = memory_rows(items=args.memory_items)
    report(f"scrape: resident memory along a {args.memory_items}-item gallery crawl "
           f"(peak {totals['peak_rss_mb']:.0f} MB, {totals['seconds']:.0f} s, dedupe pass "
           f"{totals['dedupe_s']:.1f} s; perceptual hashing included)",
           ["items", "rss_mb", "seconds"], samples, json_path=args.json,
           extra={"throughput": throughput, "memory": totals,
                  "notes": "tiny 64x64 PNGs, fully hashed (sha256 + perceptual) and deduplicated; "
                           "server in its own process on 127.0.0.1"})


if __name__ == "__main__":
    main()
