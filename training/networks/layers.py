"""Layers with equalised learning rate, shared by the generator and the discriminator.

Weights are stored with unit variance and scaled at run time (``weight_gain``), so Adam's step
size is the same for every layer (Karras et al. 2018). Parameter and buffer names are those of
NVlabs stylegan2-ada-pytorch (``weight``, ``bias``, ``resample_filter``, ``affine``,
``noise_const``, ``noise_strength``), which is what lets their pickles load by name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from training.networks.ops import (activation_gain, bias_act, conv2d_resample, modulated_conv2d,
                                   normalize_taps, setup_filter)

DEFAULT_FILTER = (1, 3, 3, 1)
DEFAULT_TAPS = normalize_taps(DEFAULT_FILTER)  # for resampling an image: keeps its level
NOISE_MODES = ("random", "const", "none")


class FullyConnectedLayer(nn.Module):
    """Equalised-lr dense layer: [N, in_features] -> [N, out_features].

    ``lr_multiplier`` scales the effective learning rate (0.01 in the mapping network): the stored
    weight is ``randn / lr_multiplier`` and the run-time gain is ``lr_multiplier / sqrt(in)``.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 activation: str = "linear", lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        activation_gain(activation)  # fail early on an unknown name
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, activation={self.activation}"


class Conv2dLayer(nn.Module):
    """Equalised-lr convolution with optional FIR up/downsampling by 2, bias, activation and clamp.

    x [N, in_channels, H, W] -> [N, out_channels, H*up/down, W*up/down]. The discriminator's
    building block (fromrgb, conv0/conv1, resnet skip). ``trainable=False`` stores the weights as
    buffers (Freeze-D).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, bias: bool = True,
                 activation: str = "linear", up: int = 1, down: int = 1,
                 resample_filter: Sequence[float] = DEFAULT_FILTER, conv_clamp: float | None = None,
                 trainable: bool = True):
        super().__init__()
        self.activation = activation
        self.up, self.down = up, down
        self.conv_clamp = conv_clamp
        # The buffer keeps NVlabs' state_dict layout; the math uses the equal 1D taps.
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.resample_taps = normalize_taps(resample_filter)
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = activation_gain(activation)
        weight = torch.randn([out_channels, in_channels, kernel_size, kernel_size])
        bias_value = torch.zeros([out_channels]) if bias else None
        if trainable:
            self.weight = nn.Parameter(weight)
            self.bias = nn.Parameter(bias_value) if bias_value is not None else None
        else:
            self.register_buffer("weight", weight)
            if bias_value is not None:
                self.register_buffer("bias", bias_value)
            else:
                self.bias = None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight * self.weight_gain
        b = self.bias.to(x.dtype) if self.bias is not None else None
        x = conv2d_resample(x, w.to(x.dtype), f=self.resample_taps, up=self.up, down=self.down,
                            padding=self.padding, flip_weight=(self.up == 1))
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, b, act=self.activation, gain=self.act_gain * gain, clamp=act_clamp)


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution + noise + bias + activation; optional 2x upsampling first.

    x [N, in_channels, R/up, R/up], w [N, w_dim] -> [N, out_channels, R, R] with R = resolution.
    """

    def __init__(self, in_channels: int, out_channels: int, *, w_dim: int, resolution: int,
                 kernel_size: int = 3, up: int = 1, use_noise: bool = True,
                 activation: str = "lrelu", resample_filter: Sequence[float] = DEFAULT_FILTER,
                 conv_clamp: float | None = None):
        super().__init__()
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.activation = activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.resample_taps = normalize_taps(resample_filter)
        self.padding = kernel_size // 2
        self.act_gain = activation_gain(activation)
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(
            torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, *, noise_mode: str = "random",
                fused_modconv: bool = True, gain: float = 1.0,
                noise_gain: float | torch.Tensor = 1.0) -> torch.Tensor:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode {noise_mode!r}; allowed: {', '.join(NOISE_MODES)}")
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn([x.shape[0], 1, self.resolution, self.resolution],
                                device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        if noise is not None and not (isinstance(noise_gain, int | float) and noise_gain == 1):
            # The live controller scales the learned noise (e.g. by bass); [N] gains per sample.
            noise = noise * torch.as_tensor(noise_gain, dtype=x.dtype,
                                            device=x.device).reshape(-1, 1, 1, 1)
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_taps, flip_weight=(self.up == 1),
                             fused=fused_modconv)
        act_clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias.to(x.dtype), act=self.activation, gain=self.act_gain * gain,
                        clamp=act_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution, no demodulation: features [N, C, R, R] -> image [N, 3, R, R]."""

    def __init__(self, in_channels: int, out_channels: int, *, w_dim: int, kernel_size: int = 1,
                 conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(
            torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, *,
                fused_modconv: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused_modconv)
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)
