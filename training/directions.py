"""Interpretable directions in w, found without labels or training.

- SeFa (Shen & Zhou 2021, closed-form factorisation): the style affines map w to the styles
  of the modulated convolutions, so the w directions those weights stretch most change the
  picture most: the top eigenvectors of A^T A, A the stacked affine weights of the chosen
  layers with each style channel's row scaled to unit length (as the paper's code does, so no
  layer dominates by its weight scale).
- PCA (GANSpace, Härkönen et al. 2020): the principal axes of w sampled from random z through
  the mapping network: where the model's images actually spread.

Every direction is a unit vector in w with its ``scale``, the std of sampled w along it, so an
offset of k * scale is k standard deviations whatever the method.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.latents import layer_group
from visualizer.core.errors import GansmaniaError

METHODS = ("sefa", "pca")
SAMPLE_SEED = 0  # the z of the sampled w: the same model gives the same directions
_BATCH = 4096


@dataclass(frozen=True, eq=False)  # eq=False: a numpy field has no single truth value
class Direction:
    """One direction in w and how much w varies along it."""

    name: str  # what a show calls it: METHOD-INDEX until a person renames it in the TOML
    method: str  # "sefa" | "pca"
    index: int  # rank within its method, 0 = the strongest
    layers: str  # the layer group it was found on and moves (training.configs.LAYER_GROUPS)
    vector: np.ndarray  # float32 [w_dim], unit length
    value: float  # SeFa: eigenvalue of A^T A; PCA: variance of w along it
    scale: float  # std of sampled w along it (the unit of offsets: -3..+3 spans the sheet)
    share: float  # fraction of the total variance of sampled w that lies along it


def style_affines(synthesis: nn.Module) -> Iterator[tuple[int, nn.Module]]:
    """(w layer index, the affine that reads it) for each w layer that sets styles: in
    StyleGAN2 the modulated conv reading it, and for the last index, which only the final ToRGB
    reads, that ToRGB (the layer choice of the SeFa paper's StyleGAN2 code); in StyleGAN3 every
    layer's affine, from index 1 (w 0 turns the Fourier input: a transform, not styles)."""
    if hasattr(synthesis, "layer_names"):  # StyleGAN3: w i + 1 feeds layer i
        for index, name in enumerate(synthesis.layer_names, start=1):
            yield index, getattr(synthesis, name).affine
        return
    index = 0
    for res in synthesis.block_resolutions:
        block = getattr(synthesis, f"b{res}")
        for name in ("conv0", "conv1"):
            if hasattr(block, name):
                yield index, getattr(block, name).affine
                index += 1
    yield index, getattr(synthesis, f"b{synthesis.block_resolutions[-1]}").torgb.affine


def sefa(generator: nn.Module, *, layers: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues [w_dim] descending, unit directions [w_dim, w_dim] as rows) of the style
    weights of the w layers in group ``layers``."""
    chosen = layer_group(layers, generator.num_ws)
    if not chosen.any():
        raise GansmaniaError(f"this {generator.img_resolution} px model has no '{layers}' w layers")
    weights = [affine.weight.detach().cpu().double().numpy()
               for index, affine in style_affines(generator.synthesis) if chosen[index]]
    stacked = np.concatenate(weights)  # [style channels, w_dim]
    stacked /= np.linalg.norm(stacked, axis=1, keepdims=True)
    return _descending_eigen(stacked.T @ stacked)


def sample_w(generator: nn.Module, samples: int, *, seed: int = SAMPLE_SEED) -> np.ndarray:
    """float64 [samples, w_dim]: w of ``samples`` seeded random z, untruncated."""
    if generator.c_dim:
        raise GansmaniaError("directions of conditional generators (c_dim > 0) are not supported")
    z = np.random.default_rng(seed).standard_normal((samples, generator.z_dim), dtype=np.float32)
    mapping = generator.mapping
    device = next(mapping.parameters()).device
    with torch.no_grad():
        parts = [mapping(torch.from_numpy(z[i:i + _BATCH]).to(device), None,
                         skip_w_avg_update=True)[:, 0].cpu().double().numpy()
                 for i in range(0, samples, _BATCH)]
    return np.concatenate(parts)


def pca(ws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(variances [w_dim] descending, unit principal axes [w_dim, w_dim] as rows) of ws [N, w_dim]."""
    centred = ws - ws.mean(axis=0)
    return _descending_eigen(centred.T @ centred / (len(ws) - 1))


def _descending_eigen(symmetric: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(symmetric)
    values, vectors = values[::-1], vectors[:, ::-1].T
    # eigh's signs are arbitrary: point each vector so its largest component is positive, so a
    # re-run (or another BLAS) gives the same +/- that a person has named.
    largest = np.abs(vectors).argmax(axis=1)
    signs = np.sign(vectors[np.arange(len(vectors)), largest])
    return values, vectors * signs[:, None]


def find_directions(generator: nn.Module, *, methods: tuple[str, ...] = METHODS, count: int = 16,
                    samples: int = 10_000, layers: str = "all") -> list[Direction]:
    """The first ``count`` directions of each method (at most w_dim), default names, scales
    measured on ``samples`` sampled w."""
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"methods {sorted(unknown)}; allowed: {', '.join(METHODS)}")
    ws = sample_w(generator, samples)
    centred = ws - ws.mean(axis=0)
    total = float((centred ** 2).sum() / (len(ws) - 1))
    found = []
    for method in methods:
        values, vectors = sefa(generator, layers=layers) if method == "sefa" else pca(ws)
        for index in range(min(count, len(vectors))):
            variance = float((centred @ vectors[index]).var(ddof=1))
            found.append(Direction(
                name=f"{method}-{index}", method=method, index=index, layers=layers,
                vector=vectors[index].astype(np.float32), value=float(values[index]),
                scale=variance ** 0.5, share=variance / total))
    return found
