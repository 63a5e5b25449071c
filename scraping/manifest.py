"""The manifest: one SQLite row per item ever found, and the listing cursors of every crawl.

The manifest is the source of truth for resuming. Every step commits before the next one starts
(a listing page's items together with the page's cursor; an item's result together with its
hashes), so a crawl killed at any instant (SIGKILL included) restarts where it stopped: nothing
recorded is fetched again and nothing fetched-and-recorded is lost. WAL journaling keeps each
commit durable across a process crash without an fsync per item.

Statuses (``STATUSES``) say what became of each item; ``reason`` says why in words.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from visualizer.core.errors import GansmaniaError

MANIFEST_NAME = "manifest.sqlite"
SCHEMA_VERSION = 1

STATUSES = {
    "pending": "found, not fetched yet",
    "downloaded": "image stored; duplicates not decided yet (only between a kill and a rerun)",
    "kept": "in the training set",
    "duplicate": "the same bytes as a kept item",
    "near_duplicate": "looks like a kept item (perceptual hash and colour)",
    "too_small": "shorter side under filter.min_size_px",
    "too_large": "download over filter.max_image_mb",
    "not_image": "the payload is not an image",
    "corrupt": "an image that does not decode",
    "truncated": "the connection kept dropping before the body was complete",
    "no_image": "the record has no image",
    "licence": "licence not in filter.licences",
    "excluded": "left out by a reviewed list (debian-art: scraping/debian_art.toml)",
    "robots": "robots.txt disallows the URL",
    "http_error": "the server answered 4xx (not 429)",
    "failed": "retries exhausted (5xx, 429, timeouts, network) or too many redirects",
}
# Items in the dedupe decision: their bytes are stored and valid.
ACCEPTED = ("downloaded", "kept", "duplicate", "near_duplicate")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY,        -- discovery order
    source TEXT NOT NULL,
    item_id TEXT NOT NULL,
    crawl TEXT NOT NULL,            -- the crawl (source + query) that found it first
    title TEXT, artist TEXT, date TEXT, licence TEXT,
    page_url TEXT,                  -- the human-readable page of the work
    image_url TEXT,
    detail_url TEXT,                -- fetched first when the listing has no image URL
    status TEXT NOT NULL,
    reason TEXT,
    sha256 TEXT, phash TEXT, colour TEXT,
    width INTEGER, height INTEGER, bytes INTEGER, format TEXT,
    path TEXT,                      -- relative to the manifest's folder
    downloads INTEGER NOT NULL DEFAULT 0,  -- completed image downloads recorded for this item
    UNIQUE (source, item_id)
);
CREATE INDEX IF NOT EXISTS items_by_crawl_status ON items (crawl, status, seq);
CREATE INDEX IF NOT EXISTS items_by_status ON items (status);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY,
    crawl TEXT NOT NULL,
    key TEXT NOT NULL,              -- e.g. "search" or "category:Abstract art"
    url TEXT,                       -- next page to fetch; NULL once the listing is done
    depth INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    UNIQUE (crawl, key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

ITEM_FIELDS = ("title", "artist", "date", "licence", "page_url", "image_url", "detail_url")


@dataclass(frozen=True)
class Row:
    """An item as stored; ``key`` ("source:item_id") names it in reasons and logs."""

    seq: int
    source: str
    item_id: str
    crawl: str
    title: str | None
    artist: str | None
    date: str | None
    licence: str | None
    page_url: str | None
    image_url: str | None
    detail_url: str | None
    status: str
    reason: str | None
    sha256: str | None
    phash: str | None
    colour: str | None
    width: int | None
    height: int | None
    bytes: int | None
    format: str | None
    path: str | None
    downloads: int

    @property
    def key(self) -> str:
        return f"{self.source}:{self.item_id}"


_ROW_COLUMNS = ", ".join(f.name for f in dataclasses.fields(Row))


@dataclass(frozen=True)
class Task:
    """A listing being walked: ``url`` is its next page (None when done)."""

    seq: int
    crawl: str
    key: str
    url: str | None
    depth: int
    pages: int
    error: str | None


@dataclass(frozen=True)
class Stored:
    """What a download turned out to be, as recorded."""

    status: str
    reason: str | None = None
    sha256: str | None = None
    phash: str | None = None
    colour: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    format: str | None = None
    path: str | None = None


class Manifest:
    """The SQLite manifest in ``folder`` (created when missing)."""

    def __init__(self, folder: Path, *, create: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        if not self.path.exists() and not create:
            raise GansmaniaError(f"{self.path}: no manifest here; run `gansmania scrape --out "
                                 f"{self.folder}` first")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db = connect(self.path)
        with self.db:
            self.db.executescript(_SCHEMA)
            version = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if version is None:
                self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(version[0]) != SCHEMA_VERSION:
                raise GansmaniaError(f"{self.path}: manifest schema {version[0]}, this gansmania "
                                     f"reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ listing tasks

    def add_tasks(self, crawl: str, tasks: Iterable[tuple[str, str, int]]) -> None:
        """Add listings (key, first url, depth); a key already known keeps its cursor."""
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO tasks (crawl, key, url, depth) VALUES (?, ?, ?, ?)",
                [(crawl, key, url, depth) for key, url, depth in tasks])

    def restart_tasks(self, crawl: str, first_urls: dict[str, str]) -> None:
        """Walk every listing of ``crawl`` again from its first page (``--refresh``)."""
        with self.db:
            self.db.execute("DELETE FROM tasks WHERE crawl = ? AND key NOT IN (%s)"
                            % ",".join("?" * len(first_urls)), (crawl, *first_urls))
            self.db.executemany("UPDATE tasks SET url = ?, error = NULL WHERE crawl = ? AND key = ?",
                                [(url, crawl, key) for key, url in first_urls.items()])

    def task(self, crawl: str, key: str) -> Task | None:
        row = self.db.execute("SELECT seq, crawl, key, url, depth, pages, error FROM tasks "
                              "WHERE crawl = ? AND key = ?", (crawl, key)).fetchone()
        return Task(*row) if row else None

    def next_task(self, crawl: str, *, after_seq: int) -> Task | None:
        """The first unfinished listing of ``crawl`` after ``after_seq`` (discovery order)."""
        row = self.db.execute(
            "SELECT seq, crawl, key, url, depth, pages, error FROM tasks "
            "WHERE crawl = ? AND url IS NOT NULL AND seq > ? ORDER BY seq LIMIT 1",
            (crawl, after_seq)).fetchone()
        return Task(*row) if row else None

    def task_failed(self, task: Task, error: str) -> None:
        """Remember why a listing page failed; the next run tries the same page again."""
        with self.db:
            self.db.execute("UPDATE tasks SET error = ? WHERE seq = ?", (error, task.seq))

    def commit_page(self, task: Task, *, items: Iterable[dict], next_url: str | None,
                    new_tasks: Iterable[tuple[str, str, int]] = ()) -> int:
        """Store one listing page at once: its items, its new listings and the cursor.

        ``items`` are dicts with ``source``, ``item_id``, ``status``, ``reason`` and ITEM_FIELDS.
        Returns how many items were new.
        """
        with self.db:
            before = self.db.total_changes
            self.db.executemany(
                "INSERT OR IGNORE INTO items (source, item_id, crawl, status, reason, "
                + ", ".join(ITEM_FIELDS) + ") VALUES (?, ?, ?, ?, ?, "
                + ", ".join("?" * len(ITEM_FIELDS)) + ")",
                [(i["source"], i["item_id"], task.crawl, i["status"], i.get("reason"),
                  *(i.get(f) for f in ITEM_FIELDS)) for i in items])
            added = self.db.total_changes - before
            self.db.executemany(
                "INSERT OR IGNORE INTO tasks (crawl, key, url, depth) VALUES (?, ?, ?, ?)",
                [(task.crawl, key, url, depth) for key, url, depth in new_tasks])
            self.db.execute("UPDATE tasks SET url = ?, pages = pages + 1, error = NULL "
                            "WHERE seq = ?", (next_url, task.seq))
        return added

    def listing_done(self, crawl: str) -> bool:
        return self.db.execute("SELECT 1 FROM tasks WHERE crawl = ? AND url IS NOT NULL LIMIT 1",
                               (crawl,)).fetchone() is None

    # ------------------------------------------------------------------ items

    def count_found(self, crawl: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM items WHERE crawl = ?", (crawl,)).fetchone()[0]

    def count_settled(self, crawl: str) -> int:
        """Items of ``crawl`` with a result (not pending)."""
        return self.db.execute("SELECT COUNT(*) FROM items WHERE crawl = ? AND status != "
                               "'pending'", (crawl,)).fetchone()[0]

    def known(self, source: str, item_ids: list[str]) -> set[str]:
        """Which of ``item_ids`` of ``source`` the manifest already holds."""
        found: set[str] = set()
        for start in range(0, len(item_ids), 500):  # SQLite caps the number of parameters
            chunk = item_ids[start:start + 500]
            found.update(r[0] for r in self.db.execute(
                f"SELECT item_id FROM items WHERE source = ? AND item_id IN "
                f"({','.join('?' * len(chunk))})", (source, *chunk)))
        return found

    def pending(self, crawl: str, *, after_seq: int, limit: int) -> list[Row]:
        """Up to ``limit`` pending items of ``crawl`` after ``after_seq``, in discovery order."""
        cursor = self.db.execute(
            f"SELECT {_ROW_COLUMNS} FROM items WHERE crawl = ? AND status = 'pending' AND seq > ? "
            "ORDER BY seq LIMIT ?", (crawl, after_seq, limit))
        return [Row(*r) for r in cursor]

    def get(self, source: str, item_id: str) -> Row | None:
        row = self.db.execute(f"SELECT {_ROW_COLUMNS} FROM items WHERE source = ? AND item_id = ?",
                              (source, item_id)).fetchone()
        return Row(*row) if row else None

    def get_seq(self, seq: int) -> Row | None:
        row = self.db.execute(f"SELECT {_ROW_COLUMNS} FROM items WHERE seq = ?", (seq,)).fetchone()
        return Row(*row) if row else None

    def update_details(self, seq: int, fields: dict) -> None:
        """Fill in what a detail page said (metadata, image URL)."""
        fields = {k: v for k, v in fields.items() if k in ITEM_FIELDS}
        if not fields:
            return
        with self.db:
            self.db.execute("UPDATE items SET " + ", ".join(f"{k} = ?" for k in fields)
                            + " WHERE seq = ?", (*fields.values(), seq))

    def settle(self, seq: int, stored: Stored, *, downloaded: bool = False) -> None:
        """Record an item's result; ``downloaded`` counts one completed image download."""
        values = dataclasses.asdict(stored)
        with self.db:
            self.db.execute("UPDATE items SET " + ", ".join(f"{k} = ?" for k in values)
                            + ", downloads = downloads + ? WHERE seq = ?",
                            (*values.values(), int(downloaded), seq))

    def rows(self, *, where: str = "1", params: tuple = (), order: str = "seq") -> Iterator[Row]:
        """Stream rows (a cursor, not a list: memory stays flat at any size)."""
        reader = connect(self.path)
        try:
            for r in reader.execute(f"SELECT {_ROW_COLUMNS} FROM items WHERE {where} ORDER BY "
                                    f"{order}", params):
                yield Row(*r)
        finally:
            reader.close()

    def counts(self, *, crawl: str | None = None) -> dict[str, int]:
        """Items per status (of one crawl, or all)."""
        where, params = ("WHERE crawl = ?", (crawl,)) if crawl else ("", ())
        return dict(self.db.execute(f"SELECT status, COUNT(*) FROM items {where} GROUP BY status",
                                    params).fetchall())

    def count_downloaded(self, *, crawl: str | None = None) -> int:
        where, params = ("AND crawl = ?", (crawl,)) if crawl else ("", ())
        return self.db.execute(f"SELECT COUNT(*) FROM items WHERE sha256 IS NOT NULL {where}",
                               params).fetchone()[0]

    def path_in_use(self, path: str) -> bool:
        """Whether a recorded item stores its bytes at ``path`` (content-addressed files)."""
        return self.db.execute("SELECT 1 FROM items WHERE path = ? LIMIT 1",
                               (path,)).fetchone() is not None


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0)
    # WAL: a commit survives the process being killed (the OS holds the log), readers never block
    # the writer, and NORMAL sync skips the fsync per commit that only power loss would need.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db
