"""`gansmania prepare`: the kept images of a scrape become a training set `gansmania train` reads.

Output (NVlabs' dataset_tool layout, so their tools read it too)::

    DATA/00000/img00000000.png ...   res x res RGB PNGs, 1000 per folder
    DATA/dataset.json                {"labels": null, "resolution": R, "count": N, ...}
    DATA/ATTRIBUTION.md              every source image: title, artist, date, licence, URLs, files
    DATA/config.toml                 the resolved PrepareSettings

Each kept image gives one centre square (``crop = "center"``), up to ``max_crops`` squares
spread along its long side (``"multi"``), or up to ``max_crops`` squares of random place and
size (``"scales"``: sides log-uniform from ``crop_min_fraction`` of the shorter side up to all of
it), so a few large wallpapers give thousands of distinct views, from whole compositions down to
details; all resized with Lanczos. ``augment = N`` adds N randomly
altered copies of every square (flip, rotation, colour jitter, crop). The randomness of an image
depends only on the seed and the image's name, so the same inputs give the same dataset whatever
the order or the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from scraping.manifest import Manifest, Row
from scraping.settings import PrepareSettings
from visualizer.core.config import write_resolved
from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

IMAGES_PER_FOLDER = 1000
# Below this aspect ratio a second square would overlap the first almost entirely.
_MULTI_CROP_MIN_ASPECT = 1.25


@dataclass(frozen=True)
class PrepareSummary:
    sources: int       # kept images used
    images: int        # PNGs written
    missing: int       # kept images whose file is gone
    unreadable: int    # kept images that no longer decode
    out: Path


@dataclass(frozen=True)
class _Job:
    """One source image's work, picklable for the process pool."""

    path: Path
    name: str          # "source:item_id", seeds the augmentation
    first_index: int   # the output index of its first PNG
    crops: int


def crop_count(width: int, height: int, settings: PrepareSettings) -> int:
    """How many squares one width x height image gives."""
    if settings.crop != "scales":
        return len(crop_boxes(width, height, mode=settings.crop, max_crops=settings.max_crops))
    # About two views per resolution-sized tile of the shorter side squared: a 2880 px
    # wallpaper gives many at 256 px, a 384 px render two, so small images are not repeated.
    tiles = min(width, height) / settings.resolution
    return max(1, min(settings.max_crops, math.floor(2 * tiles * tiles)))


def random_boxes(width: int, height: int, *, count: int, resolution: int, min_fraction: float,
                 rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """``count`` squares of random place and size (log-uniform side) inside width x height."""
    short = min(width, height)
    smallest = min(short, max(resolution, round(min_fraction * short)))
    boxes = []
    for _ in range(count):
        side = round(math.exp(rng.uniform(math.log(smallest), math.log(short))))
        left = int(rng.integers(0, width - side + 1))
        top = int(rng.integers(0, height - side + 1))
        boxes.append((left, top, left + side, top + side))
    return boxes


def crop_boxes(width: int, height: int, *, mode: str, max_crops: int) -> list[tuple[int, int, int, int]]:
    """Square boxes (left, top, right, bottom) of the "center" and "multi" modes."""
    side = min(width, height)
    long_side = max(width, height)
    count = 1
    if mode == "multi" and long_side / side >= _MULTI_CROP_MIN_ASPECT:
        count = min(max_crops, math.ceil(long_side / side))
    if count == 1:
        offsets = [(long_side - side) // 2]
    else:
        offsets = [round(i * (long_side - side) / (count - 1)) for i in range(count)]
    if width >= height:
        return [(o, 0, o + side, side) for o in offsets]
    return [(0, o, side, o + side) for o in offsets]


def augment(square: Image.Image, rng: np.random.Generator, settings: PrepareSettings) -> Image.Image:
    """One random variant of a square RGB image, at its own size (resized afterwards)."""
    side = square.width
    scale = rng.uniform(settings.crop_scale, 1.0)
    crop = max(8, round(side * scale))
    left, top = rng.integers(0, side - crop + 1, size=2)
    image = square.crop((int(left), int(top), int(left) + crop, int(top) + crop))
    if settings.rotation_deg > 0:
        angle = rng.uniform(-settings.rotation_deg, settings.rotation_deg)
        rotated = image.rotate(angle, resample=Image.BICUBIC)
        # The largest square inside a square turned by `angle` has side s / (|cos| + |sin|);
        # cropping to it leaves no empty corners.
        radians = math.radians(abs(angle))
        inner = crop / (math.cos(radians) + math.sin(radians))
        margin = (crop - inner) / 2
        image = rotated.crop((math.ceil(margin), math.ceil(margin), math.floor(crop - margin),
                              math.floor(crop - margin)))
    if settings.flip and rng.random() < 0.5:
        image = ImageOps.mirror(image)
    if settings.jitter > 0:
        for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
            image = enhancer(image).enhance(rng.uniform(1 - settings.jitter, 1 + settings.jitter))
    if settings.hue_deg > 0:
        image = shift_hue(image, rng.uniform(-settings.hue_deg, settings.hue_deg))
    return image


def shift_hue(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate the hue of an RGB image by ``degrees``."""
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + round(degrees / 360 * 256)) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def _rng_for(name: str, seed: int, crop: int, copy: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\0{name}\0{crop}\0{copy}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def output_path(out: Path, index: int) -> Path:
    return out / f"{index // IMAGES_PER_FOLDER:05d}" / f"img{index:08d}.png"


def _load_rgb(path: Path, *, least_side: int) -> Image.Image:
    with Image.open(path) as image:
        # JPEGs decode at a reduced scale when that still leaves at least twice the target size.
        image.draft("RGB", (least_side, least_side))
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA", "P"):
            image = image.convert("RGBA")
            # Transparent areas become black, as in `gansmania train`'s loader.
            background = Image.new("RGBA", image.size, (0, 0, 0, 255))
            image = Image.alpha_composite(background, image)
        return image.convert("RGB")


def _make_images(job: _Job, out: Path, settings: PrepareSettings) -> int:
    """Write every PNG of one source image; returns how many (0 when it does not decode)."""
    resolution = settings.resolution
    try:
        image = _load_rgb(job.path, least_side=2 * resolution)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        log.warning("%s (%s): cannot decode (%s); skipped", job.path, job.name, exc)
        return 0
    index = job.first_index
    if settings.crop == "scales":
        boxes = random_boxes(image.width, image.height, count=job.crops, resolution=resolution,
                             min_fraction=settings.crop_min_fraction,
                             rng=_rng_for(job.name, settings.seed, -1, -1))
    else:
        boxes = crop_boxes(image.width, image.height, mode=settings.crop,
                           max_crops=settings.max_crops)[:job.crops]
    for crop_number, box in enumerate(boxes):
        square = image.crop(box)
        variants = [square] + [augment(square, _rng_for(job.name, settings.seed, crop_number, k),
                                       settings) for k in range(settings.augment)]
        for variant in variants:
            if variant.size != (resolution, resolution):
                variant = variant.resize((resolution, resolution), Image.LANCZOS,
                                         reducing_gap=3.0)
            path = output_path(out, index)
            path.parent.mkdir(parents=True, exist_ok=True)
            variant.save(path, format="PNG", compress_level=6)
            index += 1
    return index - job.first_index


def prepare_dataset(raw: Path, out: Path, settings: PrepareSettings, *, overwrite: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> PrepareSummary:
    """Turn the kept images of the scrape in ``raw`` into the training set ``out``.

    ``progress(done, total)`` is called as source images are finished. Memory stays flat: rows
    stream from the manifest and at most a few jobs per worker are in flight.
    """
    raw, out = Path(raw), Path(out)
    manifest = Manifest(raw, create=False)
    try:
        total = manifest.counts().get("kept", 0)
        if total == 0:
            raise GansmaniaError(f"{raw}: the manifest has no kept images (see `gansmania scrape` "
                                 "and its summary)")
        _clear_output(out, overwrite=overwrite)
        workers = settings.workers or os.cpu_count() or 1
        per_image = 1 + settings.augment
        written = missing = unreadable = sources = 0
        with open(out / "ATTRIBUTION.md", "w", encoding="utf-8") as attribution:
            attribution.write(_ATTRIBUTION_HEAD.format(raw=raw.name))
            jobs = _jobs(manifest.rows(where="status = 'kept'", order="source, item_id"), raw,
                         settings)
            for done, (row, job, made) in enumerate(_run(jobs, out, settings, workers), start=1):
                if job is None:
                    missing += 1
                elif made == 0:
                    unreadable += 1
                else:
                    # Jobs reserve their indices up front; a gap is left where an image failed.
                    sources += 1
                    written += made
                    attribution.write(_attribution_row(row, out, job.first_index, made))
                if progress:
                    progress(done, total)
    finally:
        manifest.close()
    count = written
    meta = {"labels": None, "resolution": settings.resolution, "count": count,
            "source": "gansmania prepare", "source_images": sources,
            "per_source_image": f"{settings.crop} crop x {per_image}",
            "attribution": "ATTRIBUTION.md"}
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    write_resolved(settings, out)
    log.info("prepared %d images (%dx%d) from %d source images into %s", count,
             settings.resolution, settings.resolution, sources, out)
    return PrepareSummary(sources=sources, images=count, missing=missing, unreadable=unreadable,
                          out=out)


def _jobs(rows: Iterator[Row], raw: Path, settings: PrepareSettings) -> Iterator[tuple[Row, _Job | None]]:
    index = 0
    for row in rows:
        path = raw / row.path if row.path else None
        if path is None or not path.exists():
            log.warning("%s: %s is missing; skipped", row.key, path)
            yield row, None
            continue
        crops = crop_count(row.width, row.height, settings)
        yield row, _Job(path=path, name=row.key, first_index=index, crops=crops)
        index += crops * (1 + settings.augment)


def _run(jobs: Iterator[tuple[Row, _Job | None]], out: Path, settings: PrepareSettings,
         workers: int) -> Iterator[tuple[Row, _Job | None, int]]:
    """Run jobs on ``workers`` processes, a bounded window at a time, yielding in order."""
    if workers <= 1:
        for row, job in jobs:
            yield row, job, _make_images(job, out, settings) if job else 0
        return
    window: deque[tuple[Row, _Job | None, Future | None]] = deque()
    with ProcessPoolExecutor(workers) as pool:
        for row, job in jobs:
            window.append((row, job, pool.submit(_make_images, job, out, settings) if job else None))
            while len(window) > 4 * workers:
                yield _finish(window.popleft())
        while window:
            yield _finish(window.popleft())


def _finish(entry: tuple[Row, _Job | None, Future | None]) -> tuple[Row, _Job | None, int]:
    row, job, future = entry
    return row, job, future.result() if future else 0


def _clear_output(out: Path, *, overwrite: bool) -> None:
    """Make ``out`` ready; an earlier dataset there is replaced only with ``overwrite``."""
    if (out / "dataset.json").exists() or any(out.glob("[0-9][0-9][0-9][0-9][0-9]")):
        if not overwrite:
            raise GansmaniaError(f"{out}: already holds a dataset; pass --overwrite to replace it")
        # Only what prepare writes is removed; anything else the user put there stays.
        for folder in out.glob("[0-9][0-9][0-9][0-9][0-9]"):
            if folder.is_dir():
                shutil.rmtree(folder)
        for name in ("dataset.json", "ATTRIBUTION.md", "config.toml"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


_ATTRIBUTION_HEAD = """# Attribution

Every image in this dataset was cut from one of the works below, downloaded by
`gansmania scrape` (manifest: `{raw}/manifest.sqlite`). Each row names the work, its artist,
its licence as the source states it, where it was found, and which files of this dataset come
from it.

| title | artist | date | licence | source | page | image | files |
|---|---|---|---|---|---|---|---|
"""


def _cell(value: str | None) -> str:
    """Text safe inside a Markdown table cell."""
    if not value:
        return ""
    return re.sub(r"\s+", " ", value).replace("\\", "\\\\").replace("|", "\\|")


def _attribution_row(row: Row, out: Path, first: int, count: int) -> str:
    first_file = output_path(out, first).relative_to(out).as_posix()
    last_file = output_path(out, first + count - 1).relative_to(out).as_posix()
    files = first_file if count == 1 else f"{first_file} … {last_file}"
    return (f"| {_cell(row.title)} | {_cell(row.artist)} | {_cell(row.date)} | "
            f"{_cell(row.licence)} | {_cell(row.key)} | {_cell(row.page_url)} | "
            f"{_cell(row.image_url)} | {files} |\n")
