"""Generator architectures: one typed config, and the named ones (`cpu`, `256`, `512`, `1024`).

A ``GeneratorConfig`` says everything needed to rebuild a generator from its weights; checkpoints
carry it in their header. Field names follow NVlabs' ``Generator`` keyword arguments (flattened),
so a pickle's ``init_kwargs`` translate one to one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from visualizer.core.config import from_dict, setting
from visualizer.core.errors import ConfigError

ARCHITECTURES = ("skip", "orig", "resnet")
ACTIVATIONS = ("lrelu", "relu", "linear")


@dataclass(frozen=True)
class GeneratorConfig:
    # Latents.
    z_dim: int = setting(512, doc="input latent (z) size", min=1, max=4096)
    w_dim: int = setting(512, doc="intermediate latent (w) size", min=1, max=4096)
    c_dim: int = setting(0, doc="conditioning label size; 0 = unconditional", min=0, max=100000)
    # Output.
    img_resolution: int = setting(256, doc="output size (pixels, square, power of 2)",
                                  choices=(4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048))
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *,
                  origin: str = "generator config") -> GeneratorConfig:
        """Validate a plain mapping (a checkpoint header's ``config``); errors name ``origin``."""
        config = from_dict(cls, data, origin=origin)
        config.check(origin=origin)
        return config

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
