"""The StyleGAN2 discriminator, built from the generator's layer primitives.

Image [N, C, R, R] (+ label c [N, c_dim]) -> logit [N, 1]. Blocks ``b{R} .. b8`` halve the
resolution (two 3x3 convs), then the 4x4 epilogue (minibatch standard deviation, conv, dense,
output; a label projection when conditional). Two of NVlabs' architectures:

- ``resnet`` (their default): fromrgb at the top block only, a 1x1 residual skip in every block.
- ``skip``: no residual; every block and the epilogue add fromrgb of the image downsampled to
  their own size, so the small blocks see the picture directly, not only through the top
  blocks' features (8 channels wide at 256 px in the ``cpu`` config).

Module and parameter names are NVlabs', so their discriminators load by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from training.networks.layers import DEFAULT_FILTER, DEFAULT_TAPS, Conv2dLayer, FullyConnectedLayer
from training.networks.mapping import MappingNetwork
from training.networks.ops import downsample2d
from visualizer.core.config import setting

ARCHITECTURES = ("resnet", "skip")


@dataclass(frozen=True)
class DiscriminatorConfig:
    channel_base: int = setting(16384, doc="channels at resolution r = min(channel_base / r, channel_max)",
                                min=1, max=1 << 20)
    channel_max: int = setting(512, doc="most channels in any discriminator layer", min=1, max=4096)
    num_fp16_res: int = setting(0, doc="run the N highest resolutions in fp16 (CUDA only)", min=0, max=16)
    conv_clamp: float | None = setting(None, doc="clamp conv outputs to +-this; unset = no clamp",
                                       min=0.0, max=1e6)
    mbstd_group_size: int = setting(4, doc="minibatch-stddev group size (batch per GPU must divide by it)",
                                    min=1, max=256)
    mbstd_channels: int = setting(1, doc="minibatch-stddev feature channels", min=0, max=64)
    architecture: str = setting("resnet", doc="resnet: residual blocks, the image enters at the "
                                "top; skip: the image, downsampled, enters every block",
                                choices=ARCHITECTURES)


class DiscriminatorBlock(nn.Module):
    """[N, tmp, R, R] + image [N, C, R, R] -> [N, out, R/2, R/2] + the image at R/2 (``skip``;
    None once no block below reads it)."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, *, img_channels: int,
                 architecture: str, use_fp16: bool, conv_clamp: float | None):
        super().__init__()
        self.in_channels = in_channels
        self.architecture = architecture
        self.use_fp16 = use_fp16
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu",
                                       conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2,
                                 conv_clamp=conv_clamp, resample_filter=DEFAULT_FILTER)
        if architecture == "resnet":
            self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2,
                                    resample_filter=DEFAULT_FILTER)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, *,
                force_fp32: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        fp16 = self.use_fp16 and not force_fp32 and (x if x is not None else img).device.type == "cuda"
        dtype = torch.float16 if fp16 else torch.float32
        if x is not None:
            x = x.to(dtype)
        if self.in_channels == 0 or self.architecture == "skip":
            y = self.fromrgb(img.to(dtype))
            x = x + y if x is not None else y
            img = downsample2d(img, DEFAULT_TAPS) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            return y + self.conv1(self.conv0(x), gain=math.sqrt(0.5)), img
        return self.conv1(self.conv0(x)), img


class MinibatchStdLayer(nn.Module):
    """Append the std-dev across groups of ``group_size`` images as ``num_channels`` feature maps,
    so D can see a lack of variety (mode collapse) within a batch."""

    def __init__(self, group_size: int, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)  # [group, n/group, f, c/f, h, w]
        y = (y - y.mean(0)).square().mean(0)
        y = (y + 1e-8).sqrt().mean([2, 3, 4]).reshape(-1, f, 1, 1)
        return torch.cat([x, y.repeat(g, 1, h, w)], 1)


class DiscriminatorEpilogue(nn.Module):
    """[N, C, 4, 4] -> logit [N, 1]; with ``cmap_dim`` > 0 the output is projected on a label map."""

    def __init__(self, in_channels: int, *, cmap_dim: int, mbstd_group_size: int,
                 mbstd_channels: int, conv_clamp: float | None, img_channels: int = 3,
                 architecture: str = "resnet"):
        super().__init__()
        self.cmap_dim = cmap_dim
        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, 1, activation="lrelu",
                                       conv_clamp=conv_clamp)
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_channels) if mbstd_channels else None
        self.conv = Conv2dLayer(in_channels + mbstd_channels, in_channels, 3, activation="lrelu",
                                conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * 16, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, cmap_dim if cmap_dim > 0 else 1)

    def forward(self, x: torch.Tensor, img: torch.Tensor | None,
                cmap: torch.Tensor | None) -> torch.Tensor:
        x = x.to(torch.float32)
        if img is not None:  # skip: the image at 4x4
            x = x + self.fromrgb(img.to(torch.float32))
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator: img [N, img_channels, R, R], c [N, c_dim] -> [N, 1]."""

    def __init__(self, config: DiscriminatorConfig, *, img_resolution: int, img_channels: int = 3,
                 c_dim: int = 0):
        super().__init__()
        self.config = config
        self.force_fp32 = False  # the training loop sets it when mixed precision is off
        self.img_resolution, self.img_channels, self.c_dim = img_resolution, img_channels, c_dim
        log2 = int(math.log2(img_resolution))
        if img_resolution < 4 or 2 ** log2 != img_resolution:
            raise ValueError(f"img_resolution must be a power of 2 >= 4, got {img_resolution}")
        self.block_resolutions = [2 ** i for i in range(log2, 2, -1)]
        channels = {r: min(config.channel_base // r, config.channel_max)
                    for r in self.block_resolutions + [4]}
        fp16_resolution = max(2 ** (log2 + 1 - config.num_fp16_res), 8)
        cmap_dim = channels[4] if c_dim > 0 else 0
        for res in self.block_resolutions:
            block = DiscriminatorBlock(channels[res] if res < img_resolution else 0, channels[res],
                                       channels[res // 2], img_channels=img_channels,
                                       architecture=config.architecture,
                                       use_fp16=res >= fp16_resolution, conv_clamp=config.conv_clamp)
            setattr(self, f"b{res}", block)
        if c_dim > 0:
            self.mapping = MappingNetwork(z_dim=0, c_dim=c_dim, w_dim=cmap_dim, num_ws=None,
                                          w_avg_beta=None)
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim=cmap_dim,
                                        mbstd_group_size=config.mbstd_group_size,
                                        mbstd_channels=config.mbstd_channels,
                                        conv_clamp=config.conv_clamp, img_channels=img_channels,
                                        architecture=config.architecture)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, *,
                force_fp32: bool | None = None) -> torch.Tensor:
        force_fp32 = self.force_fp32 if force_fp32 is None else force_fp32
        x = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img, force_fp32=force_fp32)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, img, cmap)
