"""Tensor operations of the alias-free (StyleGAN3) synthesis network: low-pass filter design,
the filtered leaky ReLU (upsample, nonlinearity, downsample) and its modulated convolution.

Plain PyTorch, so it runs on any device and traces to ONNX. The filters are tensors (the
layers' ``up_filter``/``down_filter`` buffers, 1D separable or 2D radial), applied as depthwise
convolutions: upsampling as a strided transposed convolution (no multiplications by the
inserted zeros), downsampling as a strided convolution (no samples computed only to be dropped).
Shapes use N = batch, C/I/O = channels (in/out), H/W = height/width, k = kernel size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.signal
import scipy.special
import torch
import torch.nn.functional as F


def design_lowpass_filter(*, numtaps: int, cutoff: float, width: float, fs: float,
                          radial: bool = False) -> torch.Tensor | None:
    """A Kaiser-windowed low-pass FIR filter: [numtaps] (separable) or [numtaps, numtaps]
    (``radial``: a windowed jinc, the same response in every direction); None for 1 tap.

    ``cutoff`` and ``width`` (the transition band) are in the units of the sampling rate ``fs``.
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    if not radial:
        taps = scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        return torch.as_tensor(taps, dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    with np.errstate(divide="ignore", invalid="ignore"):
        # The 2D ideal low-pass (jinc); at r = 0 its limit is the cutoff itself.
        f = np.where(r > 0, scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r), cutoff)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    f = f * np.outer(window, window)
    return torch.as_tensor(f / np.sum(f), dtype=torch.float32)


def _depthwise(f: torch.Tensor, channels: int, *, axis: int | None, dtype: torch.dtype
               ) -> torch.Tensor:
    """A [C, 1, kh, kw] depthwise weight from a 1D filter along ``axis`` (3 = W, 2 = H) or a 2D
    one (``axis`` None)."""
    if axis is None:
        kernel = f
    else:
        kernel = f.reshape(1, -1) if axis == 3 else f.reshape(-1, 1)
    if torch.onnx.is_in_onnx_export():
        # The exporter needs the kernel's shape static: built outside torch ops, it is stored
        # as one constant (the filters are fixed buffers, constants in the graph anyway).
        values = kernel.detach().cpu().numpy()
        return torch.from_numpy(np.broadcast_to(values, (channels, 1, *values.shape)).copy()
                                ).to(dtype)
    return kernel.to(dtype).expand(channels, 1, *kernel.shape)


def fir_upsample(x: torch.Tensor, f: torch.Tensor | None, *, up: int,
                 padding: Sequence[int], gain: float = 1.0) -> torch.Tensor:
    """Insert ``up - 1`` zeros after each pixel, pad by (x0, x1, y0, y1) (negative crops), and
    convolve ('valid') with ``f`` scaled to keep the DC level. x [N, C, H, W].

    Convolution, not correlation (the transposed convolution does not flip ``f``). ``gain``
    scales the result (folded into the filter taps: no pass over the output).

    Computed as a transposed convolution with stride ``up`` (the zero-inserted image is never
    built) followed by a pad/crop that shifts it into place: output[o] = full[o + k - 1 - p0].
    """
    px0, px1, py0, py1 = padding
    n, c, h, w = x.shape
    if f is None:
        if up > 1:
            x = x.reshape(n, c, h, 1, w, 1)
            x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
        x = pad_or_crop(x, [px0, px1, py0, py1])
        return x * gain if gain != 1 else x
    k = f.shape[-1]
    if f.ndim == 1:
        # The gain up**2 over the two axes (zero insertion keeps 1/up**2 of the energy).
        f = f * (up * math.sqrt(gain))
        x = F.conv_transpose2d(x, _depthwise(f, c, axis=3, dtype=x.dtype), stride=(1, up),
                               groups=c)
        x = F.conv_transpose2d(x, _depthwise(f, c, axis=2, dtype=x.dtype), stride=(up, 1),
                               groups=c)
    else:
        x = F.conv_transpose2d(x, _depthwise(f * (up * up * gain), c, axis=None, dtype=x.dtype),
                               stride=up, groups=c)
    # The transposed convolution is (H - 1) * up + k long; the wanted window starts at k-1-p0 and
    # ends at H * up + p1 (F.pad crops where these are negative).
    return pad_or_crop(x, [px0 - (k - 1), up + px1 - k, py0 - (k - 1), up + py1 - k])


def pad_or_crop(x: torch.Tensor, padding: Sequence[int]) -> torch.Tensor:
    """Zero-pad [N, C, H, W] by (x0, x1, y0, y1); negative values crop (by slicing, which every
    exporter and runtime takes, unlike negative Pad amounts)."""
    px0, px1, py0, py1 = (int(p) for p in padding)
    if max(px0, px1, py0, py1) > 0:
        x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    if min(px0, px1, py0, py1) < 0:
        x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0),
              max(-px0, 0): x.shape[3] - max(-px1, 0)]
    return x


def fir_downsample(x: torch.Tensor, f: torch.Tensor | None, *, down: int) -> torch.Tensor:
    """Convolve ('valid', no padding) with ``f`` and keep every ``down``-th pixel. x [N, C, H, W]."""
    c = x.shape[1]
    if f is None:
        return x[:, :, ::down, ::down] if down > 1 else x
    # Convolution, not correlation: the filter is flipped (a no-op for the symmetric designs).
    f = f.flip(list(range(f.ndim)))
    if f.ndim == 1:
        x = F.conv2d(x, _depthwise(f, c, axis=3, dtype=x.dtype), stride=(1, down), groups=c)
        return F.conv2d(x, _depthwise(f, c, axis=2, dtype=x.dtype), stride=(down, 1), groups=c)
    return F.conv2d(x, _depthwise(f, c, axis=None, dtype=x.dtype), stride=down, groups=c)


def filtered_lrelu(x: torch.Tensor, *, bias: torch.Tensor, up_filter: torch.Tensor | None,
                   down_filter: torch.Tensor | None, up: int, down: int, padding: Sequence[int],
                   gain: float, slope: float, clamp: float | None) -> torch.Tensor:
    """Bias, upsample by ``up`` (``up_filter``), leaky ReLU x ``gain`` (slope 1 = linear),
    clamp to +-``clamp``, downsample by ``down`` (``down_filter``): the nonlinearity at a higher
    sampling rate, band-limited again before it returns. x [N, C, H, W], bias [C]."""
    x = x + bias.to(x.dtype).reshape(1, -1, 1, 1)
    # leaky_relu(g x) = g leaky_relu(x) for g > 0: the gain rides on the upsampling filter.
    x = fir_upsample(x, up_filter, up=up, padding=padding, gain=gain)
    if slope != 1:
        x = F.leaky_relu(x, slope)
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return fir_downsample(x, down_filter, down=down)


def modulated_conv(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *,
                   demodulate: bool, padding: int, input_gain: torch.Tensor,
                   fused: bool = True) -> torch.Tensor:
    """The alias-free layers' modulated convolution: x [N, I, H, W], weight [O, I, k, k],
    styles [N, I], ``input_gain`` a scalar tensor that scales the input -> [N, O, H', W'].

    Weights and styles are first normalised to unit mean square (demodulation cancels that
    scale, it only keeps fp16 in range). ``fused=True`` runs one grouped convolution with a
    weight per sample; ``fused=False`` scales activations instead (constant weights, no grouped
    convolution: the form ONNX Runtime and TensorRT compile well). Same function either way.
    """
    batch = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    if demodulate:
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
    if not fused:
        dcoefs = None
        if demodulate:
            energy = weight.square().sum(dim=[2, 3]).t()  # [I, O]
            dcoefs = (styles.square() @ energy + 1e-8).rsqrt()  # [N, O]
        x = x * (styles * input_gain).to(x.dtype).reshape(batch, -1, 1, 1)
        x = F.conv2d(x, weight.to(x.dtype), padding=padding)
        if dcoefs is not None:
            x = x * dcoefs.to(x.dtype).reshape(batch, -1, 1, 1)
        return x
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(batch, -1, 1, 1, 1)
    w = (w * input_gain).reshape(-1, in_channels, kh, kw)
    x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), w.to(x.dtype), padding=padding, groups=batch)
    return x.reshape(batch, -1, *x.shape[2:])
