"""Palettes for the procedural painter: a colour-harmony generator, and palettes measured from
real art (k-means in CIELAB over each image's pixels) kept in a small JSON file.

A palette is float32 (K, 3) sRGB in [0, 1] with K >= 2. The JSON file holds hex colours only, so
it carries no image content:
``{"format": "gansmania-palettes", "version": 1, "source": ..., "palettes": [["#rrggbb", ...], ...]}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

FORMAT = "gansmania-palettes"
FORMAT_VERSION = 1
PALETTE_COLOURS = 6  # colours measured per image: enough for a painting's main masses
EXTRACT_RESOLUTION = 64  # side the images are reduced to before clustering (pixels)
MIN_LUMA_SPREAD = 0.3  # a generated palette spans at least this much luma (0..1): no grey soup

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
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


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
    colours = np.clip(colours, 0.0, 1.0)
    # A pastel or muted monochrome palette can be one soft colour five times over; pull its
    # extreme away from the rest so every picture has a figure against a ground.
    luma = colours @ LUMA
    if luma.max() - luma.min() < MIN_LUMA_SPREAD:
        if luma.mean() > 0.5:  # darken the darkest (scaling RGB scales luma)
            dark = np.argmin(luma)
            colours[dark] *= (luma.max() - MIN_LUMA_SPREAD) / max(luma[dark], 1e-6)
        else:  # lighten the lightest towards white (luma moves linearly with the mix)
            light = np.argmax(luma)
            colours[light] += (1 - colours[light]) * (
                (luma.min() + MIN_LUMA_SPREAD - luma[light]) / max(1 - luma[light], 1e-6))
    return colours.astype(np.float32)


# ------------------------------------------------------------------- palettes from real art

def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] -> (..., 3) CIELAB (D65): L in [0, 100], a/b about [-128, 127]."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192],
                             [0.1805, 0.0722, 0.9505]]) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], -1)


def kmeans(points: np.ndarray, k: int, *, rng: np.random.Generator,
           iterations: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ then Lloyd's iterations on (N, D) points: (labels (N,), cluster count <= k).

    Fewer than ``k`` clusters come back when the points hold fewer distinct values, so a
    three-colour image gives three colours, not three plus duplicates.
    """
    centres = [points[rng.integers(len(points))]]
    nearest = ((points - centres[0]) ** 2).sum(1)
    while len(centres) < k and nearest.sum() > 1e-9:
        centres.append(points[rng.choice(len(points), p=nearest / nearest.sum())])
        nearest = np.minimum(nearest, ((points - centres[-1]) ** 2).sum(1))
    centres = np.array(centres)
    for _ in range(iterations):
        labels = ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        moved = np.array([points[labels == j].mean(0) if np.any(labels == j) else centres[j]
                          for j in range(len(centres))])
        if np.allclose(moved, centres):
            break
        centres = moved
    labels = ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    return labels, len(centres)


def image_palette(image: np.ndarray, *, colours: int, rng: np.random.Generator) -> np.ndarray:
    """The main colours of uint8 (H, W, 3) ``image``: float32 (<= colours, 3) sRGB in [0, 1],
    largest share first. Clustered in CIELAB (distances there match seen differences); each
    colour is its cluster's mean sRGB, so a flat block comes back exactly."""
    rgb = image.reshape(-1, 3).astype(np.float64) / 255.0
    labels, count = kmeans(srgb_to_lab(rgb), colours, rng=rng)
    shares = np.bincount(labels, minlength=count)
    order = [j for j in np.argsort(-shares, kind="stable") if shares[j] > 0]
    return np.array([rgb[labels == j].mean(0) for j in order], np.float32)


@dataclass(frozen=True, eq=False)
class PaletteSet:
    """Palettes measured from a set of images, one per image."""

    palettes: tuple[np.ndarray, ...]  # each float32 (K, 3) sRGB in [0, 1], K >= 2
    source: str  # where they were measured (a folder or zip), for the dataset's record

    def to_json(self) -> str:
        hexes = [["#%02x%02x%02x" % tuple(int(round(c * 255)) for c in colour) for colour in p]
                 for p in self.palettes]
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "source": self.source,
                           "palettes": hexes}, separators=(",", ":")) + "\n"

    def digest(self) -> str:
        """SHA-256 of the JSON form: which palettes a dataset was painted with."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


def extract_palettes(path: Path, *, colours: int = PALETTE_COLOURS, seed: int = 0) -> PaletteSet:
    """One palette per image of a folder or zip (read as training reads it: centre square,
    EXTRACT_RESOLUTION px). Images with a single colour give no palette."""
    from training.dataset import ImageDataset  # torch: only when palettes are measured

    dataset = ImageDataset(Path(path), resolution=EXTRACT_RESOLUTION)
    palettes = []
    for index in range(len(dataset)):
        image = dataset[index][0].numpy().transpose(1, 2, 0)
        palette = image_palette(image, colours=colours, rng=np.random.default_rng([seed, index]))
        if len(palette) >= 2:
            palettes.append(palette)
    if not palettes:
        raise GansmaniaError(f"{path}: no image has two or more colours to take a palette from")
    log.info("measured %d palettes of up to %d colours from %s", len(palettes), colours, path)
    return PaletteSet(tuple(palettes), str(path))


def save_palettes(palettes: PaletteSet, path: Path) -> Path:
    path = Path(path)
    path.write_text(palettes.to_json(), encoding="utf-8")
    return path


def load_palettes(path: Path) -> PaletteSet:
    """Read a palette file; a malformed one is a one-line error naming the file and the key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GansmaniaError(f"{path}: not a readable palette file: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GansmaniaError(f"{path}: 'format' must be \"{FORMAT}\" (written by "
                             "`gansmania synth-dataset --palettes FOLDER`)")
    if data.get("version") != FORMAT_VERSION:
        raise GansmaniaError(f"{path}: 'version' {data.get('version')!r} is not supported "
                             f"(allowed: {FORMAT_VERSION})")
    raw = data.get("palettes")
    if not isinstance(raw, list) or not raw:
        raise GansmaniaError(f"{path}: 'palettes' must be a non-empty list of colour lists")
    palettes = []
    for number, palette in enumerate(raw):
        if (not isinstance(palette, list) or len(palette) < 2
                or not all(isinstance(c, str) and len(c) == 7 and c[0] == "#" for c in palette)):
            raise GansmaniaError(f"{path}: 'palettes'[{number}] must be a list of two or more "
                                 "\"#rrggbb\" colours")
        try:
            palettes.append(np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in palette],
                                     np.float32) / 255.0)
        except ValueError:
            raise GansmaniaError(f"{path}: 'palettes'[{number}] holds a colour that is not "
                                 "\"#rrggbb\" hex") from None
    return PaletteSet(tuple(palettes), str(data.get("source", path)))
