"""The StyleGAN2(-ADA) generator: mapping + synthesis, built from a :class:`GeneratorConfig`.

For the same weights it computes the same function as NVlabs stylegan2-ada-pytorch's
``training.networks.Generator`` (its state_dict names included), so their models load by name.
"""

from __future__ import annotations

import torch
from torch import nn

from training.configs import GeneratorConfig
from training.networks.mapping import MappingNetwork
from training.networks.synthesis import SynthesisNetwork


class Generator(nn.Module):
    """z [N, z_dim] (+ c [N, c_dim]) -> image [N, img_channels, R, R], float32, about [-1, 1].

    ``mapping`` gives ws [N, num_ws, w_dim]; ``synthesis`` paints them. Keyword options:
    ``truncation_psi``/``truncation_cutoff`` (pull w towards ``mapping.w_avg``),
    ``noise_mode`` ('random' | 'const' | 'none'), ``fused_modconv`` (True = grouped conv,
    False = constant-weight form for ONNX/TensorRT, None = NVlabs' automatic choice) and
    ``force_fp32``.
    """

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        config.check()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        self.synthesis = SynthesisNetwork(
            w_dim=config.w_dim, img_resolution=config.img_resolution,
            img_channels=config.img_channels, channel_base=config.channel_base,
            channel_max=config.channel_max, num_fp16_res=config.num_fp16_res,
            architecture=config.architecture, resample_filter=config.resample_filter,
            conv_clamp=config.conv_clamp, use_noise=config.use_noise,
            activation=config.activation)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim, num_ws=self.num_ws,
            num_layers=config.mapping_layers, embed_features=config.embed_features,
            layer_features=config.mapping_layer_features, activation=config.mapping_activation,
            lr_multiplier=config.mapping_lr_multiplier, w_avg_beta=config.w_avg_beta)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, *,
                truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: str = "random", fused_modconv: bool | None = None,
                force_fp32: bool = False) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, fused_modconv=fused_modconv,
                              force_fp32=force_fp32)

    @property
    def w_avg(self) -> torch.Tensor:
        """The tracked mean w [w_dim] (the truncation centre)."""
        return self.mapping.w_avg
