"""Image sets for `gansmania kid`: a dataset split into a reference and a held-out half, model
samples and image folders, all turned into built-in art features."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from training.art_features import art_features
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
    return score_sets(reference, sets, subset_size=min(1000, count // 2))


def _features(batches: Iterator[torch.Tensor]) -> np.ndarray:
    return extract(art_features, batches, device=torch.device("cpu"))


def _model_images(path: Path, count: int, resolution: int) -> Iterator[torch.Tensor]:
    """Seeds 0..count-1 at truncation 1 (z as `gansmania generate` makes it), uint8, resized to
    ``resolution`` so models of any size compare on the same footing."""
    from training.generate import load_model
    from training.latents import z_from_seeds

    generator = load_model(path)
    if generator.c_dim:
        raise GansmaniaError(f"{path}: a conditional model; `gansmania kid` scores "
                             "unconditional ones")
    for start in range(0, count, BATCH):
        seeds = list(range(start, min(start + BATCH, count)))
        z = z_from_seeds(seeds, generator.z_dim)
        with torch.no_grad():
            image = generator(z, torch.zeros([len(seeds), 0]), noise_mode="const")
        image = (image * 127.5 + 128).clamp(0, 255)
        if image.shape[-1] != resolution:
            image = torch.nn.functional.interpolate(image, size=(resolution, resolution),
                                                    mode="bilinear", antialias=True)
        yield image.round().to(torch.uint8)
