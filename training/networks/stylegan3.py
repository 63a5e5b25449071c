"""The StyleGAN3 (alias-free) generator, configs T and R: Fourier-feature input, then layers
that each upsample, apply the nonlinearity at a higher rate and low-pass back down
(Karras et al. 2021, "Alias-Free Generative Adversarial Networks").

For the same weights it computes the same function as NVlabs stylegan3's generator, and its
parameter and buffer names are theirs (``synthesis.input.*``, ``synthesis.L{i}_{size}_{ch}.*``),
so imported pickles load by name. The mapping network is ours, shared with StyleGAN2.

The input's transform is live: ``synthesis(ws, transform=...)`` takes per-sample
(translate_x, translate_y, rotate_deg) and moves the picture without re-rendering anything else
(translations in image widths, rotation in degrees, counter-clockwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.configs import StyleGAN3Config
from training.networks.layers import FullyConnectedLayer
from training.networks.mapping import MappingNetwork
from training.networks.stylegan3_ops import design_lowpass_filter, filtered_lrelu, modulated_conv

NOISE_MODES = ("random", "const", "none")  # accepted for StyleGAN2 call compatibility: no noise


@dataclass(frozen=True)
class LayerPlan:
    """Sampling rate, cutoff, transition half-width, size and channels of one layer's output."""

    sampling_rate: int
    cutoff: float
    half_width: float
    size: int
    channels: int


def layer_plan(config: StyleGAN3Config) -> list[LayerPlan]:
    """The input (index 0) and each layer's output (1 .. num_layers + 1, the last is ToRGB).

    Cutoffs and minimum stopbands grow geometrically from the first layer to the last
    ``num_critical`` ones, which sit at the output's Nyquist frequency; each sampling rate is the
    power of 2 that fits the stopband; layers carry ``margin_size`` extra pixels each side.
    """
    n, res = config.num_layers, config.img_resolution
    last_cutoff = res / 2
    last_stopband = last_cutoff * config.last_stopband_rel
    exponents = np.minimum(np.arange(n + 1) / (n - config.num_critical), 1)
    cutoffs = config.first_cutoff * (last_cutoff / config.first_cutoff) ** exponents
    stopbands = config.first_stopband * (last_stopband / config.first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + config.margin_size * 2
    sizes[-2:] = res
    channels = np.rint(np.minimum((config.channel_base / 2) / cutoffs, config.channel_max))
    channels[-1] = config.img_channels
    return [LayerPlan(sampling_rate=int(rates[i]), cutoff=float(cutoffs[i]),
                      half_width=float(half_widths[i]), size=int(sizes[i]),
                      channels=int(channels[i])) for i in range(n + 1)]


def transform_matrix(transform: torch.Tensor) -> torch.Tensor:
    """[N, 3] (translate_x, translate_y, rotate_deg) -> [N, 3, 3]: the *inverse* of that motion
    of the image, which is what the Fourier input applies to its sampling coordinates."""
    tx, ty, angle = transform.unbind(dim=1)
    radians = angle * (math.pi / 180)
    c, s = torch.cos(radians), torch.sin(radians)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    # The image moves by [[c, s, tx], [-s, c, ty]]; its inverse is [[R^T, -R^T t], [0, 1]].
    rows = [torch.stack([c, -s, -(c * tx - s * ty)], dim=1),
            torch.stack([s, c, -(s * tx + c * ty)], dim=1),
            torch.stack([zero, zero, one], dim=1)]
    return torch.stack(rows, dim=1)


class FourierInput(nn.Module):
    """w [N, w_dim] -> Fourier features [N, channels, size, size]: sinusoids of fixed random
    frequencies (inside the first layer's band) and phases, rotated and translated by an affine
    of w (and the user transform), then mixed by a learned channel matrix."""

    def __init__(self, *, w_dim: int, channels: int, size: int, sampling_rate: float,
                 bandwidth: float):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, size
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        # Frequencies drawn uniformly from the disc of radius `bandwidth`.
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        # (cos, sin, tx, ty) of the learned motion; starts at no rotation, no translation.
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))  # a stored user transform (inverse)
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand([channels]) - 0.5)
        # Sample positions of the pixel centres, in units where the sampling rate is 1/pixel.
        coords = (torch.arange(size, dtype=torch.float64) + 0.5 - size / 2) / sampling_rate
        grid = torch.stack(torch.meshgrid(coords, coords, indexing="xy"), dim=-1)  # [H, W, xy]
        self.register_buffer("grid", grid.to(torch.float32), persistent=False)

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        batch = w.shape[0]
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)  # a unit (cos, sin) pair
        c, s, tx, ty = t.unbind(dim=1)
        zero, one = torch.zeros_like(c), torch.ones_like(c)
        # Inverse rotation then inverse translation of the sampling grid, then the user's.
        rotation = torch.stack([torch.stack([c, -s, zero], 1), torch.stack([s, c, zero], 1),
                                torch.stack([zero, zero, one], 1)], dim=1)
        translation = torch.stack([torch.stack([one, zero, -tx], 1),
                                   torch.stack([zero, one, -ty], 1),
                                   torch.stack([zero, zero, one], 1)], dim=1)
        user = self.transform.unsqueeze(0)
        if transform is not None:
            user = user @ transform_matrix(transform.to(torch.float32))
        m = rotation @ translation @ user  # [N, 3, 3]

        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ m[:, :2, 2:]).squeeze(2)
        freqs = self.freqs.unsqueeze(0) @ m[:, :2, :2]  # [N, C, 2]
        # Frequencies a user transform pushes out of band fade out instead of aliasing.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth)
                      / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        # [H*W, 2] @ [N, 2, C]: a plain MatMul (no Einsum) for the ONNX/TensorRT graph.
        x = self.grid.reshape(-1, 2) @ freqs.transpose(1, 2)  # [N, H*W, C]
        x = torch.sin((x + phases.unsqueeze(1)) * (2 * math.pi)) * amplitudes.unsqueeze(1)
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.transpose(1, 2).reshape(batch, self.channels, self.size, self.size)


class AliasFreeLayer(nn.Module):
    """Modulated convolution + filtered leaky ReLU (or the final ToRGB: 1x1, linear).

    x [N, in_channels, in_size, in_size], w [N, w_dim] -> [N, out_channels, out_size, out_size].
    """

    def __init__(self, *, w_dim: int, is_torgb: bool, is_critically_sampled: bool,
                 use_fp16: bool, inp: LayerPlan, out: LayerPlan, conv_kernel: int = 3,
                 filter_size: int = 6, lrelu_upsampling: int = 2, use_radial_filters: bool = False,
                 conv_clamp: float | None = 256.0, magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.w_dim, self.is_torgb = w_dim, is_torgb
        self.is_critically_sampled, self.use_fp16 = is_critically_sampled, use_fp16
        self.in_channels, self.out_channels = inp.channels, out.channels
        self.in_size, self.out_size = inp.size, out.size
        self.in_sampling_rate, self.out_sampling_rate = inp.sampling_rate, out.sampling_rate
        self.tmp_sampling_rate = max(inp.sampling_rate, out.sampling_rate) * (
            1 if is_torgb else lrelu_upsampling)
        self.in_cutoff, self.out_cutoff = inp.cutoff, out.cutoff
        self.in_half_width, self.out_half_width = inp.half_width, out.half_width
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta
        self.gain = 1.0 if is_torgb else math.sqrt(2)
        self.slope = 1.0 if is_torgb else 0.2

        self.affine = FullyConnectedLayer(w_dim, self.in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(
            [self.out_channels, self.in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([self.out_channels]))
        # The input's mean square tracked in training; its rsqrt normalises the input.
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = round(self.tmp_sampling_rate / self.in_sampling_rate)
        self.down_factor = round(self.tmp_sampling_rate / self.out_sampling_rate)
        if (self.in_sampling_rate * self.up_factor != self.tmp_sampling_rate
                or self.out_sampling_rate * self.down_factor != self.tmp_sampling_rate):
            raise ValueError(f"sampling rates {self.in_sampling_rate} -> {self.out_sampling_rate} "
                             f"are not integer factors of {self.tmp_sampling_rate}")
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(
            numtaps=self.up_taps, cutoff=self.in_cutoff, width=self.in_half_width * 2,
            fs=self.tmp_sampling_rate))
        self.down_taps = (filter_size * self.down_factor
                          if self.down_factor > 1 and not is_torgb else 1)
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer("down_filter", design_lowpass_filter(
            numtaps=self.down_taps, cutoff=self.out_cutoff, width=self.out_half_width * 2,
            fs=self.tmp_sampling_rate, radial=self.down_radial))

        # Padding that places the output samples symmetrically (the paper's Appendix C.3).
        pad_total = (self.out_size - 1) * self.down_factor + 1  # size before downsampling
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor  # after upsampling
        pad_total += self.up_taps + self.down_taps - 2  # what the two filters take away
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [pad_lo, pad_hi, pad_lo, pad_hi]

    def forward(self, x: torch.Tensor, w: torch.Tensor, *, fused_modconv: bool = True,
                force_fp32: bool = False) -> torch.Tensor:
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel ** 2))
        fp16 = self.use_fp16 and not force_fp32 and x.device.type == "cuda"
        x = x.to(torch.float16 if fp16 else torch.float32)
        x = modulated_conv(x, self.weight, styles, demodulate=not self.is_torgb,
                           padding=self.conv_kernel - 1, input_gain=self.magnitude_ema.rsqrt(),
                           fused=fused_modconv)
        return filtered_lrelu(x, bias=self.bias, up_filter=self.up_filter,
                              down_filter=self.down_filter, up=self.up_factor,
                              down=self.down_factor, padding=self.padding, gain=self.gain,
                              slope=self.slope, clamp=self.conv_clamp)


class AliasFreeSynthesis(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, img_channels, R, R] (float32, about [-1, 1]).

    ws[:, 0] drives the Fourier input, ws[:, i] layer i (the last one ToRGB). Layers are named
    ``L{i}_{size}_{channels}``, their names listed in ``layer_names``.
    """

    def __init__(self, config: StyleGAN3Config):
        super().__init__()
        self.w_dim, self.img_resolution = config.w_dim, config.img_resolution
        self.img_channels = config.img_channels
        self.num_layers, self.num_critical = config.num_layers, config.num_critical
        self.num_ws = config.num_ws
        self.margin_size, self.output_scale = config.margin_size, config.output_scale
        self.num_fp16_res = config.num_fp16_res
        plan = layer_plan(config)
        self.input = FourierInput(w_dim=config.w_dim, channels=plan[0].channels,
                                  size=plan[0].size, sampling_rate=plan[0].sampling_rate,
                                  bandwidth=plan[0].cutoff)
        self.layer_names: list[str] = []
        for idx in range(config.num_layers + 1):
            out = plan[idx]
            layer = AliasFreeLayer(
                w_dim=config.w_dim, is_torgb=idx == config.num_layers,
                is_critically_sampled=idx >= config.num_layers - config.num_critical,
                use_fp16=out.sampling_rate * 2 ** config.num_fp16_res > config.img_resolution,
                inp=plan[max(idx - 1, 0)], out=out, conv_kernel=config.conv_kernel,
                filter_size=config.filter_size, lrelu_upsampling=config.lrelu_upsampling,
                use_radial_filters=config.use_radial_filters, conv_clamp=config.conv_clamp,
                magnitude_ema_beta=config.magnitude_ema_beta)
            name = f"L{idx}_{out.size}_{out.channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, *, transform: torch.Tensor | None = None,
                noise_mode: str = "const", fused_modconv: bool | None = None,
                force_fp32: bool = False, noise_gain: float | torch.Tensor = 1.0) -> torch.Tensor:
        """``transform`` [N, 3]: live (translate_x, translate_y, rotate_deg) per sample, None =
        none. ``noise_mode`` and ``noise_gain`` exist for StyleGAN2 call compatibility (these
        layers have no noise). ``fused_modconv`` None = fused (grouped convolution)."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode {noise_mode!r}; allowed: {', '.join(NOISE_MODES)}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], "
                             f"got {tuple(ws.shape)}")
        if transform is not None and tuple(transform.shape) != (ws.shape[0], 3):
            raise ValueError(f"transform must have shape [N, 3] = [{ws.shape[0]}, 3] "
                             "(translate_x, translate_y, rotate_deg per sample), got "
                             f"{tuple(transform.shape)}")
        fused = True if fused_modconv is None else fused_modconv
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0], transform)
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w, fused_modconv=fused, force_fp32=force_fp32)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


class StyleGAN3Generator(nn.Module):
    """z [N, z_dim] (+ c [N, c_dim]) -> image [N, img_channels, R, R]: our mapping network and
    the alias-free synthesis, built from a :class:`StyleGAN3Config`. Same keyword options as
    :class:`training.networks.Generator`, plus ``transform``."""

    def __init__(self, config: StyleGAN3Config):
        super().__init__()
        config.check()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.img_resolution, self.img_channels = config.img_resolution, config.img_channels
        self.synthesis = AliasFreeSynthesis(config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim, num_ws=self.num_ws,
            num_layers=config.mapping_layers, lr_multiplier=config.mapping_lr_multiplier,
            w_avg_beta=config.w_avg_beta)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, *,
                truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                transform: torch.Tensor | None = None, noise_mode: str = "const",
                fused_modconv: bool | None = None, force_fp32: bool = False) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, transform=transform, noise_mode=noise_mode,
                              fused_modconv=fused_modconv, force_fp32=force_fp32)

    @property
    def w_avg(self) -> torch.Tensor:
        """The tracked mean w [w_dim] (the truncation centre)."""
        return self.mapping.w_avg
