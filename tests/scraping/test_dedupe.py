"""Duplicates are decided over the whole set: the same images give the same decision in any
order; near duplicates need a close perceptual hash and a close mean colour."""

from __future__ import annotations

import hashlib
import random

import numpy as np
from PIL import Image

from bench.rigs.localsite import artwork, jpeg_bytes, png_bytes
from scraping.dedupe import decide_duplicates
from scraping.images import ImageFacts, Rejection, inspect_image
from scraping.manifest import Manifest


def _gradient(tint: tuple[float, float, float], side: int = 64) -> Image.Image:
    ramp = np.linspace(0, 255, side)[None, :, None] * np.ones((side, side, 3)) * np.array(tint)
    return Image.fromarray(ramp.astype(np.uint8))


def _images() -> dict[str, bytes]:
    return {
        "a": png_bytes(artwork(1, size=(96, 96))),
        "a-copy": png_bytes(artwork(1, size=(96, 96))),          # same bytes as a
        "a-small": jpeg_bytes(artwork(1, size=(64, 64)), 85),    # near a, smaller
        "b": png_bytes(artwork(2)),
        "red": png_bytes(_gradient((1.0, 0.2, 0.2))),
        "blue": png_bytes(_gradient((0.2, 0.2, 1.0))),           # same hash as red, other colour
        "red-dim": jpeg_bytes(_gradient((0.95, 0.19, 0.19), 48), 90),  # near red, smaller
    }


def _manifest(folder, names: list[str], images: dict[str, bytes]) -> Manifest:
    manifest = Manifest(folder)
    for name in names:
        path = folder / f"{name}.img"
        path.write_bytes(images[name])
        facts = inspect_image(path, min_size_px=8)
        assert isinstance(facts, ImageFacts)
        with manifest.db:
            manifest.db.execute(
                "INSERT INTO items (source, item_id, crawl, status, sha256, phash, colour, width, "
                "height, bytes, format, path) VALUES ('t', ?, 'c', 'downloaded', ?, ?, ?, ?, ?, "
                "?, ?, ?)",
                (name, hashlib.sha256(images[name]).hexdigest(), facts.phash, facts.colour,
                 facts.width, facts.height, len(images[name]), facts.format, path.name))
    return manifest


def _decisions(manifest: Manifest) -> dict[str, tuple[str, str | None]]:
    return {r.item_id: (r.status, r.reason) for r in manifest.rows()}


def test_decisions_do_not_depend_on_the_order_images_arrived(tmp_path):
    images = _images()
    names = list(images)
    results = []
    for attempt in range(3):
        order = names[:]
        random.Random(attempt).shuffle(order)
        folder = tmp_path / str(attempt)
        with _manifest(folder, order, images) as manifest:
            decide_duplicates(manifest, near_bits=6, colour_tolerance=24)
            results.append(_decisions(manifest))
    assert results[0] == results[1] == results[2]
    decided = results[0]
    assert decided["a"] == ("kept", None)
    assert decided["a-copy"] == ("duplicate", "same bytes as t:a")
    assert decided["a-small"][0] == "near_duplicate" and decided["a-small"][1].endswith("t:a")
    assert decided["b"] == ("kept", None)
    assert decided["red"] == ("kept", None) and decided["blue"] == ("kept", None)
    assert decided["red-dim"][0] == "near_duplicate" and decided["red-dim"][1].endswith("t:red")


def test_a_rerun_of_the_decision_changes_nothing(tmp_path):
    images = _images()
    with _manifest(tmp_path, list(images), images) as manifest:
        first = decide_duplicates(manifest, near_bits=6, colour_tolerance=24)
        second = decide_duplicates(manifest, near_bits=6, colour_tolerance=24)
    assert first.changed == len(images) and second.changed == 0
    assert (second.kept, second.duplicate, second.near_duplicate) == (4, 1, 2)


def test_near_duplicates_off_keeps_every_distinct_file(tmp_path):
    images = _images()
    with _manifest(tmp_path, list(images), images) as manifest:
        result = decide_duplicates(manifest, near_bits=0, colour_tolerance=0)
    # Only the exact copy goes; the re-encoded and dimmed versions differ in hash or colour.
    assert result.duplicate == 1 and result.kept + result.near_duplicate == 6


def test_inspect_image_rejects_what_is_not_a_usable_image(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"<html>not an image</html>")
    assert inspect_image(path, min_size_px=8, content_type="text/html") == \
        Rejection("not_image", "not an image (served as text/html)")
    whole = png_bytes(artwork(3))
    path.write_bytes(whole[:len(whole) // 2])
    assert inspect_image(path, min_size_px=8).status == "corrupt"
    path.write_bytes(png_bytes(artwork(3, size=(20, 40))))
    small = inspect_image(path, min_size_px=32)
    assert small.status == "too_small" and "20x40" in small.reason

