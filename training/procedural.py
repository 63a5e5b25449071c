"""A procedural source of abstract images: generative-art families (domain-warped noise, flow
fields, marbling, stained glass, hard-edge colour fields, circle packing, Truchet tiles, CPPNs,
fractal flames), sometimes two of them composited through a shape with a blend mode.

It stands in for scraped art while none exists (tests, the first bundled model) and adds variety
beside it. Every image is a pure function of ``(seed, index, resolution)`` and, where given, the
palette set (``--palettes``: colours measured from real art), so a dataset can be regenerated
bit for bit, in any order and in parallel. Images are painted at SUPERSAMPLE times the target
size and downsampled (anti-aliasing). The families live in ``procedural_families``, the palettes
in ``procedural_palettes``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from training.procedural_families import FAMILIES, Canvas, coords, smoothstep, value_noise
from training.procedural_palettes import HARMONIES, MOODS, PaletteSet, random_palette, save_palettes

log = logging.getLogger(__name__)

RECIPE_VERSION = 2  # bump when the painting changes, so dataset.json says which images these are
IMAGES_PER_FOLDER = 1000  # NVlabs' dataset_tool layout: 00000/img00000000.png ...
SUPERSAMPLE = 2
OVERLAY_CHANCE = 0.4  # share of images that composite a second family over the first
PALETTE_FILE = "palettes.json"  # written beside the images when real-art palettes are used


# ---------------------------------------------------------------------------- compositing

# Blend modes of the second layer over the first, both float32 (H, W, 3) in [0, 1].
BLENDS: dict[str, Callable[[Canvas, Canvas], Canvas]] = {
    "normal": lambda base, top: top,
    "multiply": lambda base, top: base * top,
    "screen": lambda base, top: 1 - (1 - base) * (1 - top),
    "overlay": lambda base, top: np.where(base < 0.5, 2 * base * top, 1 - 2 * (1 - base) * (1 - top)),
    "difference": lambda base, top: np.abs(base - top),
    "lighten": np.maximum,
    "darken": np.minimum,
}


def _shape(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    """Signed distance-like field of a large shape (> 0 inside), in picture units ([-1, 1] wide)."""
    angle = rng.uniform(0, 2 * np.pi)
    across = x * np.cos(angle) + y * np.sin(angle)
    if kind == "full":
        return np.ones_like(x)
    if kind == "disc":
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        return rng.uniform(0.3, 0.75) - np.hypot(x - cx, y - cy)
    if kind == "half":
        return across - rng.uniform(-0.5, 0.5)
    if kind == "band":
        return rng.uniform(0.1, 0.35) - np.abs(across - rng.uniform(-0.5, 0.5))
    if kind == "frame":  # a picture within the picture
        return rng.uniform(0.4, 0.8) - np.maximum(np.abs(x), np.abs(y))
    if kind == "blob":
        noise = value_noise(rng, x.shape[0], octaves=2, base_cells=int(rng.integers(2, 4)))
        return (noise - rng.uniform(0.35, 0.65)) * 0.5
    raise ValueError(kind)


MASKS = ("full", "disc", "half", "band", "frame", "blob")


def composite(rng: np.random.Generator, base: Canvas, top: Canvas) -> Canvas:
    """``top`` over ``base`` through a random blend mode, inside a random large shape with a crisp
    edge: the shape gives the picture a composition, the blend a third set of colours."""
    size = base.shape[0]
    x, y = coords(size)
    kind = MASKS[rng.integers(len(MASKS))]
    # Over the whole picture a layer is translucent (else the first is lost); in a shape, opaque.
    opacity = rng.uniform(0.35, 0.7) if kind == "full" else rng.uniform(0.85, 1.0)
    edge = 1.5 / size  # anti-aliased over about a canvas pixel and a half
    alpha = (smoothstep(-edge, edge, _shape(rng, x, y, kind)) * opacity)[..., None]
    blended = BLENDS[list(BLENDS)[rng.integers(len(BLENDS))]](base, top)
    return np.clip(base * (1 - alpha) + blended * alpha, 0, 1).astype(np.float32)


# ---------------------------------------------------------------------------------- images

def paint(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """One picture at ``size`` px, float32 (size, size, 3): a family, sometimes a second over it."""
    names = list(FAMILIES)
    first = names[rng.integers(len(names))]
    canvas = FAMILIES[first](rng, size, palette)
    if rng.random() >= OVERLAY_CHANCE:
        return canvas
    second = [n for n in names if n != first][rng.integers(len(names) - 1)]
    return composite(rng, canvas, FAMILIES[second](rng, size, palette))


def render(*, seed: int, index: int, resolution: int,
           palettes: PaletteSet | None = None) -> np.ndarray:
    """The abstract image number ``index`` of dataset ``seed``: uint8 (resolution, resolution, 3).

    With ``palettes`` the image takes one of them (drawn per image) instead of a generated one.
    """
    rng = np.random.default_rng([seed, index])
    if palettes is None:
        palette = random_palette(rng)
    else:
        palette = palettes.palettes[rng.integers(len(palettes.palettes))]
    canvas = paint(rng, resolution * SUPERSAMPLE, palette)
    image = Image.fromarray(np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8))
    return np.asarray(image.resize((resolution, resolution), Image.LANCZOS))


def image_path(out: Path, index: int) -> Path:
    return out / f"{index // IMAGES_PER_FOLDER:05d}" / f"img{index:08d}.png"


def _write_range(out: Path, seed: int, resolution: int, palettes: PaletteSet | None,
                 start: int, stop: int) -> None:
    for index in range(start, stop):
        path = image_path(out, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        image = render(seed=seed, index=index, resolution=resolution, palettes=palettes)
        Image.fromarray(image).save(path, compress_level=6)


def write_dataset(out: Path, *, count: int, resolution: int, seed: int = 0, workers: int = 1,
                  palettes: PaletteSet | None = None,
                  progress: Callable[[int], None] | None = None) -> Path:
    """Write ``count`` images as a dataset folder (PNGs + dataset.json + ATTRIBUTION.md).

    The layout is the one `gansmania prepare` and NVlabs' dataset_tool write, so `gansmania
    train OUT` reads it. With ``palettes`` each image takes one of them, and they are saved as
    OUT/palettes.json, so the folder says how to paint it again. ``progress`` is called with the
    number of images done so far.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chunk = 100
    ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    done = 0
    if workers <= 1:
        for start, stop in ranges:
            _write_range(out, seed, resolution, palettes, start, stop)
            done += stop - start
            if progress:
                progress(done)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_write_range, out, seed, resolution, palettes, a, b)
                       for a, b in ranges]
            for (start, stop), future in zip(ranges, futures):
                future.result()
                done += stop - start
                if progress:
                    progress(done)
    recipe = {"generator": "training.procedural", "recipe_version": RECIPE_VERSION, "seed": seed,
              "families": list(FAMILIES), "overlay_chance": OVERLAY_CHANCE,
              "blends": list(BLENDS), "masks": list(MASKS)}
    command = f"gansmania synth-dataset --count {count} --res {resolution} --seed {seed}"
    palette_note = ""
    if palettes is None:
        recipe["palettes"] = {"generated": {"harmonies": list(HARMONIES), "moods": list(MOODS)}}
    else:
        save_palettes(palettes, out / PALETTE_FILE)
        recipe["palettes"] = {"file": PALETTE_FILE, "count": len(palettes.palettes),
                              "source": palettes.source, "sha256": palettes.digest()}
        command += f" --palettes DATASET/{PALETTE_FILE}"
        palette_note = (f" The colours were drawn from {len(palettes.palettes)} palettes measured "
                        f"from the images in `{palettes.source}` ({PALETTE_FILE}: hex colours "
                        "only, no image content).")
    meta = {"labels": None, "resolution": resolution, "count": count, "source": "procedural",
            "recipe": recipe}
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / "ATTRIBUTION.md").write_text(
        "# Attribution\n\nEvery image here was painted by GANsmania's procedural source "
        f"(`{command}`, recipe version {RECIPE_VERSION}). It holds no third-party work; no "
        f"attribution is needed.{palette_note}\n", encoding="utf-8")
    log.info("wrote %d procedural images (%dx%d, seed %d) to %s", count, resolution, resolution,
             seed, out)
    return out
