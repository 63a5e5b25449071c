"""Image -> w: the logic behind `gansmania project`.

As Karras et al.'s StyleGAN2 projector: start at the average w (the mean of mapped random z),
optimise w with Adam under a learning-rate ramp (up over the first 5 %, cosine down over the
last 25 %) and with Gaussian noise on w that fades out by 75 % (it keeps the search from
settling early). ``space`` "w" optimises one w for every layer (stays among the model's own
images, walks well); "w+" one w per layer (reproduces images the model was not trained on
much better). The loss is training.projection_loss's. The stored noise inputs are used as
they are ('const'), the same ones a show paints with.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from training.generate import to_uint8
from training.projection_loss import LossWeights, ProjectionLoss
from visualizer.core.errors import GansmaniaError

SPACES = ("w", "w+")
W_AVG_SAMPLES = 4096  # z mapped to measure the average and spread of w


@dataclass(frozen=True)
class ProjectSettings:
    steps: int = 300  # Adam steps (0.2-0.4 s each for the bundled model on one CPU thread)
    space: str = "w+"  # "w": one w on every layer; "w+": one w per layer
    learning_rate: float = 0.1  # peak Adam learning rate
    noise_start: float = 0.05  # noise on w at the start, in units of the spread of w
    noise_ramp: float = 0.75  # fraction of the steps over which the noise fades out
    ramp_up: float = 0.05  # fraction of the steps the learning rate rises over
    ramp_down: float = 0.25  # fraction of the steps it falls over (cosine) at the end
    seed: int = 0  # of the w-noise and of the z that measure w's average
    weights: LossWeights = LossWeights()


@dataclass(frozen=True)
class Projection:
    """What a projection found."""

    w: np.ndarray  # float32 [w_dim] (space "w") or [num_ws, w_dim] (space "w+")
    space: str
    target: np.ndarray  # uint8 [R, R, C]: the image as the model's size and channels see it
    image: np.ndarray  # uint8 [R, R, C]: the model's image of ``w``
    loss: float  # the loss of ``w`` (no noise on it)
    terms: dict[str, float]  # the loss's terms
    steps: int
    seconds: float  # wall time of the optimisation

    @property
    def mean_abs_error(self) -> float:
        """Mean |target - image| over pixels and channels, in 0..255."""
        return float(np.abs(self.target.astype(np.float64) - self.image).mean())

    @property
    def psnr_db(self) -> float:
        """Peak signal-to-noise ratio of the image against the target (dB, 8-bit peak)."""
        mse = float(np.square(self.target.astype(np.float64) - self.image).mean())
        return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)

    def side_by_side(self) -> np.ndarray:
        """uint8 [R, 2R, C]: target | projection."""
        return np.concatenate([self.target, self.image], axis=1)


def read_image(path: Path | str) -> Image.Image:
    """The image at ``path``, EXIF-rotated, with transparency put on black, as RGB or L."""
    path = Path(path)
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except FileNotFoundError:
        raise GansmaniaError(f"{path}: image not found") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise GansmaniaError(f"{path}: not an image Pillow can read ({exc})") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image.alpha_composite(rgba)
    return image.convert("L" if image.mode in ("L", "I", "I;16", "F", "1") else "RGB")


def target_of(image: Image.Image, *, resolution: int, channels: int) -> torch.Tensor:
    """``image`` as [1, channels, R, R] in [-1, 1]: centre-cropped to a square and resized
    (Lanczos), as NVlabs' projector does."""
    image = image.convert("L" if channels == 1 else "RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    image = image.resize((resolution, resolution), Image.Resampling.LANCZOS)
    pixels = np.asarray(image, dtype=np.float32).reshape(resolution, resolution, -1)
    return torch.from_numpy(pixels).permute(2, 0, 1)[None] / 127.5 - 1


def w_statistics(generator: torch.nn.Module, *, samples: int = W_AVG_SAMPLES,
                 seed: int = 0) -> tuple[torch.Tensor, float]:
    """(average w [w_dim], spread: RMS distance of w from it) over ``samples`` random z."""
    device = generator.mapping.w_avg.device
    z = torch.from_numpy(np.random.RandomState(seed).randn(samples, generator.z_dim)).to(
        device=device, dtype=torch.float32)
    with torch.no_grad():
        w = generator.mapping(z, None, skip_w_avg_update=True)[:, 0].to(torch.float64)
    w_avg = w.mean(0)
    spread = float(((w - w_avg).square().sum() / samples).sqrt())
    return w_avg.to(torch.float32), spread


def learning_rate(step: int, settings: ProjectSettings) -> float:
    """The ramped learning rate at ``step`` (Karras et al.'s schedule)."""
    t = step / settings.steps
    down = min(1.0, (1.0 - t) / settings.ramp_down)
    down = 0.5 - 0.5 * math.cos(down * math.pi)
    up = min(1.0, t / settings.ramp_up) if settings.ramp_up > 0 else 1.0
    return settings.learning_rate * down * up


def project(generator: torch.nn.Module, target: torch.Tensor, settings: ProjectSettings, *,
            discriminator: torch.nn.Module | None = None,
            feature_net: Callable[[torch.Tensor], torch.Tensor] | None = None,
            on_step: Callable[[int, float, dict[str, float]], None] | None = None) -> Projection:
    """Find the w whose image is closest to ``target`` [1, C, R, R] in [-1, 1].

    ``on_step(step, loss, terms)`` is called after each step (1-based), for a progress bar.
    """
    if settings.space not in SPACES:
        raise GansmaniaError(f"space {settings.space!r}; allowed: {', '.join(SPACES)}")
    if settings.steps < 1:
        raise GansmaniaError(f"steps {settings.steps}; allowed an integer >= 1")
    if generator.c_dim:
        raise GansmaniaError("projecting into a conditional model (c_dim > 0) is not supported")
    expected = (1, generator.img_channels, generator.img_resolution, generator.img_resolution)
    if tuple(target.shape) != expected:
        raise ValueError(f"target must be {list(expected)}, got {list(target.shape)}")
    started = time.perf_counter()
    device = generator.mapping.w_avg.device
    target = target.to(device)
    loss_fn = ProjectionLoss(target, weights=settings.weights, discriminator=discriminator,
                             feature_net=feature_net)
    w_avg, w_spread = w_statistics(generator, seed=settings.seed)
    layers = generator.num_ws if settings.space == "w+" else 1
    w = w_avg.reshape(1, 1, -1).repeat(1, layers, 1).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([w], lr=settings.learning_rate, betas=(0.9, 0.999))
    noise = torch.Generator(device=device).manual_seed(settings.seed)

    def paint(ws: torch.Tensor) -> torch.Tensor:
        # Non-fused modulation: the same function, and its backward is faster on a CPU.
        return generator.synthesis(ws.expand(-1, generator.num_ws, -1), noise_mode="const",
                                   fused_modconv=False)

    for step in range(settings.steps):
        t = step / settings.steps
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, settings)
        strength = w_spread * settings.noise_start * max(0.0, 1.0 - t / settings.noise_ramp) ** 2
        jitter = torch.randn(w.shape, generator=noise, device=device) * strength
        loss, terms = loss_fn(paint(w + jitter))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step + 1, float(loss.detach()), terms)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        image = paint(w)
        loss, terms = loss_fn(image)
    found = w.detach()[0].cpu().numpy().astype(np.float32)
    return Projection(w=found[0] if settings.space == "w" else found, space=settings.space,
                      target=to_uint8(target)[0], image=to_uint8(image)[0], loss=float(loss),
                      terms=terms, steps=settings.steps, seconds=seconds)


# ------------------------------------------------------------------------------ to a file

@dataclass(frozen=True)
class ProjectedKeyframe:
    projection: Projection
    keyframe: Path  # NAME.w.safetensors
    comparison: Path  # NAME.projection.png: target | projection


def project_to_keyframe(image: Path | str, *, model: Path | str, out: Path | str,
                        settings: ProjectSettings, state: Path | str | None = None,
                        features: Path | str | None = None, device: str = "cpu",
                        on_step: Callable[[int, float, dict[str, float]], None] | None = None
                        ) -> ProjectedKeyframe:
    """Project ``image`` into ``model`` and write the keyframe (``out`` + .w.safetensors) and
    the side-by-side PNG (``out`` + .projection.png). ``state``: a training state (or any
    checkpoint with a ``D``) whose discriminator's features join the loss; ``features``: a
    TorchScript feature network file that does."""
    from training.checkpoint import module_digest
    from training.generate import load_model, save_png
    from training.keyframes import SUFFIX, keyframe_path, save_keyframe
    from training.projection_loss import discriminator_from, feature_net_from

    image, model = Path(image), Path(model)
    picture = read_image(image)  # a wrong path fails before the model loads
    generator = load_model(model, device=device)
    target = target_of(picture, resolution=generator.img_resolution,
                       channels=generator.img_channels)
    discriminator = discriminator_from(state, resolution=generator.img_resolution,
                                       device=device) if state is not None else None
    feature_net = feature_net_from(features, device=device) if features is not None else None
    found = project(generator, target, settings, discriminator=discriminator,
                    feature_net=feature_net, on_step=on_step)
    keyframe = keyframe_path(out)
    save_keyframe(keyframe, found.w, model=model.name, model_sha256=module_digest(generator),
                  image=image.name, steps=found.steps, loss=found.loss)
    comparison = keyframe.with_name(keyframe.name[:-len(SUFFIX)] + ".projection.png")
    save_png(found.side_by_side(), comparison)
    return ProjectedKeyframe(projection=found, keyframe=keyframe, comparison=comparison)
