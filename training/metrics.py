"""FID and KID between a generator and a dataset, in the feature space of any network.

The standard numbers use NVlabs' Inception-v3 feature extractor; give it as a local TorchScript
(or ``torch.export`` ``.pt2``) file (``--metrics-weights``): nothing is ever downloaded. The statistics are the usual ones:
FID = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) (Heusel et al. 2017); KID = the
unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3, averaged over random subsets
(Binkowski et al. 2018).

A feature network takes uint8 images [N, 3, H, W] (0..255, any size: it resizes itself, as
NVlabs' does) and returns features [N, D]. NVlabs' detector needs ``return_features=True``;
that is passed when its forward accepts it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from training.art_features import PictureReadings
from visualizer.core.errors import GansmaniaError

FeatureNet = Callable[[torch.Tensor], torch.Tensor]


def load_feature_net(path: Path, *, device: torch.device, lpips: bool = False) -> FeatureNet:
    """A feature network from a local file, as a uint8 [N,3,H,W] -> [N, D] function.

    ``.pt2``: a ``torch.export`` program; anything else: TorchScript (NVlabs' Inception
    detector is one; its ``return_features=True`` is passed when its forward takes it).
    ``lpips``: for a perceptual loss (float images 0..255 in): a network whose forward takes
    ``return_lpips`` (NVlabs' vgg16.pt) gives its LPIPS features, at the images' own size.
    """
    path = Path(path)
    if not path.is_file():
        raise GansmaniaError(f"{path}: metrics weights not found")
    if path.suffix == ".pt2":
        try:
            return torch.export.load(str(path)).module().to(device)
        except (RuntimeError, ValueError, OSError) as exc:
            raise GansmaniaError(f"{path}: not a torch.export program ({_first_line(exc)})") from None
    try:
        net = torch.jit.load(str(path), map_location=device).eval()
    except (RuntimeError, ValueError) as exc:
        raise GansmaniaError(f"{path}: not a TorchScript feature network ({_first_line(exc)})") from None
    arguments = [a.name for a in net.forward.schema.arguments]
    if lpips and "return_lpips" in arguments:
        return lambda images: net(images, resize_images=False, return_lpips=True)
    if "return_features" in arguments:
        return lambda images: net(images, return_features=True)
    return net


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@dataclass(frozen=True)
class FeatureStats:
    mean: np.ndarray  # [D]
    cov: np.ndarray  # [D, D]
    features: np.ndarray  # [N, D] (kept for KID)


def feature_stats(features: np.ndarray) -> FeatureStats:
    features = np.asarray(features, np.float64)
    return FeatureStats(mean=features.mean(0), cov=np.cov(features, rowvar=False), features=features)


def fid(real: FeatureStats, fake: FeatureStats) -> float:
    """Fréchet distance between the two Gaussians fitted to the features."""
    diff = np.square(real.mean - fake.mean).sum()
    cross = _trace_sqrt_product(real.cov, fake.cov)
    return float(diff + np.trace(real.cov) + np.trace(fake.cov) - 2 * cross)


def _trace_sqrt_product(a: np.ndarray, b: np.ndarray) -> float:
    """tr sqrt(A B) for covariances A, B, as tr sqrt(A^1/2 B A^1/2).

    The symmetric form has the same eigenvalues as A B but needs only `eigh`, so a covariance of
    fewer images than features (rank-deficient: every small test set, early metrics) gives the
    exact value where `scipy.linalg.sqrtm(A @ B)` warns that the matrix is singular.
    """
    w, v = np.linalg.eigh(a)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(half @ b @ half), 0, None)).sum())


def kid(real: np.ndarray, fake: np.ndarray, *, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> float:
    """Kernel inception distance: mean unbiased MMD^2 over random subsets (features [N, D])."""
    n = real.shape[1]
    m = min(real.shape[0], fake.shape[0], subset_size)
    if m < 2:
        raise ValueError("KID needs at least 2 real and 2 generated feature vectors")
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(subsets):
        x = fake[rng.choice(fake.shape[0], m, replace=False)]
        y = real[rng.choice(real.shape[0], m, replace=False)]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        total += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(total / subsets / m)


@torch.no_grad()
def extract(net: FeatureNet, batches: Iterable[torch.Tensor], *, device: torch.device) -> np.ndarray:
    """Features [N, D] of uint8 image batches [B, C, H, W] (greyscale is repeated to RGB)."""
    out = []
    for images in batches:
        images = images.to(device)
        if images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)
        out.append(net(images).reshape(images.shape[0], -1).to(torch.float64).cpu().numpy())
    return np.concatenate(out)


def generator_batches(g: torch.nn.Module, *, count: int, batch: int, labels: np.ndarray,
                      device: torch.device, seed: int = 123) -> Iterable[torch.Tensor]:
    """``count`` uint8 images of ``g`` from seeded latents (labels drawn from ``labels``)."""
    generator = torch.Generator().manual_seed(seed)
    done = 0
    while done < count:
        n = min(batch, count - done)
        z = torch.randn([n, g.z_dim], generator=generator).to(device)
        if labels.shape[1]:
            pick = torch.randint(len(labels), [n], generator=generator).numpy()
            c = torch.from_numpy(labels[pick]).to(device)
        else:
            c = torch.zeros([n, 0], device=device)
        img = g(z, c, noise_mode="const")
        yield (img * 127.5 + 128).clamp(0, 255).to(torch.uint8)
        done += n


def spread_indices(total: int, count: int) -> np.ndarray:
    """``count`` indices spread evenly over ``total`` items (all of them when count >= total).

    Datasets are stored in runs (a folder per source, the crops of one work side by side), so the
    first ``count`` images would measure one source only.
    """
    if count >= total:
        return np.arange(total)
    return np.floor(np.arange(count) * (total / count)).astype(np.int64)


def dataset_batches(dataset, *, count: int, batch: int,
                    indices: np.ndarray | None = None) -> Iterable[torch.Tensor]:
    """``count`` images of ``dataset`` spread over all of it (un-mirrored), as uint8 batches;
    or the images at ``indices``."""
    if indices is None:
        indices = spread_indices(len(dataset.names), count)
    for start in range(0, len(indices), batch):
        yield torch.stack([dataset[int(i)][0] for i in indices[start:start + batch]])


@dataclass(frozen=True)
class MetricResult:
    fid: float
    kid: float
    real_images: int
    fake_images: int
    fake_features: np.ndarray = field(repr=False)  # [N, D], for readings of the samples


def compute_fid_kid(net: FeatureNet, g: torch.nn.Module, dataset, *, images: int,
                    device: torch.device, batch: int = 32, cache_dir: Path | None = None,
                    cache_key: str = "") -> MetricResult:
    """FID and KID of ``g`` against up to ``images`` dataset images (real features are cached in
    ``cache_dir``, keyed by dataset, resolution, count and ``cache_key``, e.g. the weights file)."""
    real = None
    cache = None
    if cache_dir is not None:
        # "spread": the images are spread over the dataset (older caches took the first ones).
        key = (f"{dataset.path}|{dataset.resolution}|{min(images, len(dataset.names))}|"
               f"{cache_key}|spread")
        cache = Path(cache_dir) / f"real-features-{hashlib.sha1(key.encode()).hexdigest()[:12]}.npy"
        if cache.is_file():
            real = np.load(cache)
    if real is None:
        real = extract(net, dataset_batches(dataset, count=images, batch=batch), device=device)
        if cache is not None:
            np.save(cache, real)
    was_training = g.training
    g.eval()
    fake = extract(net, generator_batches(g, count=images, batch=batch, labels=dataset.labels,
                                          device=device), device=device)
    g.train(was_training)
    return MetricResult(fid=fid(feature_stats(real), feature_stats(fake)),
                        kid=kid(real, fake), real_images=len(real), fake_images=len(fake),
                        fake_features=fake)


@dataclass(frozen=True)
class SetScore:
    """KID (mean and spread over subsets) and FID of one image set against the reference."""

    name: str
    images: int
    kid: float
    kid_std: float
    fid: float
    readings: PictureReadings | None = None  # what the set looks like (art features only)


def kid_spread(real: np.ndarray, fake: np.ndarray, *, subsets: int = 50,
               subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID's mean and standard deviation over ``subsets`` single-subset estimates."""
    values = [kid(real, fake, subsets=1, subset_size=subset_size, seed=seed + i)
              for i in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def score_sets(reference: np.ndarray, candidates: dict[str, np.ndarray], *,
               subset_size: int = 1000) -> list[SetScore]:
    """Score each candidate's features [N, D] against the reference features [M, D]."""
    reference_stats = feature_stats(reference)
    scores = []
    for name, features in candidates.items():
        mean, std = kid_spread(reference, features, subset_size=subset_size)
        scores.append(SetScore(name=name, images=len(features), kid=mean, kid_std=std,
                               fid=fid(reference_stats, feature_stats(features))))
    return scores
