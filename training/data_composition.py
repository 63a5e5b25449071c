"""What a training folder is made of, for a model card: the parts it holds (a `prepare` output
with its ATTRIBUTION.md, a `synth-dataset` output), how many images each source gave, and every
source work with its artist and licence.

A training folder is one dataset or several side by side (``data/mix/art``,
``data/mix/procedural``): each part is a folder with its own ``dataset.json``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from visualizer.core.errors import GansmaniaError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class SourceWork:
    """One work the training images were cut from (a row of a prepare ATTRIBUTION.md)."""

    title: str
    artist: str
    licence: str
    source: str    # "debian-art:gnome-backgrounds/usr/share/...", "aic:1234", ...
    page: str
    images: int    # training images cut from it

    @property
    def origin(self) -> str:
        """The source and, for debian-art, the package: "debian-art:gnome-backgrounds"."""
        name, _, rest = self.source.partition(":")
        return f"{name}:{rest.split('/', 1)[0]}" if name == "debian-art" else name


@dataclass(frozen=True)
class Part:
    """One dataset folder inside the training folder."""

    folder: str          # relative to the training folder ("." for a single dataset)
    kind: str            # "scraped" (prepare) or "procedural" (synth-dataset)
    images: int
    works: tuple[SourceWork, ...]  # empty for procedural parts


def read_parts(data: Path) -> list[Part]:
    """The parts of the training folder ``data``; a folder without any is a one-line error."""
    data = Path(data)
    parts = []
    for meta_path in sorted(data.rglob("dataset.json")):
        folder = meta_path.parent
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        images = sum(1 for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        relative = folder.relative_to(data).as_posix()
        recipe = meta.get("recipe") or {}
        if recipe.get("generator") == "training.procedural":
            parts.append(Part(relative, "procedural", images, ()))
        else:
            attribution = folder / meta.get("attribution", "ATTRIBUTION.md")
            works = read_attribution(attribution) if attribution.is_file() else ()
            parts.append(Part(relative, "scraped", images, tuple(works)))
    if not parts:
        raise GansmaniaError(f"{data}: no dataset.json in it or below; a model card needs to "
                             "know what the model was trained on")
    return parts


def read_attribution(path: Path) -> list[SourceWork]:
    """The works of a `gansmania prepare` ATTRIBUTION.md table."""
    works = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 8 or cells[0] in ("title", "---"):
            continue
        title, artist, _date, licence, source, page, _image, files = cells
        works.append(SourceWork(title=title, artist=artist, licence=licence, source=source,
                                page=page, images=_file_count(files)))
    return works


def _file_count(files: str) -> int:
    """"00000/img00000063.png … 00000/img00000126.png" -> 64 (one name -> 1)."""
    numbers = [int(n) for n in re.findall(r"img(\d+)\.png", files)]
    return numbers[-1] - numbers[0] + 1 if numbers else 0


def composition(parts: list[Part]) -> list[tuple[str, int, int, str]]:
    """(origin, works, images, licences) per origin, most images first."""
    images: Counter[str] = Counter()
    works: Counter[str] = Counter()
    licences: dict[str, Counter[str]] = {}
    for part in parts:
        if part.kind == "procedural":
            images["procedural (synth-dataset)"] += part.images
            licences.setdefault("procedural (synth-dataset)", Counter())["none (painted here)"] += 1
        for work in part.works:
            images[work.origin] += work.images
            works[work.origin] += 1
            licences.setdefault(work.origin, Counter())[work.licence] += 1
    return [(origin, works[origin], count, ", ".join(sorted(licences[origin])))
            for origin, count in images.most_common()]
