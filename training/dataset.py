"""Training images: a folder or a zip of images of any size, optionally labelled.

Images are centre-cropped to a square and resized to the training resolution on the fly, so a
folder of scraped art, the output of `gansmania prepare` / `gansmania synth-dataset` and NVlabs'
dataset_tool zips all load the same way. Labels come from ``dataset.json`` in NVlabs' format
(``{"labels": null | [[relpath, int | [float, ...]], ...]}``). A file that cannot be decoded is
reported by name and skipped; a dataset with no images is a one-line error.
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from visualizer.core.errors import GansmaniaError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
# Decoding failures of a broken file: Pillow raises these for truncated/garbled data.
DECODE_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError)


def _why(exc: Exception) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "not a recognised image format"
    return " ".join(str(exc).split()) or type(exc).__name__


class _Source:
    """Byte access to a folder or a zip, by POSIX relative path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            self.names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                self.names = sorted(i.filename for i in archive.infolist() if not i.is_dir())
        elif path.exists():
            raise GansmaniaError(f"{path}: not a folder or a zip of images")
        else:
            raise GansmaniaError(f"{path}: dataset not found (give a folder or a zip of images)")

    def read(self, name: str) -> bytes:
        if self.path.is_dir():
            return (self.path / name).read_bytes()
        if self._zip is None:  # opened lazily, once per DataLoader worker process
            self._zip = zipfile.ZipFile(self.path)
        return self._zip.read(name)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_zip": None}  # a ZipFile handle does not cross processes


def load_image(data: bytes, *, resolution: int) -> np.ndarray:
    """Decode image bytes, centre-crop to a square and resize: uint8 (3, resolution, resolution)."""
    import io

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (0, 0, 0, 255))
            image = Image.alpha_composite(background, image)
        image = image.convert("RGB")
        w, h = image.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != resolution:
            image = image.resize((resolution, resolution), Image.LANCZOS, reducing_gap=3.0)
        return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()


class ImageDataset(torch.utils.data.Dataset):
    """Images of a folder or zip as uint8 tensors (3, R, R) with a float32 label vector (c_dim,).

    With ``xflip`` the dataset is twice as long: indices past the originals are mirrored copies
    (as in NVlabs' training). ``use_labels`` needs a ``dataset.json`` with labels; integer labels
    become one-hot vectors of length ``max + 1``.
    """

    def __init__(self, path: Path, *, resolution: int, xflip: bool = False,
                 use_labels: bool = False, verify: bool = True) -> None:
        self.path = Path(path)
        self.resolution = resolution
        self.xflip = xflip
        self._source = _Source(self.path)
        names = [n for n in self._source.names if PurePosixPath(n).suffix.lower() in IMAGE_SUFFIXES
                 and not PurePosixPath(n).name.startswith(".")]
        self.skipped: list[str] = []
        if verify:
            names = [n for n in names if self._check(n)]
        if not names:
            detail = f"; {len(self.skipped)} unreadable file(s) skipped" if self.skipped else ""
            raise GansmaniaError(f"{self.path}: no images found (looked for "
                                 f"{', '.join(IMAGE_SUFFIXES)}{detail})")
        self.names = names
        self.meta = self._read_meta()
        self.labels = self._load_labels() if use_labels else np.zeros((len(names), 0), np.float32)

    @property
    def c_dim(self) -> int:
        """Length of the label vector (0 = unconditional)."""
        return self.labels.shape[1]

    def _check(self, name: str) -> bool:
        """Decode one image fully once; a broken one is reported by name and left out."""
        try:
            load_image(self._source.read(name), resolution=8)
            return True
        except DECODE_ERRORS as exc:
            log.warning("skipping unreadable image %s: %s", f"{self.path}/{name}", _why(exc))
            self.skipped.append(name)
            return False

    @property
    def recipe(self) -> dict | None:
        """How the images were made (dataset.json 'recipe', written by synth-dataset), if said."""
        recipe = self.meta.get("recipe") if self.meta else None
        return recipe if isinstance(recipe, dict) else None

    def _read_meta(self) -> dict | None:
        if "dataset.json" not in self._source.names:
            return None
        try:
            meta = json.loads(self._source.read("dataset.json"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GansmaniaError(f"{self.path}/dataset.json: invalid JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise GansmaniaError(f"{self.path}/dataset.json: expected an object like "
                                 "{\"labels\": null}")
        return meta

    def _load_labels(self) -> np.ndarray:
        if self.meta is None:
            raise GansmaniaError(f"{self.path}: conditional training needs dataset.json with "
                                 "labels ({\"labels\": [[relpath, class], ...]})")
        pairs = self.meta.get("labels")
        if not pairs:
            raise GansmaniaError(f"{self.path}/dataset.json: 'labels' is null or empty; "
                                 "allowed: a list of [relpath, class] pairs")
        by_name = {str(p[0]).replace("\\", "/"): p[1] for p in pairs}
        missing = [n for n in self.names if n not in by_name]
        if missing:
            raise GansmaniaError(f"{self.path}/dataset.json: no label for '{missing[0]}' "
                                 f"({len(missing)} image(s) unlabelled)")
        values = [by_name[n] for n in self.names]
        if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            onehot = np.zeros((len(values), max(values) + 1), np.float32)
            onehot[np.arange(len(values)), values] = 1
            return onehot
        try:
            vectors = np.asarray(values, np.float32)
        except ValueError:
            vectors = None
        if vectors is None or vectors.ndim != 2:
            raise GansmaniaError(f"{self.path}/dataset.json: labels must all be class indices "
                                 "(int >= 0) or all vectors of the same length")
        return vectors

    def __len__(self) -> int:
        return len(self.names) * (2 if self.xflip else 1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        raw = index % len(self.names)
        image = self._decode(raw)
        if index >= len(self.names):
            image = image[:, :, ::-1].copy()
        return torch.from_numpy(image), torch.from_numpy(self.labels[raw])

    def _decode(self, raw: int) -> np.ndarray:
        # A file that broke after the scan (edited, truncated on a network drive) is reported and
        # replaced by the next image, deterministically, so training and exact resume go on.
        for step in range(len(self.names)):
            name = self.names[(raw + step) % len(self.names)]
            try:
                return load_image(self._source.read(name), resolution=self.resolution)
            except DECODE_ERRORS as exc:
                log.warning("skipping unreadable image %s: %s", f"{self.path}/{name}", _why(exc))
        raise GansmaniaError(f"{self.path}: no image could be read")


class InfiniteSampler(torch.utils.data.Sampler):
    """Endless shuffled indices, one permutation per epoch, seeded; resumable from a position.

    Each DDP rank takes every ``world``-th index of the same global stream, so the ranks see
    disjoint images. ``start`` is the number of indices this rank already consumed (for resume).
    """

    def __init__(self, size: int, *, seed: int, rank: int = 0, world: int = 1, start: int = 0) -> None:
        self.size, self.seed, self.rank, self.world, self.start = size, seed, rank, world, start

    def __iter__(self) -> Iterator[int]:
        position = self.start * self.world + self.rank  # index into the global stream
        epoch, offset = divmod(position, self.size)
        while True:
            order = np.random.default_rng([self.seed, epoch]).permutation(self.size)
            while offset < self.size:
                yield int(order[offset])
                offset += self.world
            epoch, offset = epoch + offset // self.size, offset % self.size
