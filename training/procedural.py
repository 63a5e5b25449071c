"""A procedural source of abstract images: colour fields, gradients, circles, lines, blots,
brush-like strokes and noise textures in many palettes.

It stands in for scraped art while none exists (tests, the first bundled model). Every image is a
pure function of ``(seed, index)``, so a dataset can be regenerated bit for bit, in any order and
in parallel. Images are painted at twice the target size and downsampled (anti-aliasing).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

log = logging.getLogger(__name__)

RECIPE_VERSION = 1  # bump when the painting changes, so dataset.json says which images these are
IMAGES_PER_FOLDER = 1000  # NVlabs' dataset_tool layout: 00000/img00000000.png ...
SUPERSAMPLE = 2

Canvas = np.ndarray  # float32 (H, W, 3) in [0, 1]


# ------------------------------------------------------------------------------- palettes

# Hue offsets (in turns) of each colour-harmony scheme, relative to a random base hue.
HARMONIES: dict[str, tuple[float, ...]] = {
    "monochrome": (0.0,),
    "analogous": (-1 / 12, 0.0, 1 / 12),
    "complementary": (0.0, 0.5),
    "split": (0.0, 5 / 12, 7 / 12),
    "triadic": (0.0, 1 / 3, 2 / 3),
    "tetradic": (0.0, 1 / 6, 0.5, 2 / 3),
}
# (saturation range, value range) of each mood.
MOODS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "vivid": ((0.7, 1.0), (0.7, 1.0)),
    "pastel": ((0.15, 0.45), (0.85, 1.0)),
    "dark": ((0.4, 0.9), (0.1, 0.45)),
    "neon": ((0.9, 1.0), (0.9, 1.0)),
    "earth": ((0.3, 0.7), (0.3, 0.75)),
    "muted": ((0.1, 0.35), (0.35, 0.8)),
    "contrast": ((0.0, 1.0), (0.0, 1.0)),
}


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """(..., 3) HSV in [0, 1] (hue in turns) -> (..., 3) RGB in [0, 1]."""
    h, s, v = (hsv[..., i] for i in range(3))
    k = (np.array([5.0, 3.0, 1.0]) + h[..., None] * 6.0) % 6.0
    return v[..., None] - v[..., None] * s[..., None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def random_palette(rng: np.random.Generator) -> np.ndarray:
    """4..7 colours (K, 3) RGB in [0, 1] from a random harmony and mood, plus a neutral or two."""
    harmony = HARMONIES[rng.choice(list(HARMONIES))]
    (s_lo, s_hi), (v_lo, v_hi) = MOODS[rng.choice(list(MOODS))]
    base = rng.random()
    count = int(rng.integers(4, 8))
    hues = base + np.array(harmony)[rng.integers(0, len(harmony), count)] + rng.normal(0, 0.02, count)
    hsv = np.stack([hues % 1.0, rng.uniform(s_lo, s_hi, count), rng.uniform(v_lo, v_hi, count)], -1)
    colours = hsv_to_rgb(hsv)
    if rng.random() < 0.5:  # paintings usually hold a near-black or near-white too
        colours[rng.integers(count)] = rng.choice([0.05, 0.95]) + rng.normal(0, 0.03, 3)
    return np.clip(colours, 0.0, 1.0).astype(np.float32)


def _pick(rng: np.random.Generator, palette: np.ndarray) -> np.ndarray:
    return palette[rng.integers(len(palette))]


# ---------------------------------------------------------------------------- backgrounds

def _coords(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1], each (size, size)."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    return np.meshgrid(axis, axis)


def _gradient_map(t: np.ndarray, palette: np.ndarray, rng: np.random.Generator) -> Canvas:
    """Map a scalar field ``t`` (H, W) in [0, 1] through 2..4 palette colours."""
    stops = palette[rng.choice(len(palette), size=int(rng.integers(2, 5)))]
    positions = np.linspace(0.0, 1.0, len(stops))
    return np.stack([np.interp(t, positions, stops[:, c]) for c in range(3)], -1).astype(np.float32)


def value_noise(rng: np.random.Generator, size: int, *, octaves: int, base_cells: int) -> np.ndarray:
    """Fractal value noise (H, W) in [0, 1]: bicubic-upsampled random grids, halving amplitude."""
    total = np.zeros((size, size), np.float32)
    amplitude, weight = 1.0, 0.0
    for octave in range(octaves):
        cells = base_cells * 2 ** octave
        grid = Image.fromarray(rng.random((cells, cells), dtype=np.float32), mode="F")
        total += amplitude * np.asarray(grid.resize((size, size), Image.BICUBIC), np.float32)
        weight += amplitude
        amplitude *= 0.5
    total /= weight
    lo, hi = np.percentile(total, [1, 99])
    return np.clip((total - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def flat_field(rng, size, palette) -> Canvas:
    return np.broadcast_to(_pick(rng, palette), (size, size, 3)).copy()


def linear_gradient(rng, size, palette) -> Canvas:
    x, y = _coords(size)
    angle = rng.uniform(0, 2 * np.pi)
    t = (x * np.cos(angle) + y * np.sin(angle)) / np.sqrt(2) * 0.5 + 0.5
    return _gradient_map(np.clip(t, 0, 1), palette, rng)


def radial_gradient(rng, size, palette) -> Canvas:
    x, y = _coords(size)
    cx, cy = rng.uniform(-0.7, 0.7, 2)
    t = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / rng.uniform(0.8, 2.0)
    return _gradient_map(np.clip(t, 0, 1), palette, rng)


def colour_fields(rng, size, palette) -> Canvas:
    """Stacked soft-edged rectangles of colour (colour-field painting)."""
    canvas = flat_field(rng, size, palette)
    x, y = _coords(size)
    vertical = rng.random() < 0.7
    along, across = (y, x) if vertical else (x, y)
    edges = np.sort(rng.uniform(-0.9, 0.9, int(rng.integers(2, 5)) * 2)).reshape(-1, 2)
    margin = rng.uniform(0.05, 0.25)
    softness = rng.uniform(0.01, 0.06)
    for lo, hi in edges:
        inside = (_soft_step(along - lo, softness) * _soft_step(hi - along, softness)
                  * _soft_step(across + 1 - margin, softness) * _soft_step(1 - margin - across, softness))
        canvas = _blend(canvas, _pick(rng, palette), inside * rng.uniform(0.7, 1.0))
    return canvas


def noise_texture(rng, size, palette) -> Canvas:
    noise = value_noise(rng, size, octaves=int(rng.integers(2, 6)), base_cells=int(rng.integers(2, 8)))
    if rng.random() < 0.3:  # marbled: fold the noise through a sine
        noise = 0.5 + 0.5 * np.sin(noise * rng.uniform(6, 20))
    return _gradient_map(noise, palette, rng)


BACKGROUNDS: dict[str, Callable[..., Canvas]] = {
    "flat": flat_field,
    "linear_gradient": linear_gradient,
    "radial_gradient": radial_gradient,
    "colour_fields": colour_fields,
    "noise_texture": noise_texture,
}


# --------------------------------------------------------------------------------- layers

def _soft_step(distance: np.ndarray, softness: float) -> np.ndarray:
    return np.clip(distance / softness + 0.5, 0.0, 1.0)


def _blend(canvas: Canvas, colour: np.ndarray, alpha: np.ndarray) -> Canvas:
    """Paint ``colour`` (3,) over ``canvas`` with per-pixel opacity ``alpha`` (H, W)."""
    a = alpha[..., None].astype(np.float32)
    return canvas * (1 - a) + colour * a


def _mask(size: int, draw: Callable[[ImageDraw.ImageDraw], None], blur_px: float = 0.0) -> np.ndarray:
    image = Image.new("L", (size, size), 0)
    draw(ImageDraw.Draw(image))
    if blur_px > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur_px))
    return np.asarray(image, np.float32) / 255.0


def circles(rng, canvas, palette) -> Canvas:
    size = canvas.shape[0]
    for _ in range(int(rng.integers(1, 8))):
        cx, cy = rng.uniform(0, size, 2)
        r = size * rng.uniform(0.03, 0.35)
        ring = rng.random() < 0.35
        width = max(1, int(r * rng.uniform(0.05, 0.3)))
        box = (cx - r, cy - r, cx + r, cy + r)
        mask = _mask(size, lambda d: d.ellipse(box, fill=None if ring else 255,
                                               outline=255 if ring else None, width=width),
                     blur_px=size * rng.uniform(0, 0.01))
        canvas = _blend(canvas, _pick(rng, palette), mask * rng.uniform(0.5, 1.0))
    return canvas


def lines(rng, canvas, palette) -> Canvas:
    size = canvas.shape[0]
    parallel = rng.random() < 0.4
    angle = rng.uniform(0, np.pi)
    for index in range(int(rng.integers(1, 12))):
        if not parallel:
            angle = rng.uniform(0, np.pi)
        cx, cy = rng.uniform(0, size, 2)
        half = size * rng.uniform(0.2, 1.0)
        dx, dy = np.cos(angle) * half, np.sin(angle) * half
        width = max(1, int(size * rng.uniform(0.003, 0.04)))
        mask = _mask(size, lambda d: d.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=255,
                                            width=width))
        canvas = _blend(canvas, _pick(rng, palette), mask * rng.uniform(0.6, 1.0))
    return canvas


def blots(rng, canvas, palette) -> Canvas:
    """Irregular soft-edged shapes: a circle whose radius wobbles with a few low harmonics."""
    size = canvas.shape[0]
    theta = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    for _ in range(int(rng.integers(1, 6))):
        harmonics = np.arange(2, 8)
        wobble = (rng.uniform(0, 0.25, len(harmonics)) / harmonics
                  * np.cos(np.outer(theta, harmonics) + rng.uniform(0, 2 * np.pi, len(harmonics))))
        radius = size * rng.uniform(0.05, 0.3) * (1 + wobble.sum(1))
        cx, cy = rng.uniform(0.1, 0.9, 2) * size
        points = list(zip(cx + radius * np.cos(theta), cy + radius * np.sin(theta)))
        mask = _mask(size, lambda d: d.polygon(points, fill=255), blur_px=size * rng.uniform(0.002, 0.03))
        canvas = _blend(canvas, _pick(rng, palette), mask * rng.uniform(0.5, 1.0))
    return canvas


def brush_strokes(rng, canvas, palette) -> Canvas:
    """Strokes along smooth random paths, drawn as bristles (thin parallel offset lines)."""
    size = canvas.shape[0]
    for _ in range(int(rng.integers(1, 7))):
        steps = int(rng.integers(12, 40))
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.12, steps))
        step = size * rng.uniform(0.01, 0.04)
        path = rng.uniform(0.1, 0.9, 2) * size + np.cumsum(
            np.stack([np.cos(heading), np.sin(heading)], 1) * step, 0)
        normal = np.stack([-np.sin(heading), np.cos(heading)], 1)
        width = size * rng.uniform(0.03, 0.12)
        taper = np.sin(np.linspace(0.2, np.pi - 0.2, steps))  # thin at both ends, like a brush
        colour = _pick(rng, palette)
        bristles = int(rng.integers(8, 20))
        # One RGBA layer per stroke: each bristle a slightly different shade and opacity, so the
        # stroke shows streaks along its direction like dragged paint.
        layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        for offset in rng.permutation(np.linspace(-0.5, 0.5, bristles)):
            points = path + normal * (offset * width * taper)[:, None]
            shade = np.clip(colour + rng.normal(0, 0.05, 3), 0, 1)
            fill = (*(int(c * 255) for c in shade), int(255 * rng.uniform(0.55, 1.0)))
            draw.line([tuple(p) for p in points], fill=fill,
                      width=max(1, int(width / bristles * rng.uniform(1.2, 2.5))), joint="curve")
        rgba = np.asarray(layer, np.float32) / 255.0
        canvas = canvas * (1 - rgba[..., 3:]) + rgba[..., :3] * rgba[..., 3:]
    return canvas


def noise_overlay(rng, canvas, palette) -> Canvas:
    """A translucent noise texture (grain or clouds) over everything painted so far."""
    size = canvas.shape[0]
    fine = rng.random() < 0.5
    noise = value_noise(rng, size, octaves=2 if fine else 4, base_cells=size // 8 if fine else 3)
    return _blend(canvas, _pick(rng, palette), noise * rng.uniform(0.1, 0.4))


LAYERS: dict[str, Callable[..., Canvas]] = {
    "circles": circles,
    "lines": lines,
    "blots": blots,
    "brush_strokes": brush_strokes,
    "noise_overlay": noise_overlay,
}


# ---------------------------------------------------------------------------------- images

def render(*, seed: int, index: int, resolution: int) -> np.ndarray:
    """The abstract image number ``index`` of dataset ``seed``: uint8 (resolution, resolution, 3)."""
    rng = np.random.default_rng([seed, index])
    palette = random_palette(rng)
    size = resolution * SUPERSAMPLE
    canvas = BACKGROUNDS[rng.choice(list(BACKGROUNDS))](rng, size, palette)
    names = list(LAYERS)
    for name in rng.choice(names, size=int(rng.integers(1, 4)), replace=False):
        canvas = LAYERS[name](rng, canvas, palette)
    image = Image.fromarray(np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8))
    return np.asarray(image.resize((resolution, resolution), Image.LANCZOS))


def image_path(out: Path, index: int) -> Path:
    return out / f"{index // IMAGES_PER_FOLDER:05d}" / f"img{index:08d}.png"


def _write_range(out: Path, seed: int, resolution: int, start: int, stop: int) -> None:
    for index in range(start, stop):
        path = image_path(out, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(render(seed=seed, index=index, resolution=resolution)).save(path, compress_level=6)


def write_dataset(out: Path, *, count: int, resolution: int, seed: int = 0, workers: int = 1,
                  progress: Callable[[int], None] | None = None) -> Path:
    """Write ``count`` images as a dataset folder (PNGs + dataset.json + ATTRIBUTION.md).

    The layout is the one `gansmania prepare` and NVlabs' dataset_tool write, so `gansmania
    train OUT` reads it. ``progress`` is called with the number of images done so far.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chunk = 100
    ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    done = 0
    if workers <= 1:
        for start, stop in ranges:
            _write_range(out, seed, resolution, start, stop)
            done += stop - start
            if progress:
                progress(done)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_write_range, out, seed, resolution, a, b) for a, b in ranges]
            for (start, stop), future in zip(ranges, futures):
                future.result()
                done += stop - start
                if progress:
                    progress(done)
    recipe = {"generator": "training.procedural", "recipe_version": RECIPE_VERSION, "seed": seed,
              "backgrounds": list(BACKGROUNDS), "layers": list(LAYERS),
              "harmonies": list(HARMONIES), "moods": list(MOODS)}
    meta = {"labels": None, "resolution": resolution, "count": count, "source": "procedural",
            "recipe": recipe}
    (out / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / "ATTRIBUTION.md").write_text(
        "# Attribution\n\nEvery image here was painted by GANsmania's procedural source "
        f"(`gansmania synth-dataset --count {count} --res {resolution} --seed {seed}`, recipe "
        f"version {RECIPE_VERSION}). It holds no third-party work; no attribution is needed.\n",
        encoding="utf-8")
    log.info("wrote %d procedural images (%dx%d, seed %d) to %s", count, resolution, resolution,
             seed, out)
    return out
