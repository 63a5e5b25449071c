"""Generative-art families for the procedural dataset.

Each family paints one picture from an rng, a size and a palette: ``family(rng, size, palette)``
-> float32 (size, size, 3) in [0, 1], with ``palette`` float32 (K, 3) RGB in [0, 1], K >= 2.
They are pure functions of those arguments (bit-identical reruns) and vectorised numpy, with
Pillow drawing only where it rasterises many shapes in C (strokes, circles). Smooth scalar fields
are computed on a grid of at most FIELD_MAX pixels and upsampled, and the hard colour mapping is
done at full size: crisp edges at a fraction of the cost.

Every family is built for what the painter before it lacked: several distinct palette colours,
visible edges, and structure at the scale of the whole picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Canvas = np.ndarray  # float32 (H, W, 3) in [0, 1]
Family = Callable[[np.random.Generator, int, np.ndarray], Canvas]

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601 weights: brightness of sRGB
FIELD_MAX = 160  # side of the grid smooth fields are computed on before upsampling (pixels)
RAMP_STEPS = 4096  # entries of a colour ramp's table: finer than any band edge at 512 px
VORONOI_MAX = 256  # side of the grid the stained-glass cells are found on (pixels)


# --------------------------------------------------------------------------- field helpers

def coords(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y) in [-1, 1], each float32 (size, size); y grows downwards."""
    axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    return np.meshgrid(axis, axis)


def value_noise(rng: np.random.Generator, size: int, *, octaves: int, base_cells: int) -> np.ndarray:
    """Fractal value noise float32 (size, size) in [0, 1]: bicubic-upsampled random grids, each
    octave twice as fine at half the amplitude, stretched to the 1st..99th percentile."""
    total = np.zeros((size, size), np.float32)
    amplitude, weight = 1.0, 0.0
    for octave in range(octaves):
        cells = base_cells * 2 ** octave
        grid = Image.fromarray(rng.random((cells, cells), dtype=np.float32))
        total += amplitude * np.asarray(grid.resize((size, size), Image.BICUBIC), np.float32)
        weight += amplitude
        amplitude *= 0.5
    return normalise(total)


def normalise(field: np.ndarray) -> np.ndarray:
    """Stretch a field's 1st..99th percentile to [0, 1] (clipped); percentiles of a subsample,
    which is as good for a smooth field and several times cheaper."""
    lo, hi = np.percentile(field[::3, ::3], [1, 99])
    return np.clip((field - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0).astype(np.float32)


def field_size(size: int) -> int:
    return min(size, FIELD_MAX)


def upsample(field: np.ndarray, size: int) -> np.ndarray:
    """Bicubic resize of a float32 (h, h) field to (size, size)."""
    if field.shape[0] == size:
        return field.astype(np.float32)
    image = Image.fromarray(np.ascontiguousarray(field, dtype=np.float32))
    return np.asarray(image.resize((size, size), Image.BICUBIC), np.float32)


def sample(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear lookup of float32 (h, w) ``field`` at picture coordinates ``x``, ``y`` (any shape,
    [-1, 1] spans the field); outside it the field is mirrored, so warps never hit an edge."""
    h, w = field.shape

    def mirror(t: np.ndarray, n: int) -> np.ndarray:
        period = 2 * (n - 1)
        t = np.mod(t, period)
        return np.where(t > n - 1, period - t, t)

    px = mirror((x + 1) * 0.5 * (w - 1), w)
    py = mirror((y + 1) * 0.5 * (h - 1), h)
    x0 = np.minimum(px.astype(np.intp), w - 2)
    y0 = np.minimum(py.astype(np.intp), h - 2)
    fx, fy = px - x0, py - y0
    flat = field.ravel()
    i = y0 * w + x0
    top = flat[i] * (1 - fx) + flat[i + 1] * fx
    bottom = flat[i + w] * (1 - fx) + flat[i + w + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def smoothstep(edge0: float, edge1: float, t: np.ndarray) -> np.ndarray:
    s = np.clip((t - edge0) / (edge1 - edge0), 0.0, 1.0)
    return s * s * (3 - 2 * s)


def ramp(t: np.ndarray, colours: np.ndarray, *, blend: float) -> Canvas:
    """Map ``t`` (...) through ``colours`` (n, 3) as n equal bands, cycling past 1.

    ``blend`` in (0, 1] is the fraction of each band spent fading into the next: small values
    give posterised fields with hard edges, 1 a smooth gradient. One cycle is tabulated at
    RAMP_STEPS points and looked up: a single gather instead of two and a blend per pixel.
    """
    n = len(colours)
    u = np.arange(RAMP_STEPS, dtype=np.float64) / RAMP_STEPS * n
    index = np.floor(u)
    g = smoothstep(1.0 - blend, 1.0, u - index)[:, None]
    index = index.astype(np.intp)
    table = (colours[index] * (1 - g) + colours[(index + 1) % n] * g).astype(np.float32)
    return table[(np.floor(t * RAMP_STEPS).astype(np.intp)) % RAMP_STEPS]


def pick(rng: np.random.Generator, palette: np.ndarray, count: int) -> np.ndarray:
    """``count`` colours (count, 3) of the palette: distinct ones first, repeats only past K."""
    order = np.concatenate([rng.permutation(len(palette)) for _ in range(count // len(palette) + 1)])
    return palette[order[:count]]


def contrasting(rng: np.random.Generator, palette: np.ndarray, count: int) -> np.ndarray:
    """Like ``pick`` but always holding the palette's darkest and lightest colour (count >= 2):
    a ramp of three mid-tones of a dark palette would read as one flat colour."""
    luma = palette @ LUMA
    ends = [int(np.argmin(luma)), int(np.argmax(luma))]
    middle = np.delete(palette, ends, axis=0) if len(palette) > 2 else palette
    rest = pick(rng, middle, count - 2) if count > 2 else palette[:0]
    colours = np.concatenate([palette[ends], rest])
    return colours[rng.permutation(count)]


def darkest(palette: np.ndarray) -> np.ndarray:
    return palette[np.argmin(palette @ LUMA)]


def to_canvas(image: Image.Image) -> Canvas:
    return np.asarray(image, np.float32) / 255.0


def to_rgb8(colour: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(round(float(c) * 255)) for c in np.clip(colour, 0, 1))
    return r, g, b


# -------------------------------------------------------------------------------- families

def warped_noise(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """Fractal noise sampled through two layers of fractal-noise displacement (domain warping),
    mapped through palette bands: swirling, marbled colour regions."""
    f = field_size(size)
    cells, octaves = int(rng.integers(2, 4)), int(rng.integers(3, 6))
    a, b, c, d, e = (value_noise(rng, f, octaves=octaves, base_cells=cells) * 2 - 1 for _ in range(5))
    x, y = coords(f)
    k1, k2 = rng.uniform(0.4, 1.2, 2)  # warp strengths, in half picture widths
    rx = sample(c, x + k1 * a, y + k1 * b)
    ry = sample(d, x + k1 * b, y - k1 * a)
    t = normalise(sample(e, x + k2 * rx, y + k2 * ry))
    # The warp's own magnitude shades the bands, as in Quilez's warped fbm: depth, not flatness.
    shade = normalise(np.hypot(rx, ry))
    repeats = rng.choice([1.0, 1.0, 2.0, 3.0])
    colours = contrasting(rng, palette, int(rng.integers(3, 6)))
    canvas = ramp(upsample(t, size) * repeats, colours, blend=rng.uniform(0.08, 0.7))
    light = 1.0 + rng.uniform(0.15, 0.4) * (upsample(shade, size)[..., None] - 0.5)
    return np.clip(canvas * light, 0, 1)


def flow_strokes(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """Hundreds of strokes following a smooth noise angle field, widest first, coloured by region."""
    grid = 48
    turns = rng.uniform(0.6, 2.0)
    angle = (value_noise(rng, grid, octaves=2, base_cells=int(rng.integers(2, 4)))
             * 2 * np.pi * turns + rng.uniform(0, 2 * np.pi))
    region = value_noise(rng, grid, octaves=2, base_cells=2)
    count, steps = int(rng.integers(150, 500)), int(rng.integers(12, 40))
    step = rng.uniform(0.006, 0.015) * 2  # in picture coordinates ([-1, 1] wide)
    pos = rng.uniform(-1.1, 1.1, (count, 2)).astype(np.float32)
    path = np.empty((steps, count, 2), np.float32)
    for s in range(steps):
        path[s] = pos
        theta = sample(angle, pos[:, 0], pos[:, 1])
        pos = pos + step * np.stack([np.cos(theta), np.sin(theta)], 1)
    path = (path + 1) * 0.5 * size
    widths = size * rng.uniform(0.006, 0.025) * rng.lognormal(0.0, 0.6, count)
    background, *inks = pick(rng, palette, len(palette))
    inks = np.array(inks)
    # Colour follows a coarse field of the start point (large regions), with strays for life.
    ink = np.minimum((sample(region, path[0, :, 0] / size * 2 - 1, path[0, :, 1] / size * 2 - 1)
                      * len(inks)).astype(np.intp), len(inks) - 1)
    stray = rng.random(count) < 0.15
    ink[stray] = rng.integers(0, len(inks), int(stray.sum()))
    outline = to_rgb8(darkest(palette) * 0.6) if rng.random() < 0.4 else None
    image = Image.new("RGB", (size, size), to_rgb8(background))
    draw = ImageDraw.Draw(image)
    for i in np.argsort(-widths, kind="stable"):
        points = path[:, i].ravel().tolist()
        width = max(1, int(round(widths[i])))
        if outline is not None:
            draw.line(points, fill=outline, width=width + max(2, width // 4))
        draw.line(points, fill=to_rgb8(inks[ink[i]]), width=width)
    return to_canvas(image)


def marbling(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """Paper marbling: colour bands, ink drops pushing them aside, tines and waves combed through.

    Each operation is invertible (Jaffer's mathematical marbling), so a pixel is coloured by
    undoing the operations from last to first until it lands inside a drop or on a band.
    """
    x, y = coords(size)
    px, py = x.copy(), y.copy()
    ops: list[tuple] = []
    for _ in range(int(rng.integers(3, 8))):  # clusters of concentric drops make rings
        centre = rng.uniform(-0.8, 0.8, 2)
        radius = rng.uniform(0.08, 0.3)
        for _ in range(int(rng.integers(1, 4))):
            ops.append(("drop", centre, radius, int(rng.integers(len(palette)))))
            radius *= rng.uniform(0.5, 0.8)
    ops = [ops[i] for i in rng.permutation(len(ops))]
    for _ in range(int(rng.integers(1, 4))):
        angle = rng.uniform(0, np.pi)
        along = np.array([np.cos(angle), np.sin(angle)])
        if rng.random() < 0.5:
            ops.append(("wave", along, rng.uniform(0.05, 0.2), rng.uniform(2, 9), rng.uniform(0, 2 * np.pi)))
        else:
            ops.append(("comb", along, rng.uniform(0.15, 0.5), rng.uniform(0.2, 0.8),
                        rng.uniform(0.05, 0.2), rng.uniform(-1, 1)))
    colour = np.full((size, size), -1, np.intp)
    for op in reversed(ops):
        kind, *args = op
        if kind == "drop":
            (cx, cy), r, ink = args
            dx, dy = px - cx, py - cy
            d2 = dx * dx + dy * dy
            inside = d2 < r * r
            colour[inside & (colour < 0)] = ink
            scale = np.sqrt(np.maximum(1 - r * r / np.maximum(d2, 1e-12), 0))
            px, py = cx + dx * scale, cy + dy * scale
        else:
            along = args[0]
            across = px * -along[1] + py * along[0]  # displacement is along, so `across` is kept
            if kind == "wave":
                amplitude, frequency, phase = args[1:]
                shift = amplitude * np.sin(frequency * across + phase)
            else:
                strength, spacing, sharpness, offset = args[1:]
                t = (across - offset) / spacing
                shift = strength * np.exp(-np.abs(t - np.round(t)) * spacing / sharpness)
            px, py = px - shift * along[0], py - shift * along[1]
    bands = contrasting(rng, palette, int(rng.integers(3, 7)))
    band_angle = rng.uniform(0, np.pi)
    s = px * np.cos(band_angle) + py * np.sin(band_angle)
    edges = np.cumsum(rng.uniform(0.05, 0.3, 40)) - 1.5
    band = np.searchsorted(edges, s) % len(bands)
    return np.where(colour[..., None] >= 0, palette[np.maximum(colour, 0)], bands[band]).astype(np.float32)


def stained_glass(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """Voronoi cells of palette colours, shaded like glass, with dark leading between them."""
    cells = int(rng.integers(3, 11))
    # The nearest-seed search is the costly part, so it runs at up to VORONOI_MAX pixels: the
    # distance fields are continuous and upsample cleanly, and the leading (at least 1.5 output
    # pixels wide) covers the blocky edges of the upsampled cell ids.
    work = min(size, VORONOI_MAX)
    x, y = coords(work)
    if rng.random() < 0.5:  # organic cells: warp the plane before finding the nearest seed
        wx, wy = (value_noise(rng, work, octaves=2, base_cells=3) - 0.5 for _ in range(2))
        x, y = x + wx * 0.6 / cells, y + wy * 0.6 / cells
    gx, gy = (x + 1) * 0.5 * cells, (y + 1) * 0.5 * cells  # cell units
    seeds = (np.stack(np.meshgrid(np.arange(-1, cells + 1), np.arange(-1, cells + 1)), -1)
             + 0.5 + rng.uniform(-0.45, 0.45, (cells + 2, cells + 2, 2))).astype(np.float32)
    ci = np.clip(np.floor(gx).astype(np.intp), 0, cells - 1) + 1
    cj = np.clip(np.floor(gy).astype(np.intp), 0, cells - 1) + 1
    ids = np.stack([(cj + dj) * (cells + 2) + ci + di for dj in (-1, 0, 1) for di in (-1, 0, 1)])
    flat = seeds.reshape(-1, 2)
    sx, sy = flat[ids, 0], flat[ids, 1]  # (9, H, W) candidate seeds
    d2 = (gx - sx) ** 2 + (gy - sy) ** 2
    nearest = np.argmin(d2, 0)[None]
    n_x, n_y = np.take_along_axis(sx, nearest, 0), np.take_along_axis(sy, nearest, 0)
    d1 = np.take_along_axis(d2, nearest, 0)
    # Distance to the bisector with each other seed; the smallest is the distance to the cell's edge.
    gap = np.sqrt((sx - n_x) ** 2 + (sy - n_y) ** 2)
    edge = upsample(np.where(gap > 0, (d2 - d1) / (2 * np.maximum(gap, 1e-6)), np.inf).min(0), size)
    rows = np.arange(size) * work // size
    cell = np.take_along_axis(ids, nearest, 0)[0][rows][:, rows]
    # Cell colours follow a gradient across the picture (composition), with random exceptions.
    count = (cells + 2) ** 2
    centres = flat / cells * 2 - 1
    direction = rng.normal(size=2)
    order = centres @ (direction / np.linalg.norm(direction))
    tone = np.clip((order - order.min()) / np.ptp(order) + rng.normal(0, 0.25, count), 0, 0.999)
    glass = pick(rng, palette, len(palette))
    table = glass[(tone * len(glass)).astype(np.intp)] * rng.uniform(0.85, 1.1, (count, 1))
    # Bicubic overshoot can dip below 0 next to a seed: clamp before the root.
    centre_light = 1 + 0.25 * (0.5 - np.sqrt(np.maximum(upsample(d1[0], size), 0)))
    canvas = table[cell].astype(np.float32) * centre_light[..., None]
    lead_width = rng.uniform(0.04, 0.12)  # half the line, in cell units
    lead = smoothstep(lead_width, lead_width * 0.6, edge)[..., None]
    lead_colour = darkest(palette) * 0.35
    return np.clip(canvas * (1 - lead) + lead_colour * lead, 0, 1).astype(np.float32)


def colour_fields(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """Hard-edge painting: Rothko stacks, Albers nested squares, stripes or a Mondrian grid."""
    x, y = coords(size)
    style = rng.choice(["rothko", "albers", "stripes", "blocks"])
    colours = pick(rng, palette, 12)
    canvas = np.empty((size, size, 3), np.float32)
    canvas[:] = colours[0]
    if style == "rothko":
        rough = upsample(value_noise(rng, field_size(size), octaves=4, base_cells=6) - 0.5, size) * 0.03
        softness = rng.uniform(0.004, 0.03)
        margin = rng.uniform(0.08, 0.2)
        edges = np.sort(rng.uniform(-0.85, 0.85, 2 * int(rng.integers(2, 4))))
        inset = smoothstep(-softness, softness, 1 - margin - np.abs(x) + rough)
        for k, (top, bottom) in enumerate(edges.reshape(-1, 2)):
            mask = inset * smoothstep(-softness, softness, y - top + rough) \
                * smoothstep(-softness, softness, bottom - y - rough)
            canvas += (colours[k + 1] - canvas) * mask[..., None]
    elif style == "albers":
        half, drop = 0.95, rng.uniform(0.02, 0.12)
        cy = 0.0
        for k in range(1, int(rng.integers(3, 5))):
            half *= rng.uniform(0.6, 0.8)
            cy += drop * half  # Albers sets each square lower than centre
            inside = (np.abs(x) < half) & (np.abs(y - cy) < half)
            canvas[inside] = colours[k]
    elif style == "stripes":
        angle = rng.choice([0.0, np.pi / 2, np.pi / 4, -np.pi / 4, rng.uniform(0, np.pi)])
        s = x * np.cos(angle) + y * np.sin(angle)
        if rng.random() < 0.3:  # chevrons
            s = np.abs(s) + 0.5 * (x * -np.sin(angle) + y * np.cos(angle))
        edges = np.cumsum(rng.uniform(0.03, 0.35, 60)) - 2.0
        canvas = colours[1:][np.searchsorted(edges, s) % (len(colours) - 1)]
    else:
        line = rng.uniform(0.01, 0.03) if rng.random() < 0.6 else 0.0
        boxes = [(-1.0, -1.0, 1.0, 1.0)]
        for _ in range(int(rng.integers(4, 12))):
            k = int(np.argmax([(b[2] - b[0]) * (b[3] - b[1]) * rng.uniform(0.5, 1) for b in boxes]))
            x0, y0, x1, y1 = boxes.pop(k)
            t = rng.uniform(0.25, 0.75)
            if (x1 - x0) > (y1 - y0) * rng.uniform(0.6, 1.6):
                cut = x0 + (x1 - x0) * t
                boxes += [(x0, y0, cut, y1), (cut, y0, x1, y1)]
            else:
                cut = y0 + (y1 - y0) * t
                boxes += [(x0, y0, x1, cut), (x0, cut, x1, y1)]
        if line:  # Mondrian: the ground shows between the blocks as near-black lines
            canvas[:] = darkest(palette) * 0.3
        for x0, y0, x1, y1 in boxes:
            inside = (x >= x0 + line) & (x < x1 - line) & (y >= y0 + line) & (y < y1 - line)
            # With lines, half the blocks are the plain first colour, as in Mondrian's grids.
            plain = line and rng.random() < 0.5
            canvas[inside] = colours[0] if plain else colours[rng.integers(1, 12)]
    return np.clip(canvas, 0, 1).astype(np.float32)


def circle_packing(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """Non-overlapping circles of many sizes, plain or as concentric rings, on a ground colour."""
    grid = 64
    axis = (np.arange(grid, dtype=np.float32) + 0.5) / grid * 2 - 1
    gx, gy = np.meshgrid(axis, axis)
    free = np.full(grid * grid, np.inf, np.float32)  # distance to the nearest circle, per cell
    centres = np.zeros((0, 2), np.float32)
    radii = np.zeros(0, np.float32)
    biggest = rng.uniform(0.15, 0.45)
    smallest = max(0.02, 3 / size)  # picture units: 1.5 px at least, no sub-pixel specks
    gap = rng.uniform(0.005, 0.02)
    for _ in range(400):
        open_cells = np.flatnonzero(free > smallest + gap)
        if not len(open_cells):
            break
        cell = open_cells[rng.integers(len(open_cells))]
        p = np.array([gx.flat[cell], gy.flat[cell]]) + rng.uniform(-1, 1, 2) / grid
        room = np.min(np.hypot(*(centres - p).T) - radii) if len(radii) else np.inf
        r = min(room - gap, biggest * rng.uniform(0.3, 1.0) ** 2)  # squared: many small ones
        if r < smallest:
            free[cell] = 0
            continue
        centres = np.vstack([centres, p])
        radii = np.append(radii, r)
        free = np.minimum(free, np.hypot(gx.ravel() - p[0], gy.ravel() - p[1]) - r)
    ground, *inks = pick(rng, palette, len(palette))
    inks = np.array(inks)
    image = Image.new("RGB", (size, size), to_rgb8(ground))
    draw = ImageDraw.Draw(image)
    rings = rng.random() < 0.5
    slope = rng.normal(size=2)
    for (cx, cy), r in zip(centres, radii):
        # Colour by position along a random direction plus noise: the picture has a colour drift.
        tone = np.clip(0.5 + 0.35 * (cx * slope[0] + cy * slope[1]) + rng.normal(0, 0.2), 0, 0.999)
        first = int(tone * len(inks))
        count = int(rng.integers(1, 5)) if rings else 1
        for k in range(count):
            rr = (r * (1 - k / count)) * 0.5 * size
            box = ((cx + 1) * 0.5 * size - rr, (cy + 1) * 0.5 * size - rr,
                   (cx + 1) * 0.5 * size + rr, (cy + 1) * 0.5 * size + rr)
            fill = inks[(first + k) % len(inks)] if k % 2 == 0 or len(inks) < 2 else ground
            draw.ellipse(box, fill=to_rgb8(fill))
    return to_canvas(image)


def truchet(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """Truchet tiles at a random scale: quarter-circle arcs (two-coloured, with a tube), triangles
    or a diagonal maze."""
    tiles = int(rng.integers(3, 13))
    x, y = coords(size)
    u, v = (x + 1) * 0.5 * tiles, (y + 1) * 0.5 * tiles
    ti, tj = np.minimum(u.astype(np.intp), tiles - 1), np.minimum(v.astype(np.intp), tiles - 1)
    fu, fv = u - ti, v - tj
    flip = rng.random((tiles, tiles)) < 0.5
    f = flip[tj, ti]
    fu = np.where(f, 1 - fu, fu)  # a flipped tile is the mirror image of the plain one
    style = rng.choice(["arcs", "triangles", "maze"])
    dark, light, *middle = contrasting(rng, palette, 4)
    # One colour class drifts across the picture towards the mid colour farthest from where it
    # starts (a large-scale gradient under the tile-scale pattern); the other stays the lightest.
    towards = max(middle, key=lambda colour: float(np.abs(colour - dark).sum()))
    slope = rng.uniform(0, 2 * np.pi)
    drift = smoothstep(-0.9, 0.9, x * np.cos(slope) + y * np.sin(slope))[..., None]
    a = dark * (1 - drift) + towards * drift
    b = np.broadcast_to(light, a.shape)
    if style == "arcs":
        d0 = np.hypot(fu, fv)  # distance to the tile's (0, 0) corner, after the flip
        d1 = np.hypot(1 - fu, 1 - fv)
        # The colour is the parity of the lattice corner whose region a pixel is in; a corner's
        # region continues into its neighbours, so the two colours tile without seams.
        near = d0 < 0.5
        far = d1 < 0.5
        corner_u = np.where(near, 0, np.where(far, 1, 1))
        corner_v = np.where(near, 0, np.where(far, 1, 0))
        corner_u = np.where(f, 1 - corner_u, corner_u)
        parity = ((ti + tj + corner_u + corner_v) % 2).astype(bool)[..., None]
        canvas = np.where(parity, a, b)
        if rng.random() < 0.7:
            width = rng.uniform(0.05, 0.2)
            tube = np.minimum(np.abs(d0 - 0.5), np.abs(d1 - 0.5))
            mask = smoothstep(width, width * 0.7, tube)[..., None]
            canvas = canvas * (1 - mask) + darkest(palette) * 0.5 * mask
    elif style == "triangles":
        parity = (fv > fu)[..., None]
        canvas = np.where(parity, a, b)
    else:
        width = rng.uniform(0.06, 0.18)
        line = np.abs(fu - fv) / np.sqrt(2)
        mask = smoothstep(width, width * 0.7, line)[..., None]
        canvas = a * (1 - mask) + b * mask
    return np.clip(canvas, 0, 1).astype(np.float32)


CPPN_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": np.sin,
    "tanh": np.tanh,
    "gauss": lambda h: np.exp(-h * h),
}


def cppn(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """A random compositional pattern-producing network of (x, y, r): a small MLP with sin, tanh
    and gaussian units whose outputs pick palette colours by a sharp softmax."""
    f = field_size(size)
    x, y = coords(f)
    zoom = rng.uniform(1.0, 3.0)
    h = np.stack([x * zoom, y * zoom, np.hypot(x, y) * zoom, np.ones_like(x)], -1).reshape(-1, 4)
    width = int(rng.integers(8, 16))
    for _ in range(int(rng.integers(3, 6))):
        # Gain over sqrt(fan-in): sines of sines of large sums turn into pixel noise.
        gain = rng.uniform(1.2, 3.5) / np.sqrt(h.shape[1])
        weights = rng.normal(0, gain, (h.shape[1], width)).astype(np.float32)
        h = CPPN_ACTIVATIONS[rng.choice(list(CPPN_ACTIVATIONS))](h @ weights)
    colours = contrasting(rng, palette, min(len(palette), int(rng.integers(3, 6))))
    logits = h @ rng.normal(0, 1, (width, len(colours))).astype(np.float32)
    # Standardised per colour, so every colour wins somewhere instead of one flooding the picture.
    logits = (logits - logits.mean(0)) / (logits.std(0) + 1e-6)
    sharpness = np.float32(rng.uniform(10.0, 40.0))
    # A softmax over colours, laid out (K, H, W): reductions over a short last axis are slow.
    logits = np.stack([upsample(channel.reshape(f, f), size) for channel in logits.T])
    weights = np.exp(sharpness * (logits - logits.max(0)))
    canvas = np.einsum("khw,kc->hwc", weights, colours) / weights.sum(0)[..., None]
    return np.clip(canvas, 0, 1).astype(np.float32)


def _variation(name: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One of Draves' fractal-flame variations applied to points (x, y)."""
    if name == "linear":
        return x, y
    if name == "sinusoidal":
        return np.sin(x), np.sin(y)
    r2 = x * x + y * y + 1e-9
    if name == "spherical":
        return x / r2, y / r2
    if name == "swirl":
        return x * np.sin(r2) - y * np.cos(r2), x * np.cos(r2) + y * np.sin(r2)
    r = np.sqrt(r2)
    if name == "horseshoe":
        return (x - y) * (x + y) / r, 2 * x * y / r
    theta = np.arctan2(x, y)
    if name == "polar":
        return theta / np.pi, r - 1
    if name == "heart":
        return r * np.sin(theta * r), -r * np.cos(theta * r)
    if name == "disc":
        return theta / np.pi * np.sin(np.pi * r), theta / np.pi * np.cos(np.pi * r)
    if name == "spiral":
        return (np.cos(theta) + np.sin(r)) / r, (np.sin(theta) - np.cos(r)) / r
    raise ValueError(name)


FLAME_VARIATIONS = ("linear", "sinusoidal", "spherical", "swirl", "horseshoe", "polar", "heart",
                    "disc", "spiral")
FLAME_WALKERS = 16384  # most points iterated in parallel; 6..12 plotted rounds of them
FLAME_PROBE = (2048, 4, 32)  # walkers, rounds and grid of the cheap trial run of a random flame
FLAME_MIN_COVER = 0.3  # share of the trial grid a flame must reach: not a few thin curves


@dataclass(frozen=True)
class Flame:
    """A random fractal flame: ``maps`` affine maps, each followed by a mix of two variations."""

    affine: np.ndarray  # (maps, 2, 3): x' = a x + b y + c, y' = d x + e y + f
    variations: tuple[tuple[str, str], ...]  # two variation names per map
    mix: np.ndarray  # (maps,) weight of the first variation
    hue: np.ndarray  # (maps,) colour index each map pulls its points towards, in [0, 1]
    cumulative: np.ndarray  # (maps,) cumulative probability of choosing each map
    symmetry: int  # n-fold rotational copies of every point

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Flame:
        maps = int(rng.integers(2, 5))
        affine = rng.uniform(-1, 1, (maps, 2, 3))
        variations = tuple(tuple(str(v) for v in rng.choice(FLAME_VARIATIONS, size=2, replace=False))
                           for _ in range(maps))
        mix, hue = rng.uniform(0, 1, maps), rng.random(maps)
        cumulative = np.cumsum(rng.dirichlet(np.ones(maps)))
        return cls(affine, variations, mix, hue, cumulative, int(rng.choice([1, 1, 2, 3, 4, 5, 6])))

    def play(self, rng: np.random.Generator, walkers: int, rounds: int) -> tuple[np.ndarray, ...]:
        """The chaos game: (x, y, colour index), each (walkers * rounds,), after a burn-in."""
        maps = len(self.mix)
        burn = 8  # rounds before the walkers have converged onto the attractor
        px, py = rng.uniform(-1, 1, (2, walkers))
        c = rng.random(walkers)
        turns = np.arange(self.symmetry) * (2 * np.pi / self.symmetry)
        xs, ys, cs = [], [], []
        for it in range(burn + rounds):
            choice = np.minimum(np.searchsorted(self.cumulative, rng.random(walkers)), maps - 1)
            nx, ny = np.empty(walkers), np.empty(walkers)
            for k in range(maps):
                sel = choice == k
                x, y = px[sel], py[sel]
                (a, b, e), (d, f, g) = self.affine[k]
                ax, ay = a * x + b * y + e, d * x + f * y + g
                first, second = (_variation(name, ax, ay) for name in self.variations[k])
                nx[sel] = self.mix[k] * first[0] + (1 - self.mix[k]) * second[0]
                ny[sel] = self.mix[k] * first[1] + (1 - self.mix[k]) * second[1]
            bad = ~(np.isfinite(nx) & np.isfinite(ny)) | (np.abs(nx) > 1e3) | (np.abs(ny) > 1e3)
            nx[bad], ny[bad] = rng.uniform(-1, 1, (2, int(bad.sum())))  # restart escaped walkers
            px, py = nx, ny
            c = (c + self.hue[choice]) * 0.5
            if it >= burn:
                turn = turns[rng.integers(0, self.symmetry, walkers)]
                cos, sin = np.cos(turn), np.sin(turn)
                xs.append(px * cos - py * sin)
                ys.append(px * sin + py * cos)
                cs.append(c)
        return np.concatenate(xs), np.concatenate(ys), np.concatenate(cs)


def _flame_histogram(xs: np.ndarray, ys: np.ndarray, cs: np.ndarray, grid: int,
                     margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(point count, mean colour index), each float32 (grid, grid), framed on the bulk of the
    points (2nd..98th percentile, robust to far-flung strays), centred and square, ``margin``
    times wider."""
    lo_x, hi_x = np.percentile(xs, [2, 98])
    lo_y, hi_y = np.percentile(ys, [2, 98])
    half = max(hi_x - lo_x, hi_y - lo_y, 1e-6) * 0.5 * margin
    col = ((xs - (lo_x + hi_x) / 2) / half * 0.5 + 0.5) * grid
    row = ((ys - (lo_y + hi_y) / 2) / half * 0.5 + 0.5) * grid
    keep = (col >= 0) & (col < grid) & (row >= 0) & (row < grid)
    bins = row[keep].astype(np.intp) * grid + col[keep].astype(np.intp)
    count = np.bincount(bins, minlength=grid * grid).astype(np.float32)
    tone = np.bincount(bins, weights=cs[keep], minlength=grid * grid) / np.maximum(count, 1)
    return count.reshape(grid, grid), tone.astype(np.float32).reshape(grid, grid)


def fractal_flame(rng: np.random.Generator, size: int, palette: np.ndarray) -> Canvas:
    """A fractal flame: the chaos game over a few affine maps with nonlinear variations, plotted as
    a log-density histogram coloured by which maps a point went through."""
    margin = rng.uniform(1.05, 1.3)
    walkers, rounds, grid = FLAME_PROBE
    for _ in range(6):  # many random flames collapse onto a point or a few thin curves
        flame = Flame.draw(rng)
        count, _ = _flame_histogram(*flame.play(rng, walkers, rounds), grid, margin)
        if np.count_nonzero(count) >= FLAME_MIN_COVER * grid * grid:
            break
    grid = max(16, size // 2)
    # About 12..24 points per histogram bin at any size: small canvases stay cheap.
    walkers = int(np.clip(grid * grid * 2, FLAME_PROBE[0], FLAME_WALKERS))
    rounds = int(np.clip(grid * grid * 6 / walkers, 6, 12))
    count, tone = _flame_histogram(*flame.play(rng, walkers, rounds), grid, margin)
    # Log density against a high percentile, not the maximum: one hot pixel must not darken all.
    top = max(float(np.percentile(count[count > 0], 99.5)), 1.0)
    density = np.clip(np.log1p(count) / np.log1p(top), 0, 1)
    alpha = np.clip(upsample(density ** rng.uniform(0.35, 0.6), size) * 1.4, 0, 1)[..., None]
    ground = darkest(palette) * rng.uniform(0.2, 0.6)
    # Light on dark: the flame takes the brighter half of the palette.
    bright = palette[np.argsort(palette @ LUMA)[len(palette) // 2:]]
    light = ramp(np.clip(upsample(tone, size), 0, 1), pick(rng, bright, len(bright)), blend=0.9)
    return np.clip(ground * (1 - alpha) + light * alpha, 0, 1).astype(np.float32)


FAMILIES: dict[str, Family] = {
    "warped_noise": warped_noise,
    "flow_strokes": flow_strokes,
    "marbling": marbling,
    "stained_glass": stained_glass,
    "colour_fields": colour_fields,
    "circle_packing": circle_packing,
    "truchet": truchet,
    "cppn": cppn,
    "fractal_flame": fractal_flame,
}
