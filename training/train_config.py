"""The resolved configuration of a training run (written next to the run as ``config.toml``).

``--config cpu|256|512|1024`` picks the networks and the training hyperparameters that go with
them (NVlabs' paper256/paper512/stylegan2 recipes for the GPU sizes, one sized for a laptop CPU);
command-line options and ``--set section.key=value`` override single keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from training.configs import CONFIGS, RESOLUTIONS, GeneratorConfig
from training.discriminator import DiscriminatorConfig
from visualizer.core.config import section, setting
from visualizer.core.errors import ConfigError


@dataclass(frozen=True)
class DataSettings:
    path: Path = setting(Path("data"), doc="folder or zip of training images")
    mirror: bool = setting(False, doc="also train on left-right mirrored copies (x-flip)")
    labels: bool = setting(False, doc="conditional model: use the labels in dataset.json")
    workers: int = setting(-1, doc="data-loading processes per GPU; -1 = 0 on CPU, 3 on CUDA",
                           min=-1, max=32)


@dataclass(frozen=True)
class ScheduleSettings:
    kimg: float = setting(25000.0, doc="train until this many thousand real images were shown",
                          min=0.001, max=1e6)
    batch: int = setting(32, doc="total batch size over all GPUs", min=1, max=4096)
    tick_kimg: float = setting(4.0, doc="thousand images per tick (progress report)", min=0.001, max=1000.0)
    snap: int = setting(50, doc="ticks between snapshots (checkpoint, sample grid, metrics)",
                        min=1, max=100000)
    keep_states: int = setting(2, doc="newest resumable training states to keep (older are deleted)",
                               min=1, max=1000)
    seed: int = setting(0, doc="random seed (data order, latents, augmentation)", min=0, max=2**31 - 1)


@dataclass(frozen=True)
class OptimSettings:
    g_lr: float = setting(0.0025, doc="generator Adam learning rate", min=1e-7, max=1.0)
    d_lr: float = setting(0.0025, doc="discriminator Adam learning rate", min=1e-7, max=1.0)
    beta1: float = setting(0.0, doc="Adam beta1", min=0.0, max=0.9999)
    beta2: float = setting(0.99, doc="Adam beta2", min=0.0, max=0.9999)
    g_reg_interval: int = setting(4, doc="G steps between path-length regularisation (lazy)", min=1, max=1000)
    d_reg_interval: int = setting(16, doc="D steps between R1 regularisation (lazy)", min=1, max=1000)


@dataclass(frozen=True)
class LossConfig:
    r1_gamma: float = setting(10.0, doc="R1 regularisation weight (gamma); 0 = off", min=0.0, max=1e4)
    pl_weight: float = setting(2.0, doc="path-length regularisation weight; 0 = off", min=0.0, max=1e3)
    style_mixing: float = setting(0.9, doc="probability of mixing two latents in one image", min=0.0, max=1.0)
    blurred_reals: float = setting(
        0.0, doc="weight of real images shown to D as fakes after a 2x FIR down-and-up blur "
        "(edge-promoting loss): D learns that softness is fake, so G is pushed to crisp edges; 0 = off",
        min=0.0, max=1.0)


@dataclass(frozen=True)
class AugmentSettings:
    mode: str = setting("ada", doc="ada = adaptive p; fixed = constant p; none = no augmentation",
                        choices=("ada", "fixed", "none"))
    pipeline: str = setting("bgc", doc="augmentations: bgc = blit+geometric+colour", choices=("bgc", "bg", "c"))
    target: float = setting(0.6, doc="ADA target of E[sign(D(real))]", min=0.0, max=1.0)
    p: float = setting(0.0, doc="initial (ada) or constant (fixed) augmentation probability",
                       min=0.0, max=1.0)
    interval: int = setting(4, doc="D steps between ADA adjustments", min=1, max=10000)
    speed_kimg: float = setting(500.0, doc="kimg for p to go from 0 to 1 at full overfitting",
                                min=0.001, max=1e6)


@dataclass(frozen=True)
class EmaSettings:
    kimg: float = setting(10.0, doc="half-life of the generator EMA (thousand images)", min=0.0, max=1e4)
    rampup: float | None = setting(None, doc="cap the half-life at this fraction of images shown; unset = off",
                                   min=0.0, max=1.0)


@dataclass(frozen=True)
class RuntimeSettings:
    device: str = setting("auto", doc="auto = CUDA when available", choices=("auto", "cpu", "cuda"))
    amp: bool = setting(True, doc="mixed precision (fp16 top layers) on CUDA; ignored on CPU")
    compile: bool = setting(False, doc="torch.compile the main G/D passes (not the regularisers)")
    threads: int = setting(0, doc="CPU threads for torch; 0 = torch's default", min=0, max=256)


@dataclass(frozen=True)
class MetricSettings:
    weights: Path | None = setting(None, doc="local feature-network file (TorchScript) for FID/KID; unset = off")
    art: bool = setting(False, doc="FID/KID with the built-in art statistics (training.art_features: "
                                   "colour layout, edges, scale of structure; no download)")
    images: int = setting(5000, doc="generated (and at most real) images per FID/KID", min=2, max=200000)


@dataclass(frozen=True)
class TrainConfig:
    preset: str = setting("cpu", doc="named architecture + recipe", choices=tuple(CONFIGS))
    out: Path = setting(Path("runs"), doc="run folder (snapshots, logs, config.toml)")
    resume: str = setting("", doc="'' = new run; 'auto' = newest state in out; or a state file")
    transfer: Path | None = setting(None, doc="start G (and D if present) from this checkpoint")
    transfer_resolution: int | None = setting(
        None, doc="train the transferred StyleGAN2 networks at this output size instead of "
                  "theirs: blocks both sizes have are loaded, the others start fresh (grow a "
                  "model trained cheaply at a low resolution)", choices=RESOLUTIONS)
    transfer_top: Path | None = setting(
        None, doc="when growing (transfer_resolution above the transfer's own size): take the "
                  "generator blocks the transfer lacks from this checkpoint, a model of the same "
                  "architecture at the new size, instead of starting them fresh (layer swapping: "
                  "low blocks retrained cheaply, put back under the model they were shrunk from)")
    data: DataSettings = section(DataSettings, doc="training images")
    generator: GeneratorConfig = section(GeneratorConfig, doc="generator architecture")
    discriminator: DiscriminatorConfig = section(DiscriminatorConfig, doc="discriminator architecture")
    schedule: ScheduleSettings = section(ScheduleSettings, doc="length, batch, ticks and snapshots")
    optim: OptimSettings = section(OptimSettings, doc="optimisers")
    loss: LossConfig = section(LossConfig, doc="loss and regularisation")
    augment: AugmentSettings = section(AugmentSettings, doc="adaptive discriminator augmentation")
    ema: EmaSettings = section(EmaSettings, doc="generator moving average (G_ema)")
    runtime: RuntimeSettings = section(RuntimeSettings, doc="device and speed")
    metrics: MetricSettings = section(MetricSettings, doc="FID/KID at snapshots")


def _recipe(preset: str, *, batch: int, mbstd: int, lr: float, gamma: float, ema_kimg: float,
            rampup: float | None, tick_kimg: float, snap: int) -> TrainConfig:
    g = CONFIGS[preset]
    d = DiscriminatorConfig(channel_base=g.channel_base, channel_max=g.channel_max,
                            num_fp16_res=g.num_fp16_res, conv_clamp=g.conv_clamp,
                            mbstd_group_size=mbstd)
    return TrainConfig(
        preset=preset, generator=g, discriminator=d,
        schedule=ScheduleSettings(batch=batch, tick_kimg=tick_kimg, snap=snap),
        optim=OptimSettings(g_lr=lr, d_lr=lr), loss=LossConfig(r1_gamma=gamma),
        ema=EmaSettings(kimg=ema_kimg, rampup=rampup))


# Per named config: NVlabs' recipes for the GPU sizes (train.py cfg_specs: paper256, paper512,
# stylegan2); `cpu` follows their 'auto' rule for 256px at batch 16 (gamma = 0.0002 R^2 / batch,
# EMA half-life batch * 10/32 kimg with ramp-up) with short ticks, since a CPU shows ~1 kimg in
# tens of minutes.
RECIPES: dict[str, TrainConfig] = {
    "cpu": _recipe("cpu", batch=16, mbstd=4, lr=0.0025, gamma=0.8192, ema_kimg=5.0, rampup=0.05,
                   tick_kimg=0.5, snap=1),
    "256": _recipe("256", batch=64, mbstd=8, lr=0.0025, gamma=1.0, ema_kimg=20.0, rampup=None,
                   tick_kimg=4.0, snap=50),
    "512": _recipe("512", batch=64, mbstd=8, lr=0.0025, gamma=0.5, ema_kimg=20.0, rampup=None,
                   tick_kimg=4.0, snap=50),
    "1024": _recipe("1024", batch=32, mbstd=4, lr=0.002, gamma=10.0, ema_kimg=10.0, rampup=None,
                    tick_kimg=4.0, snap=50),
}


def recipe(preset: str) -> TrainConfig:
    """The defaults of named config ``preset``; an unknown name is a one-line ConfigError."""
    try:
        return RECIPES[preset]
    except KeyError:
        raise ConfigError(f"--config {preset!r}: unknown; allowed: {', '.join(RECIPES)}") from None


def check(config: TrainConfig, *, world: int = 1) -> None:
    """Cross-field checks: batch split over GPUs and minibatch-std groups."""
    batch = config.schedule.batch
    if batch % world:
        raise ConfigError(f"schedule.batch = {batch} must be divisible by the {world} processes")
    per_gpu = batch // world
    group = min(config.discriminator.mbstd_group_size, per_gpu)
    if per_gpu % group:
        raise ConfigError(f"batch per process {per_gpu} must be divisible by "
                          f"discriminator.mbstd_group_size = {config.discriminator.mbstd_group_size}")
    if config.transfer_resolution is not None and config.transfer is None:
        raise ConfigError(f"transfer_resolution = {config.transfer_resolution} needs a transfer "
                          "checkpoint (--transfer) to grow")
    if config.transfer_top is not None and config.transfer_resolution is None:
        raise ConfigError(f"transfer_top = {config.transfer_top} needs --transfer and "
                          "--transfer-resolution (it fills the blocks a grown model lacks)")
    if config.transfer_top is not None and not Path(config.transfer_top).is_file():
        raise ConfigError(f"transfer_top = {config.transfer_top}: file not found")
    if config.metrics.weights is not None and config.metrics.art:
        raise ConfigError("metrics.weights and metrics.art are both set; allowed: one extractor")
    if config.metrics.weights is not None and not Path(config.metrics.weights).is_file():
        raise ConfigError(f"metrics.weights = {config.metrics.weights}: file not found")


def with_generator(config: TrainConfig, generator: GeneratorConfig) -> TrainConfig:
    """``config`` training a different generator (a transfer source's). D follows its widths,
    unless the run set D's own (``--set discriminator.channel_base=...``): a wider D for a
    transferred G is an experiment in its own right, and its widths must not be dropped. So is
    a G with its noise inputs off (``--set generator.use_noise=false``): it has to draw its
    edges from w, where the bundled model draws them with one noise input (README)."""
    if not config.generator.use_noise and getattr(generator, "use_noise", False):
        generator = generator.replace(use_noise=False)
    d = config.discriminator
    preset = RECIPES[config.preset].discriminator
    if (d.channel_base, d.channel_max) == (preset.channel_base, preset.channel_max):
        d = dataclasses.replace(d, channel_base=generator.channel_base,
                                channel_max=generator.channel_max)
    return dataclasses.replace(config, generator=generator, discriminator=d)
