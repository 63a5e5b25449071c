"""Generator architectures: one typed config, and the named ones (`cpu`, `256`, `512`, `1024`).

A ``GeneratorConfig`` says everything needed to rebuild a generator from its weights; checkpoints
carry it in their header. Field names follow NVlabs' ``Generator`` keyword arguments (flattened),
so a pickle's ``init_kwargs`` translate one to one. ``StyleGAN3Config`` is the same for the
alias-free generator (configs T and R); :func:`generator_config_from_dict` picks the class from
the stored ``architecture``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from visualizer.core.config import from_dict, setting
from visualizer.core.errors import ConfigError

ARCHITECTURES = ("skip", "orig", "resnet")
STYLEGAN3_ARCHITECTURES = ("stylegan3-t", "stylegan3-r")
ACTIVATIONS = ("lrelu", "relu", "linear")


RESOLUTIONS = (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)  # output sizes a generator can have


class _CheckedConfig:
    """A generator config read from a plain mapping: each field in its range, then the
    cross-field ``check`` of the subclass."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "generator config") -> Self:
        """Validate a plain mapping (a checkpoint header's ``config``); errors name ``origin``."""
        config = from_dict(cls, data, origin=origin)
        config.check(origin=origin)
        return config


@dataclass(frozen=True)
class GeneratorConfig(_CheckedConfig):
    # Latents.
    z_dim: int = setting(512, doc="input latent (z) size", min=1, max=4096)
    w_dim: int = setting(512, doc="intermediate latent (w) size", min=1, max=4096)
    c_dim: int = setting(0, doc="conditioning label size; 0 = unconditional", min=0, max=100000)
    # Output.
    img_resolution: int = setting(256, doc="output size (pixels, square, power of 2)",
                                  choices=RESOLUTIONS)
    img_channels: int = setting(3, doc="output colour channels", min=1, max=4)
    # Mapping network.
    mapping_layers: int = setting(8, doc="fully connected layers in the mapping network",
                                  min=1, max=32)
    mapping_lr_multiplier: float = setting(0.01, doc="learning-rate multiplier of the mapping "
                                           "layers", min=1e-6, max=1.0)
    mapping_layer_features: int | None = setting(None, doc="mapping hidden width; unset = w_dim",
                                                 min=1, max=4096)
    embed_features: int | None = setting(None, doc="label embedding size; unset = w_dim",
                                         min=1, max=4096)
    mapping_activation: str = setting("lrelu", doc="mapping activation", choices=ACTIVATIONS)
    w_avg_beta: float | None = setting(0.995, doc="decay of the tracked mean w (truncation centre)",
                                       min=0.0, max=1.0)
    # Synthesis network.
    channel_base: int = setting(16384, doc="channels at resolution r = min(channel_base / r, "
                                "channel_max)", min=1, max=1 << 20)
    channel_max: int = setting(512, doc="most channels in any synthesis layer", min=1, max=4096)
    architecture: str = setting("skip", doc="ToRGB/skip architecture", choices=ARCHITECTURES)
    activation: str = setting("lrelu", doc="synthesis activation", choices=ACTIVATIONS)
    use_noise: bool = setting(True, doc="per-layer noise inputs")
    conv_clamp: float | None = setting(None, doc="clamp conv outputs to +-this; unset = no clamp",
                                       min=0.0, max=1e6)
    num_fp16_res: int = setting(0, doc="run the N highest resolutions in fp16 (CUDA only)",
                                min=0, max=16)
    resample_filter: tuple[float, ...] = setting((1.0, 3.0, 3.0, 1.0),
                                                 doc="FIR taps for up/downsampling")

    # ------------------------------------------------------------------ derived quantities

    @property
    def block_resolutions(self) -> list[int]:
        """Resolutions of the synthesis blocks, 4 .. img_resolution."""
        return [2 ** i for i in range(2, self.img_resolution.bit_length())]

    def channels(self, resolution: int) -> int:
        """Feature channels of the synthesis block at ``resolution``."""
        return min(self.channel_base // resolution, self.channel_max)

    @property
    def num_ws(self) -> int:
        """How many w vectors the synthesis network takes (one per conv layer + the last ToRGB)."""
        return 2 * len(self.block_resolutions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; unlike TOML output, None is kept (w_avg_beta=None means no w_avg)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}

    def check(self, *, origin: str = "generator config") -> None:
        """Cross-field checks the per-field ranges cannot express."""
        if self.channels(self.img_resolution) < 1:
            raise ConfigError(f"{origin}: channel_base {self.channel_base} gives 0 channels at "
                              f"{self.img_resolution}px; allowed channel_base >= "
                              f"{self.img_resolution}")
        if self.mapping_layers < 1 or len(self.resample_filter) < 1:
            raise ConfigError(f"{origin}: mapping_layers and resample_filter must be non-empty")

    def replace(self, **changes: Any) -> GeneratorConfig:
        return dataclasses.replace(self, **changes)


# The w layers by the resolution of the block they feed: coarse <= 8 px (layout), middle
# 16-32 px (shapes), fine >= 64 px (colour, texture); training.latents.layer_group picks them.
LAYER_GROUPS = ("all", "coarse", "middle", "fine", "coarse_middle", "middle_fine")

# The named configs. `256`/`512`/`1024` are NVlabs' paper256/paper512/stylegan2 generators
# (channel_base 16384/32768, 512 channels max, fp16 in the 4 top blocks with clamp 256).
# `cpu` is sized for real time at 256x256 on a 2-core laptop CPU, batch 1, torch eager
# (bench/generator.py): channels 256 at 4-8 px halving down to 8 at 256 px, 3.5M parameters,
# about 20 ms a frame on 2 cores. channel_base 4096 doubled that; 1024 left 4 channels at 256 px.
CONFIGS: dict[str, GeneratorConfig] = {
    "cpu": GeneratorConfig(z_dim=256, w_dim=256, img_resolution=256, channel_base=2048,
                           channel_max=256),
    "256": GeneratorConfig(img_resolution=256, channel_base=16384, channel_max=512,
                           num_fp16_res=4, conv_clamp=256.0),
    "512": GeneratorConfig(img_resolution=512, channel_base=32768, channel_max=512,
                           num_fp16_res=4, conv_clamp=256.0),
    "1024": GeneratorConfig(img_resolution=1024, channel_base=32768, channel_max=512,
                            num_fp16_res=4, conv_clamp=256.0),
}


def named_config(name: str) -> GeneratorConfig:
    """The named generator config; an unknown name is a one-line :class:`ConfigError`."""
    try:
        return CONFIGS[name]
    except KeyError:
        allowed = ", ".join(CONFIGS)
        raise ConfigError(f"unknown generator config {name!r}; allowed: {allowed}") from None


@dataclass(frozen=True)
class StyleGAN3Config(_CheckedConfig):
    """The alias-free generator (Karras et al. 2021); defaults are NVlabs' config T.

    Config R is ``architecture="stylegan3-r"`` with ``conv_kernel=1``, ``use_radial_filters=True``
    and channel_base/channel_max doubled; :func:`stylegan3_config` sets them.
    """

    architecture: str = setting("stylegan3-t", doc="alias-free variant: translation (T) or "
                                "rotation (R) equivariant", choices=STYLEGAN3_ARCHITECTURES)
    # Latents.
    z_dim: int = setting(512, doc="input latent (z) size", min=1, max=4096)
    w_dim: int = setting(512, doc="intermediate latent (w) size", min=1, max=4096)
    c_dim: int = setting(0, doc="conditioning label size; 0 = unconditional", min=0, max=100000)
    # Output.
    img_resolution: int = setting(256, doc="output size (pixels, square, power of 2)",
                                  choices=(16, 32, 64, 128, 256, 512, 1024, 2048))
    img_channels: int = setting(3, doc="output colour channels", min=1, max=4)
    # Mapping network (ours, as for StyleGAN2: the same layers with 2 instead of 8 of them).
    mapping_layers: int = setting(2, doc="fully connected layers in the mapping network",
                                  min=1, max=32)
    mapping_lr_multiplier: float = setting(0.01, doc="learning-rate multiplier of the mapping "
                                           "layers", min=1e-6, max=1.0)
    w_avg_beta: float = setting(0.998, doc="decay of the tracked mean w (truncation centre)",
                                min=0.0, max=1.0)
    # Synthesis network.
    channel_base: int = setting(32768, doc="channels of a layer = min(channel_base / 2 / cutoff, "
                                "channel_max)", min=1, max=1 << 20)
    channel_max: int = setting(512, doc="most channels in any synthesis layer", min=1, max=4096)
    num_layers: int = setting(14, doc="synthesis layers, not counting the Fourier input and "
                              "ToRGB", min=3, max=64)
    num_critical: int = setting(2, doc="critically sampled layers at the end", min=0, max=64)
    first_cutoff: float = setting(2.0, doc="cutoff frequency of the first layer", min=0.1,
                                  max=4096.0)
    first_stopband: float = setting(2 ** 2.1, doc="minimum stopband of the first layer",
                                    min=0.1, max=4096.0)
    last_stopband_rel: float = setting(2 ** 0.3, doc="minimum stopband of the last layer, "
                                       "relative to its cutoff", min=1.0, max=16.0)
    margin_size: int = setting(10, doc="extra pixels computed around the image", min=0, max=256)
    output_scale: float = setting(0.25, doc="scale of the output image", min=0.0, max=100.0)
    num_fp16_res: int = setting(4, doc="run the layers of the N highest sampling rates in fp16 "
                                "(CUDA only)", min=0, max=16)
    conv_kernel: int = setting(3, doc="convolution kernel size (1 in config R)", min=1, max=7)
    filter_size: int = setting(6, doc="low-pass filter taps per factor of up/downsampling",
                               min=1, max=32)
    lrelu_upsampling: int = setting(2, doc="sampling-rate factor the leaky ReLU runs at",
                                    min=1, max=8)
    use_radial_filters: bool = setting(False, doc="radially symmetric downsampling filters "
                                       "(config R)")
    conv_clamp: float | None = setting(256.0, doc="clamp layer outputs to +-this; unset = none",
                                       min=0.0, max=1e6)
    magnitude_ema_beta: float = setting(0.999, doc="decay of each layer's tracked input "
                                        "magnitude", min=0.0, max=1.0)

    @property
    def num_ws(self) -> int:
        """How many w vectors the synthesis network takes (input + layers + ToRGB)."""
        return self.num_layers + 2

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def check(self, *, origin: str = "generator config") -> None:
        """Cross-field checks the per-field ranges cannot express."""
        if self.num_critical >= self.num_layers:
            raise ConfigError(f"{origin}: num_critical {self.num_critical} must be below "
                              f"num_layers {self.num_layers}")
        if self.first_cutoff >= self.img_resolution / 2:
            raise ConfigError(f"{origin}: first_cutoff {self.first_cutoff} must be below half the "
                              f"resolution ({self.img_resolution / 2:g})")

    def replace(self, **changes: Any) -> StyleGAN3Config:
        return dataclasses.replace(self, **changes)


def stylegan3_config(architecture: str = "stylegan3-t", **fields: Any) -> StyleGAN3Config:
    """NVlabs' config T or R (``train.py --cfg``), with ``fields`` overriding any value."""
    if architecture == "stylegan3-r":
        fields = {"conv_kernel": 1, "use_radial_filters": True, "channel_base": 65536,
                  "channel_max": 1024, **fields}
    return StyleGAN3Config(architecture=architecture, **fields)


def generator_config_from_dict(data: Mapping[str, Any], *, origin: str = "generator config"
                               ) -> GeneratorConfig | StyleGAN3Config:
    """The config class a stored config dict belongs to (by its ``architecture``), validated."""
    if isinstance(data, Mapping) and data.get("architecture") in STYLEGAN3_ARCHITECTURES:
        return StyleGAN3Config.from_dict(data, origin=origin)
    return GeneratorConfig.from_dict(data, origin=origin)
