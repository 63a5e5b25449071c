"""The crawl: walk a source's listings, fetch each item's image, record everything in the manifest.

Three kinds of asyncio task share one :class:`~scraping.fetch.Fetcher`: the listing walker
(pages one after another, committing each page's items with its cursor), a feeder (streams
pending items from the manifest into a bounded queue, so memory stays flat at any size) and
``crawl.concurrency`` workers (detail page if needed, then the image).

Kill safety, step by step for one image: the body streams to ``staging/SEQ.part``; a complete
body is renamed to ``staging/SEQ.done``; its result is committed to the manifest; then the file
moves to ``images/ab/<sha256>.<ext>``. A restart deletes ``.part`` files (incomplete), reuses a
``.done`` file instead of downloading again, and finishes a move that a kill interrupted. So a
completed download is never repeated, and a recorded result is never lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from scraping.dedupe import DedupeResult, decide_duplicates
from scraping.fetch import FetchFailed, Fetcher
from scraping.images import Rejection, inspect_image
from scraping.licences import licence_allowed
from scraping.manifest import ITEM_FIELDS, Manifest, Row, Stored
from scraping.settings import ScrapeSettings
from scraping.sources import Found, Source, SourceError, make_source
from visualizer.core.atomic import exclusive_folder
from visualizer.core.errors import ConfigError

log = logging.getLogger(__name__)

_FEED_BATCH = 256


class CrawlObserver(Protocol):
    """Progress of a crawl, for a progress bar. Called from the crawl's event loop."""

    def start(self, *, found: int, settled: int) -> None:
        """Before anything is fetched: what the manifest already holds for this crawl."""

    def found(self, total: int) -> None:
        """The number of items listed so far grew to ``total``."""

    def settled(self, status: str) -> None:
        """One more item got its result ``status``."""


class Quiet:
    def start(self, *, found: int, settled: int) -> None:
        pass

    def found(self, total: int) -> None:
        pass

    def settled(self, status: str) -> None:
        pass


@dataclass(frozen=True)
class CrawlSummary:
    """The end of a crawl: this crawl's items by status, and what this run did."""

    crawl: str
    found: int
    downloaded: int
    statuses: dict[str, int] = field(default_factory=dict)
    listing_errors: tuple[str, ...] = ()
    requests: int = 0
    new_downloads: int = 0
    elapsed_s: float = 0.0
    dedupe: DedupeResult | None = None


def crawl_key(source: Source) -> str:
    """Names one crawl (source, query and the settings that shape its listings) in the manifest;
    crawls with the same key share listing cursors, so a rerun resumes."""
    identity = json.dumps(source.identity(), sort_keys=True)
    digest = hashlib.sha1(identity.encode()).hexdigest()[:10]
    return f"{source.name}:{digest}"


def check_settings(settings: ScrapeSettings) -> None:
    """Stop with one line when the settings cannot make a polite, meaningful crawl."""
    contact = settings.crawl.contact.strip()
    if not contact:
        raise ConfigError("crawl.contact is empty: give an email or URL (--contact, "
                          "GANSMANIA_CONTACT or crawl.contact) so site owners can reach you")
    if any(c in contact for c in "\r\n"):
        raise ConfigError(f"crawl.contact = {contact!r} has a line break; allowed one line")
    urls = {"aic.api_url": settings.aic.api_url, "met.api_url": settings.met.api_url,
            "cleveland.api_url": settings.cleveland.api_url,
            "wikimedia.api_url": settings.wikimedia.api_url}
    urls.update({f"gallery.start_urls[{i}]": u for i, u in enumerate(settings.gallery.start_urls)})
    for key, url in urls.items():
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{key} = {url!r} is not a URL; allowed http:// or https:// URLs")
    if settings.source == "gallery":
        gallery = settings.gallery
        if not gallery.start_urls:
            raise ConfigError("gallery.start_urls is empty; give at least one --start-url")
        if not (gallery.licence or gallery.licence_selector):
            raise ConfigError("the gallery source needs gallery.licence (what the site grants "
                              "its images, e.g. CC0) or gallery.licence_selector")
        _check_selectors(gallery)


def _check_selectors(gallery) -> None:
    import soupsieve

    for name in ("item_selector", "image_selector", "next_selector", "title_selector",
                 "artist_selector", "date_selector", "licence_selector"):
        selector = getattr(gallery, name)
        if selector:
            try:
                soupsieve.compile(selector)
            except soupsieve.SelectorSyntaxError as exc:
                first = str(exc).splitlines()[0]
                raise ConfigError(f"gallery.{name} = {selector!r} is not a CSS selector: "
                                  f"{first}") from None


def scrape(settings: ScrapeSettings, out: Path, *, observer: CrawlObserver | None = None,
           refresh: bool = False) -> CrawlSummary:
    """Crawl ``settings.source`` into the folder ``out`` (manifest, images); resumes a crawl
    already there. ``refresh`` walks the listings again from their first pages."""
    check_settings(settings)
    out = Path(out)
    with exclusive(out):
        return asyncio.run(_Crawl(settings, out, observer or Quiet(), refresh=refresh).run())


def exclusive(out: Path):
    """One crawl per folder at a time: two would fetch the same pending items."""
    return exclusive_folder(out, lock_name="scrape.lock",
                            busy="another `gansmania scrape` is writing here; wait for it or "
                                 "give another --out")


class _Crawl:
    def __init__(self, settings: ScrapeSettings, out: Path, observer: CrawlObserver, *,
                 refresh: bool) -> None:
        self.settings = settings
        self.out = out
        self.observer = observer
        self.refresh = refresh
        self.source = make_source(settings)
        self.key = crawl_key(self.source)
        self.manifest = Manifest(out)
        self.staging = out / "staging"
        self.workers = settings.crawl.concurrency
        self.listing_finished = False
        self.listing_errors: list[str] = []
        self.new_downloads = 0
        self.expected = 0  # items the source says the listing holds (0: not said)

    async def run(self) -> CrawlSummary:
        began = time.monotonic()
        self.staging.mkdir(parents=True, exist_ok=True)
        self._recover_staging()
        starts = self.source.start()
        self.manifest.add_tasks(self.key, [(key, url, 0) for key, url in starts])
        if self.refresh:
            self.manifest.restart_tasks(self.key, dict(starts))
        self.observer.start(found=self.manifest.count_found(self.key),
                            settled=self.manifest.count_settled(self.key))
        self.queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=2 * self.workers)
        self.wake = asyncio.Event()
        try:
            async with Fetcher(self.settings.crawl, headers=self.source.headers()) as fetcher:
                self.fetcher = fetcher
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._walk_listings())
                    group.create_task(self._feed())
                    for _ in range(self.workers):
                        group.create_task(self._work())
                requests = fetcher.requests
            f = self.settings.filter
            dedupe = decide_duplicates(self.manifest, near_bits=f.near_duplicate_bits,
                                       colour_tolerance=f.near_duplicate_colour)
            return CrawlSummary(
                crawl=self.key, found=self.manifest.count_found(self.key),
                downloaded=self.manifest.count_downloaded(crawl=self.key),
                statuses=self.manifest.counts(crawl=self.key),
                listing_errors=tuple(self.listing_errors), requests=requests,
                new_downloads=self.new_downloads, elapsed_s=time.monotonic() - began,
                dedupe=dedupe)
        finally:
            self.manifest.close()

    # ------------------------------------------------------------------ listings

    async def _walk_listings(self) -> None:
        limit = self.settings.limit
        try:
            task = self.manifest.next_task(self.key, after_seq=0)
            while task is not None:
                if limit and self.manifest.count_found(self.key) >= limit:
                    break
                try:
                    page = await self.fetcher.page(task.url)
                    listing = self.source.parse_listing(page)
                except (FetchFailed, SourceError) as exc:
                    message = f"{task.url}: {exc}"
                    log.warning("listing failed (retried on the next run): %s", message)
                    self.listing_errors.append(message)
                    self.manifest.task_failed(task, str(exc))
                    task = self.manifest.next_task(self.key, after_seq=task.seq)
                    continue
                known = self.manifest.known(self.source.name, [f.item_id for f in listing.items])
                items = [f for f in listing.items if f.item_id not in known]
                next_url, truncated = listing.next_url, False
                if next_url == task.url:
                    log.warning("%s names itself as its next page; listing ends there", task.url)
                    next_url = None
                if limit:
                    room = limit - self.manifest.count_found(self.key)
                    if len(items) > room:
                        # Stay on this page: a later run with a higher limit takes the rest.
                        items, next_url, truncated = items[:room], task.url, True
                new_tasks = [(key, url, task.depth) for key, url in listing.more]
                if task.depth < self.source.max_depth:
                    new_tasks += [(key, url, task.depth + 1) for key, url in listing.children]
                self.manifest.commit_page(task, items=[self._as_row(f) for f in items],
                                          next_url=next_url, new_tasks=new_tasks)
                if listing.total is not None and task.depth == 0 and task.pages == 0:
                    # The API's own count, so the progress bar has an ETA from the start.
                    self.expected = min(listing.total, limit or listing.total)
                self.observer.found(max(self.manifest.count_found(self.key), self.expected))
                self.wake.set()
                if truncated:
                    break
                after = task.seq - 1 if next_url else task.seq
                task = self.manifest.next_task(self.key, after_seq=after)
        finally:
            self.listing_finished = True
            self.wake.set()

    def _as_row(self, found: Found) -> dict:
        status, reason = found.skip or ("pending", None)
        if status == "pending":
            status, reason = self._check(found)
        return {"source": self.source.name, "item_id": found.item_id, "status": status,
                "reason": reason, **{f: getattr(found, f) for f in ITEM_FIELDS}}

    def _check(self, found: Found) -> tuple[str, str | None]:
        """("pending", None), or the status that ends an item before any download."""
        if found.licence is not None and not licence_allowed(found.licence,
                                                             self.settings.filter.licences):
            return "licence", f"licence {found.licence!r} is not in filter.licences"
        if not found.image_url and not found.detail_url:
            return "no_image", "no image URL"
        return "pending", None

    # ------------------------------------------------------------------ items

    async def _feed(self) -> None:
        after = 0
        while True:
            self.wake.clear()
            rows = self.manifest.pending(self.key, after_seq=after, limit=_FEED_BATCH)
            for row in rows:
                await self.queue.put(row)
                after = row.seq
            if rows:
                continue
            if self.listing_finished:
                break
            await self.wake.wait()
        for _ in range(self.workers):
            await self.queue.put(None)

    async def _work(self) -> None:
        while (row := await self.queue.get()) is not None:
            status = await self._settle(row)
            self.observer.settled(status)

    async def _settle(self, row: Row) -> str:
        """Fetch what ``row`` still needs and record its result; returns the status."""
        try:
            image_url = row.image_url
            if not image_url:
                found = await self._details(row)
                if found.skip:
                    return self._record(row, Stored(*found.skip))
                image_url = found.image_url
            return await self._store_image(row, image_url)
        except FetchFailed as exc:
            return self._record(row, Stored(exc.status, exc.reason))
        except SourceError as exc:
            return self._record(row, Stored("failed", f"unexpected response: {exc}"))

    async def _details(self, row: Row) -> Found:
        page = await self.fetcher.page(row.detail_url)
        found = Found(item_id=row.item_id, **{f: getattr(row, f) for f in ITEM_FIELDS})
        found = self.source.parse_detail(found, page)
        self.manifest.update_details(row.seq, {f: getattr(found, f) for f in ITEM_FIELDS})
        if not found.skip:
            status, reason = self._check(found)
            if status != "pending":
                found = found.but(skip=(status, reason))
        return found

    def _record(self, row: Row, stored: Stored, *, downloaded: bool = False) -> str:
        self.manifest.settle(row.seq, stored, downloaded=downloaded)
        log.debug("%s: %s %s", row.key, stored.status, stored.reason or "")
        return stored.status

    async def _store_image(self, row: Row, url: str) -> str:
        part, done = self.staging / f"{row.seq}.part", self.staging / f"{row.seq}.done"
        content_type = ""
        if done.exists():
            # A previous run finished this download and was killed before recording it.
            size, sha256 = await asyncio.to_thread(_size_and_sha256, done)
        else:
            try:
                download = await self.fetcher.download(
                    url, part, max_bytes=int(self.settings.filter.max_image_mb * 2**20))
            except FetchFailed:
                part.unlink(missing_ok=True)
                raise
            os.replace(part, done)
            self.new_downloads += 1
            size, sha256, content_type = download.size, download.sha256, download.content_type
        facts = await asyncio.to_thread(inspect_image, done,
                                        min_size_px=self.settings.filter.min_size_px,
                                        content_type=content_type)
        if isinstance(facts, Rejection):
            status = self._record(row, Stored(facts.status, facts.reason, sha256=sha256,
                                              bytes=size), downloaded=True)
            done.unlink()
            return status
        relative = f"images/{sha256[:2]}/{sha256}.{facts.suffix}"
        status = self._record(row, Stored("downloaded", None, sha256=sha256, phash=facts.phash,
                                          colour=facts.colour, width=facts.width,
                                          height=facts.height, bytes=size, format=facts.format,
                                          path=relative), downloaded=True)
        _move_into_place(done, self.out / relative)
        return status

    def _recover_staging(self) -> None:
        """Finish what a killed run left in staging/ (see the module doc)."""
        for path in self.staging.iterdir():
            seq = int(path.stem) if path.stem.isdigit() else None
            row = self.manifest.get_seq(seq) if seq is not None else None
            if path.suffix != ".done" or row is None:
                path.unlink()  # an incomplete body, or a stray file
            elif row.status == "pending":
                continue  # complete but not recorded: the worker reuses it
            elif row.path:
                _move_into_place(path, self.out / row.path)
            else:
                path.unlink()  # recorded as rejected; the bytes are not kept


def _move_into_place(staged: Path, final: Path) -> None:
    """Move a staged file to its content-addressed place; identical bytes are stored once."""
    if final.exists():
        staged.unlink()
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)


def _size_and_sha256(path: Path) -> tuple[int, str]:
    with open(path, "rb") as file:
        digest = hashlib.file_digest(file, "sha256")
    return path.stat().st_size, digest.hexdigest()
