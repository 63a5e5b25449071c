"""Image sets for `gansmania kid`: a dataset split into a reference and a held-out half, model
samples and image folders, all turned into built-in art features, scored against the reference
and read back as picture readings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from training.art_features import art_features, picture_readings
from training.dataset import ImageDataset
from training.metrics import SetScore, dataset_batches, extract, score_sets, spread_indices
from visualizer.core.errors import GansmaniaError

BATCH = 32


def compare_sets(data: Path, candidates: tuple[Path, ...], *, images: int,
                 resolution: int) -> list[SetScore]:
    """Scores of the held-out half of ``data`` and of each candidate against the other half."""
    dataset = ImageDataset(data, resolution=resolution)
    count = min(images, len(dataset.names) // 2)
    # Every other one of images spread over the whole set: datasets come in runs (a folder per
    # source, a work's crops side by side), and both halves should hold all of them.
    picks = spread_indices(len(dataset.names), 2 * count)
    reference = _features(dataset_batches(dataset, count=count, batch=BATCH, indices=picks[0::2]))
    held_out = _features(dataset_batches(dataset, count=count, batch=BATCH, indices=picks[1::2]))
    sets = {f"{data.name} (held-out half)": held_out}
    for path in candidates:
        if path.is_dir():
            other = ImageDataset(path, resolution=resolution)
            sets[path.name] = _features(dataset_batches(other, count=images, batch=BATCH))
        else:
            sets[path.name] = _features(_model_images(path, images, resolution))
    # Subsets of half the set, so the spread over subsets says how much the number can move.
    scores = score_sets(reference, sets, subset_size=min(1000, count // 2))
    return [replace(score, readings=picture_readings(sets[score.name])) for score in scores]


def _features(batches: Iterator[torch.Tensor]) -> np.ndarray:
    return extract(art_features, batches, device=torch.device("cpu"))


def resize_uint8(images: np.ndarray | torch.Tensor, side: int) -> torch.Tensor:
    """uint8 [N, C, R, R] images at ``side`` x ``side`` (antialiased bilinear), still uint8."""
    images = torch.as_tensor(images)
    if images.shape[-1] == side:
        return images
    scaled = torch.nn.functional.interpolate(images.float(), size=(side, side), mode="bilinear",
                                             antialias=True)
    return scaled.round().clamp(0, 255).to(torch.uint8)


def _model_images(path: Path, count: int, resolution: int) -> Iterator[torch.Tensor]:
    """Seeds 0..count-1 as the model card's grid draws them (truncation 1, constant noise),
    resized to ``resolution`` so models of any size compare on the same footing."""
    from training.snapshots import sample_seeds
    from training.generate import load_model

    generator = load_model(path)
    if generator.c_dim:
        raise GansmaniaError(f"{path}: a conditional model; `gansmania kid` scores "
                             "unconditional ones")
    for start in range(0, count, BATCH):
        yield resize_uint8(sample_seeds(generator, range(start, min(start + BATCH, count))), resolution)
