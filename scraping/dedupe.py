"""Exact and near duplicates, decided over the whole manifest so the answer is order-free.

A crawl finishes its downloads in whatever order the network allows, and a killed crawl resumes in
yet another; deciding "first one wins" while downloading would make two runs disagree. Instead
every accepted image is ranked — larger pictures first (better training data), then byte size,
then the item's name — and walked once: an image whose bytes equal the one before it is a
duplicate of it, an image close to an already kept one (perceptual hash within
``near_bits`` of 64, mean colour within ``colour_tolerance``) is a near duplicate of that one,
anything else is kept. The same set of images gives the same decision in any order.

Memory: the walk streams rows; only the kept hashes are held (19 bytes per kept image).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from scraping.manifest import ACCEPTED, Manifest, connect

log = logging.getLogger(__name__)

_BATCH = 2000


@dataclass(frozen=True)
class DedupeResult:
    kept: int
    duplicate: int
    near_duplicate: int
    changed: int


class _KeptHashes:
    """The kept images' perceptual hashes, colours and seqs, in rank order.

    The search compares a hash with every kept one (vectorised); measured at 30k-100k images it
    beat a multi-index (byte-bucket) search, whose gathering costs more than it saves here.
    """

    def __init__(self) -> None:
        self.hashes = np.zeros(1024, dtype=np.uint64)
        self.colours = np.zeros((1024, 3), dtype=np.int16)
        self.seqs = np.zeros(1024, dtype=np.int64)
        self.size = 0

    def add(self, phash: int, colour: np.ndarray, seq: int) -> None:
        if self.size == len(self.hashes):
            self.hashes = np.concatenate([self.hashes, np.zeros_like(self.hashes)])
            self.colours = np.concatenate([self.colours, np.zeros_like(self.colours)])
            self.seqs = np.concatenate([self.seqs, np.zeros_like(self.seqs)])
        self.hashes[self.size], self.colours[self.size], self.seqs[self.size] = phash, colour, seq
        self.size += 1

    def closest(self, phash: int, colour: np.ndarray, *, near_bits: int,
                colour_tolerance: int) -> tuple[int, int] | None:
        """(seq, distance) of the best-ranked kept image that is near, or None."""
        if self.size == 0:
            return None
        distance = _popcount(self.hashes[:self.size] ^ np.uint64(phash))
        hits = np.flatnonzero(distance <= near_bits)
        if len(hits):  # the colour check only for the few hash matches
            close = np.abs(self.colours[hits] - colour).max(axis=1)
            hits = hits[close <= colour_tolerance]
        if len(hits) == 0:
            return None
        return int(self.seqs[hits[0]]), int(distance[hits[0]])


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(values)
    return np.unpackbits(values.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def decide_duplicates(manifest: Manifest, *, near_bits: int, colour_tolerance: int) -> DedupeResult:
    """Set every accepted item to kept, duplicate or near_duplicate (see the module doc)."""
    reader = connect(manifest.path)  # a snapshot to walk while the writer updates in batches
    kept = _KeptHashes()
    counts = {"kept": 0, "duplicate": 0, "near_duplicate": 0}
    changes: list[tuple[str, str | None, int]] = []
    changed = 0
    previous: tuple[str, int] | None = None  # (sha256, seq) of the row before
    marks = ",".join("?" * len(ACCEPTED))
    try:
        rows = reader.execute(
            f"SELECT seq, status, reason, sha256, phash, colour FROM items WHERE status IN "
            f"({marks}) ORDER BY width * height DESC, bytes DESC, sha256, source, item_id",
            ACCEPTED)
        for seq, status, reason, sha256, phash_hex, colour_hex in rows:
            if previous and previous[0] == sha256:
                decision = ("duplicate", f"same bytes as {_key(manifest, previous[1])}")
            else:
                previous = (sha256, seq)
                phash = int(phash_hex, 16)
                colour = np.frombuffer(bytes.fromhex(colour_hex), dtype=np.uint8).astype(np.int16)
                near = kept.closest(phash, colour, near_bits=near_bits,
                                    colour_tolerance=colour_tolerance)
                if near is None:
                    kept.add(phash, colour, seq)
                    decision = ("kept", None)
                else:
                    decision = ("near_duplicate", f"perceptual hash {near[1]} bits from "
                                                  f"{_key(manifest, near[0])}")
                    previous = None  # an exact copy of this one is a near duplicate too
            counts[decision[0]] += 1
            if decision != (status, reason):
                changes.append((*decision, seq))
            if len(changes) >= _BATCH:
                changed += _write(manifest, changes)
        changed += _write(manifest, changes)
    finally:
        reader.close()
    log.info("dedupe: %d kept, %d duplicates, %d near duplicates (%d changed)", counts["kept"],
             counts["duplicate"], counts["near_duplicate"], changed)
    return DedupeResult(**counts, changed=changed)


def _key(manifest: Manifest, seq: int) -> str:
    row = manifest.db.execute("SELECT source, item_id FROM items WHERE seq = ?", (seq,)).fetchone()
    return f"{row[0]}:{row[1]}"


def _write(manifest: Manifest, changes: list[tuple[str, str | None, int]]) -> int:
    with manifest.db:
        manifest.db.executemany("UPDATE items SET status = ?, reason = ? WHERE seq = ?", changes)
    count = len(changes)
    changes.clear()
    return count
