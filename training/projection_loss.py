"""The distance `gansmania project` minimises between a generated image and the target.

It needs no downloaded weights: L1 of the pixels and of their finite-difference gradients
(edges) on an image pyramid (full size down to 8 px, so colour layout and fine edges both
count). Two optional terms add perception: the features of the model's own discriminator
(from a training state or a checkpoint with a ``D`` group) and a user-given TorchScript
feature network (NVlabs' vgg16.pt gives LPIPS), each as the squared feature difference over the
target's feature energy, so every term is about 1 at the start and the weights mean the same
for every network.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from visualizer.core.errors import GansmaniaError

MIN_LEVEL_PX = 8  # the pyramid's smallest level
FeatureNet = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class LossWeights:
    pixel: float = 1.0  # L1 of pixels in [-1, 1], averaged over the pyramid
    gradient: float = 1.0  # L1 of horizontal and vertical pixel differences, same pyramid
    discriminator: float = 1.0  # relative squared distance of D's block features (with a D)
    features: float = 1.0  # relative squared distance of the feature network's output (with one)


def pyramid(image: torch.Tensor, *, levels: int) -> list[torch.Tensor]:
    """[N, C, R, R] and its 2x, 4x ... average-pooled copies (``levels`` in all)."""
    out = [image]
    for _ in range(levels - 1):
        out.append(F.avg_pool2d(out[-1], 2))
    return out


def pyramid_levels(resolution: int) -> int:
    """Levels from ``resolution`` down to MIN_LEVEL_PX (at least 1)."""
    return max(1, int(math.log2(max(resolution, 1) / MIN_LEVEL_PX)) + 1)


def gradients(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal [N, C, H, W-1] and vertical [N, C, H-1, W] neighbour differences."""
    return image[..., :, 1:] - image[..., :, :-1], image[..., 1:, :] - image[..., :-1, :]


def discriminator_features(discriminator: torch.nn.Module, image: torch.Tensor) -> list[torch.Tensor]:
    """The output of each of D's blocks (b{R} .. b8) for ``image`` [N, C, R, R] in [-1, 1]."""
    x, img = None, image
    features = []
    for res in discriminator.block_resolutions:
        x, img = getattr(discriminator, f"b{res}")(x, img, force_fp32=True)
        features.append(x)
    return features


def _relative(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a - b|^2 / |b|^2: 1 for a = 0, whatever scale the features have."""
    return (a - b).square().sum() / (b.square().sum() + 1e-8)


class ProjectionLoss:
    """loss(image) -> (total, {term: value}) against one fixed ``target`` [1, C, R, R] in [-1, 1].

    ``discriminator``: a Discriminator for ``target``'s resolution; ``feature_net``: float
    images [N, 3, H, W] in 0..255 -> features [N, ...] (differentiable).
    """

    def __init__(self, target: torch.Tensor, *, weights: LossWeights = LossWeights(),
                 discriminator: torch.nn.Module | None = None,
                 feature_net: FeatureNet | None = None) -> None:
        self.weights = weights
        self.levels = pyramid_levels(target.shape[-1])
        self.discriminator = discriminator
        self.feature_net = feature_net
        with torch.no_grad():
            self._pyramid = pyramid(target, levels=self.levels)
            self._gradients = [gradients(level) for level in self._pyramid]
            self._d_features = discriminator_features(discriminator, target) \
                if discriminator is not None else []
            self._features = feature_net(_as_0_255(target)) if feature_net is not None else None

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        levels = pyramid(image, levels=self.levels)
        pixel = sum(F.l1_loss(a, b) for a, b in zip(levels, self._pyramid)) / self.levels
        gradient = sum(F.l1_loss(ga, gb) for level, (tx, ty) in zip(levels, self._gradients)
                       for ga, gb in zip(gradients(level), (tx, ty))) / (2 * self.levels)
        terms = {"pixel": pixel, "gradient": gradient}
        if self.discriminator is not None:
            own = discriminator_features(self.discriminator, image)
            terms["discriminator"] = sum(_relative(a, b) for a, b in zip(own, self._d_features)) \
                / len(own)
        if self.feature_net is not None:
            terms["features"] = _relative(self.feature_net(_as_0_255(image)), self._features)
        total = sum(getattr(self.weights, name) * value for name, value in terms.items())
        return total, {name: float(value.detach()) for name, value in terms.items()}


FEATURE_MAX_PX = 256  # larger images are shrunk first, as NVlabs' projector does for VGG16


def _as_0_255(image: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> 0..255 float RGB (grey repeated) of at most FEATURE_MAX_PX, what feature
    networks take."""
    if image.shape[-1] > FEATURE_MAX_PX:
        image = F.interpolate(image, size=(FEATURE_MAX_PX, FEATURE_MAX_PX), mode="area")
    image = (image + 1) * 127.5
    return image.repeat(1, 3, 1, 1) if image.shape[1] == 1 else image


# ------------------------------------------------------------------- the optional networks

def discriminator_from(path: Path | str, *, resolution: int,
                       device: torch.device | str = "cpu") -> torch.nn.Module:
    """The discriminator stored as group ``D`` in ``path`` (a training-state-*.safetensors, or a
    checkpoint saved with one), eval mode and frozen; refused when it is for another size."""
    from training.checkpoint import load_checkpoint
    from training.discriminator import Discriminator, DiscriminatorConfig
    from visualizer.core.config import from_dict

    path = Path(path)
    checkpoint = load_checkpoint(path, groups=[_d_group(path)])
    group = checkpoint.groups["D"]
    config = dict(group.config)
    sizes = {key: config.pop(key, default) for key, default in
             (("img_resolution", None), ("img_channels", 3), ("c_dim", 0))}
    if sizes["img_resolution"] != resolution:
        raise GansmaniaError(f"{path}: its discriminator is for {sizes['img_resolution']} px "
                             f"images, the model paints {resolution} px; give the state of "
                             "this model's run")
    d_config = from_dict(DiscriminatorConfig, config, origin=f"{path} [D config]")
    discriminator = Discriminator(d_config, **sizes)
    try:
        discriminator.load_state_dict(dict(group.tensors))
    except RuntimeError as exc:
        raise GansmaniaError(f"{path}: its 'D' tensors do not fit its config "
                             f"({str(exc).splitlines()[0]})") from None
    return discriminator.to(device).eval().requires_grad_(False)


def _d_group(path: Path) -> str:
    from training.checkpoint import read_header

    groups = read_header(path)["groups"]
    if "D" not in groups:
        raise GansmaniaError(f"{path}: no discriminator ('D') in it (it has: "
                             f"{', '.join(groups) or 'nothing'}); give a "
                             "training-state-*.safetensors of the model's run")
    return "D"


def feature_net_from(path: Path | str, *, device: torch.device | str = "cpu") -> FeatureNet:
    """A user's TorchScript / torch.export feature network (training.metrics' loader): float
    images 0..255 [N, 3, H, W] -> features; NVlabs' vgg16.pt gives its LPIPS features."""
    from training.metrics import load_feature_net

    return load_feature_net(Path(path), device=torch.device(device), lpips=True)


def describe_terms(terms: dict[str, float], order: Sequence[str] = tuple(
        f for f in LossWeights.__dataclass_fields__)) -> str:
    """'pixel 0.123 gradient 0.045 ...' for the progress bar."""
    return " ".join(f"{name} {terms[name]:.3f}" for name in order if name in terms)
