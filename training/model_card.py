"""The evidence sections of a bundled model's card: what it was trained on (per source, with
licences), the licence of the weights and why, KID against the training set beside the model it
replaces, the KID-over-CPU-hours curve, grids of the data, the old and the new model side by
side, and ATTRIBUTION.md naming every source work."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from training.art_features import READING_COLUMNS, READINGS_LEGEND
from training.curves import grown_curves, plot, read_curve
from training.data_composition import Part, composition, read_parts
from training.kid_sets import compare_sets, resize_uint8
from training.metrics import dataset_batches, spread_indices
from training.snapshots import grid_image

WEIGHTS_LICENCE = "GPL-3.0-or-later"
LICENCE_REASONS = (
    "Whether trained weights are an adaptation of their training images is unsettled, so the "
    "weights take a licence that every source's licence allows for an adaptation.",
    "GPL-2+ and GPL-3+ works may be used under GPL-3.0-or-later.",
    "CC BY-SA 4.0 is one-way compatible with GPLv3 (Creative Commons' compatibility list), and "
    "an adaptation of a CC BY-SA 3.0 work may be released under BY-SA 4.0 (section 4(b)).",
    "CC BY 3.0/4.0, CC0, public domain and Expat ask for attribution at most: ATTRIBUTION.md "
    "beside the model names every work.",
    "GPL-2 only works are not compatible and were left out by the scrape (spacefun-theme).",
    "The procedural images are painted by this project's code (MIT) and carry no third-party "
    "rights; their palettes are colour lists measured from the scraped works.",
)
TILE_PX = 64  # side of one picture in the comparison figure
CARD_SEEDS = range(64)  # the card's grid, its figure and the diversity test use these seeds


def evidence(out: Path, generator_path: Path, *, data: Path, old_model: Path | None,
             runs: Sequence[Path], kid_images: int, lineage: Sequence[dict] = (),
             resolution: int = 256, kimg: float = np.inf) -> list[str]:
    """Write ATTRIBUTION.md, the curve and comparison PNGs beside ``out``; return the card's
    Markdown lines for them. ``runs``: the model's own run folder first, then the recipes it
    was chosen over (their KID curves). ``lineage``: the stages the model was grown through
    (their curves join the run's own, up to the exported snapshot's ``kimg``, on one CPU-hours
    axis)."""
    parts = read_parts(data)
    attribution = out.parent / "ATTRIBUTION.md"
    attribution.write_text(attribution_text(parts, data_name=data.name), encoding="utf-8")
    lines = ["## Dataset", "", f"`data/{data.name}`: {sum(p.images for p in parts):,} images "
             f"({', '.join(f'`{p.folder}` {p.images:,}' for p in parts)}).", "",
             "| source | works | images | licences |", "|---|---|---|---|"]
    lines += [f"| {origin} | {works or ''} | {images:,} | {licences} |"
              for origin, works, images, licences in composition(parts)]
    lines += ["", f"Every source work, with artist and licence: [{attribution.name}]"
              f"({attribution.name}).", "", f"## Licence of the weights: {WEIGHTS_LICENCE}", ""]
    lines += [f"- {reason}" for reason in LICENCE_REASONS]
    lines += ["", "## KID against the training set", ""]
    candidates = (old_model, generator_path) if old_model else (generator_path,)
    scores = compare_sets(data, candidates, images=kid_images, resolution=256)
    names = {generator_path.name: f"this model ({generator_path.name})"}
    if old_model:
        names[old_model.name] = f"the model it replaces ({old_model.name})"
    lines += ["Built-in art statistics (`gansmania kid`, `training/art_features.py`; no "
              f"download), {scores[0].images} images a set, against the other half of the "
              "training set. Lower is closer; the first row is the floor sampling noise leaves.",
              f"The readings say what the pictures look like ({READINGS_LEGEND}).", "",
              f"| set | KID x 1e3 | FID (art statistics) | {' | '.join(READING_COLUMNS)} |",
              "|---|---|---|" + "---|" * len(READING_COLUMNS)]
    lines += [f"| {names.get(s.name, s.name)} | {s.kid * 1e3:.3f} ± {s.kid_std * 1e3:.3f} | "
              f"{s.fid:.3f} | {' | '.join(s.readings.cells())} |" for s in scores]
    own, *recipes = map(Path, runs)
    curves = grown_curves(own, lineage, resolution=resolution, until_kimg=kimg) \
        if (own / "metrics.jsonl").is_file() else []
    curves += [read_curve(run) for run in recipes if (run / "metrics.jsonl").is_file()]
    if curves:
        curve_png = out.with_name(f"{out.stem}-kid.png")
        plot(curves, curve_png, title="KID against the training set over CPU time")
        lines += ["", f"![KID against CPU-hours]({curve_png.name})"]
        if lineage:
            lines += ["", "One curve per stage of growing, each scored in training (512 images) "
                      "against the data at that stage's size: the step from one stage to the "
                      "next is a change of scale. Compare models with the table above."]
    figure = out.with_name(f"{out.stem}-compare.png")
    comparison_figure(data, generator_path, old_model, figure)
    lines += ["", "## Side by side", "", f"![the data, the old model, this model]({figure.name})",
              "", "Left: 64 training images spread over the set; middle: the model this one "
              "replaced; right: this model (seeds 0-63, truncation 1).", ""]
    return lines


def attribution_text(parts: list[Part], *, data_name: str) -> str:
    lines = ["# Attribution", "",
             f"The bundled model was trained on `data/{data_name}`, cut from the works below "
             f"(its weights: {WEIGHTS_LICENCE}, see the model card). Procedural images were "
             "painted by this project and need no attribution.", "",
             "| title | artist | licence | source | images |", "|---|---|---|---|---|"]
    for part in parts:
        lines += [f"| {w.title} | {w.artist} | {w.licence} | {w.page} | {w.images} |"
                  for w in part.works]
    return "\n".join(lines) + "\n"


def comparison_figure(data: Path, generator_path: Path, old_model: Path | None,
                      png: Path) -> None:
    """Three 8x8 grids side by side: training images, the old model, the new one."""
    from training.dataset import ImageDataset
    from training.snapshots import sample_seeds
    from training.generate import load_model

    dataset = ImageDataset(data, resolution=TILE_PX)
    picks = spread_indices(len(dataset.names), len(CARD_SEEDS))
    panels = [np.concatenate(list(dataset_batches(dataset, count=len(picks), batch=64,
                                                  indices=picks))).astype(np.uint8)]
    for path in (old_model, generator_path):
        if path is not None:
            panels.append(resize_uint8(sample_seeds(load_model(path), CARD_SEEDS), TILE_PX).numpy())
    grids = [grid_image(panel, columns=8) for panel in panels]
    gap = TILE_PX // 4
    figure = Image.new("RGB", (sum(g.width for g in grids) + gap * (len(grids) - 1),
                               grids[0].height), "white")
    for i, grid in enumerate(grids):
        figure.paste(grid, (i * (grid.width + gap), 0))
    figure.save(png)
