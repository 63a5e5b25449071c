"""Tensor operations of StyleGAN2: FIR resampling, convolution with resampling, bias + activation,
and the modulated convolution in its fused and non-fused forms.

Every function is plain PyTorch (no custom kernels), so it runs on any device and traces to ONNX.
The arithmetic follows NVlabs stylegan2-ada-pytorch (``upfirdn2d``, ``conv2d_resample``,
``bias_act``, ``modulated_conv2d``) step for step, so the same weights give the same images.
Shapes use N = batch, C/I/O = channels (in/out), H/W = height/width, k = kernel size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

Padding = int | Sequence[int]


# ------------------------------------------------------------------------- bias + activation

@dataclass(frozen=True)
class Activation:
    func: Callable[[torch.Tensor], torch.Tensor]
    gain: float  # default output gain, keeps the signal's second moment ~1 after the nonlinearity


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(func=lambda x: x, gain=1.0),
    "relu": Activation(func=F.relu, gain=math.sqrt(2)),
    "lrelu": Activation(func=lambda x: F.leaky_relu(x, 0.2), gain=math.sqrt(2)),
}


def activation_gain(name: str) -> float:
    """The default gain of activation ``name`` (sqrt(2) for relu/lrelu, 1 for linear)."""
    return activation_spec(name).gain


def activation_spec(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        allowed = ", ".join(ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; allowed: {allowed}") from None


def bias_act(x: torch.Tensor, b: torch.Tensor | None = None, *, act: str = "linear",
             gain: float | None = None, clamp: float | None = None) -> torch.Tensor:
    """Add bias ``b`` [C] along dim 1, apply ``act``, scale by ``gain`` (default: the activation's),
    then clamp to [-clamp, +clamp] when ``clamp`` is given. Any shape [N, C, ...]."""
    spec = activation_spec(act)
    gain = spec.gain if gain is None else float(gain)
    if b is not None:
        x = x + b.reshape([-1 if i == 1 else 1 for i in range(x.ndim)])
    x = spec.func(x)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, *, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale ``x`` so its mean square along ``dim`` is 1 (the mapping network's input norm)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


# ------------------------------------------------------------------------------ FIR filters
#
# StyleGAN2's resampling filters are separable: the 2D kernel is the outer product of 1D taps
# (NVlabs stores that 2D kernel as the `resample_filter` buffers). Filtering is done here along
# each axis with shifted slices, which in torch on the CPU is several times faster than a
# depthwise conv (oneDNN's depthwise kernels are slow). An ONNX export takes the depthwise conv
# instead: there the slices become ~200 Slice/Add/Mul nodes that ONNX Runtime runs about 15%
# slower per `cpu` frame than its own depthwise kernels, and TensorRT fuses convolutions better.

Taps = tuple[float, ...]


def setup_filter(taps: Sequence[float] = (1, 3, 3, 1)) -> torch.Tensor:
    """The normalised 2D FIR kernel [k, k] (float32, sums to 1): the outer product of ``taps``.

    The same tensor NVlabs stores as ``resample_filter`` buffers, so imported buffers match.
    """
    t = torch.as_tensor(normalize_taps(taps), dtype=torch.float32)
    return torch.outer(t, t)


def normalize_taps(taps: Sequence[float]) -> Taps:
    """1D taps scaled to sum to 1 (a filter that keeps the DC level)."""
    values = [float(v) for v in taps]
    if not values or sum(values) == 0:
        raise ValueError(f"FIR taps must be non-empty with a non-zero sum, got {list(taps)}")
    total = sum(values)
    return tuple(v / total for v in values)


def _pad4(padding: Padding) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) from an int, (x, y) or (x0, x1, y0, y1)."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return padding[0], padding[0], padding[1], padding[1]
    if len(padding) == 4:
        return padding  # type: ignore[return-value]
    raise ValueError(f"padding must have 1, 2 or 4 values, got {padding}")


def _fir_axis(x: torch.Tensor, taps: Taps, dim: int, ref: float) -> torch.Tensor:
    """'Valid' convolution of ``x`` with 1D ``taps`` along ``dim`` (output shorter by k-1),
    divided by ``ref``: the caller applies the overall scale once (or folds it into a weight).
    """
    if torch.onnx.is_in_onnx_export():
        return _fir_axis_depthwise(x, taps, dim, ref)
    if torch.is_grad_enabled() and x.requires_grad:
        return _FirAxis.apply(x, tuple(taps), dim, ref)
    return _fir_axis_shifts(x, taps, dim, ref)


class _FirAxis(torch.autograd.Function):
    """`_fir_axis_shifts` with its gradient computed as one more FIR pass.

    Autograd through the shifted views would give each view its own full-size zero tensor to
    scatter into (four fills and copies for [1,3,3,1]); the gradient of a 'valid' convolution
    is the 'full' convolution of the output gradient with the reversed taps, i.e. the same
    shifted-add pass over the gradient padded by k-1. Backward is built from this Function, so
    second derivatives (R1 regularisation) work too. A cpu-config training step at 256 px
    takes about 10% less time this way (README "Training a model").
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, taps: Taps, dim: int, ref: float) -> torch.Tensor:
        ctx.taps, ctx.dim, ctx.ref = taps, dim, ref
        return _fir_axis_shifts(x, taps, dim, ref)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        k = len(ctx.taps)
        pad = [k - 1, k - 1, 0, 0] if ctx.dim == 3 else [0, 0, k - 1, k - 1]
        grad_x = _fir_axis(F.pad(grad, pad), ctx.taps[::-1], ctx.dim, ctx.ref)
        return grad_x, None, None, None


def _fir_axis_shifts(x: torch.Tensor, taps: Taps, dim: int, ref: float) -> torch.Tensor:
    """`_fir_axis` as a sum of shifted views of ``x``, dim 2 or 3.

    Symmetric pairs are summed first and accumulated in place with their coefficient:
    [1,3,3,1] costs t = x0 + x3; t += 3 * (x1 + x2).
    """
    k = len(taps)
    length = x.shape[dim] - k + 1
    flipped = taps[::-1]  # conv, not correlation: output[o] = sum_j taps[j] * x[o + k-1-j]
    out = None
    done: set[int] = set()
    for j in range(k):
        if j in done or flipped[j] == 0:
            continue
        term, fresh = x.narrow(dim, j, length), False
        mirror = k - 1 - j
        if mirror != j and flipped[mirror] == flipped[j]:
            term, fresh = term + x.narrow(dim, mirror, length), True
            done.add(mirror)
        done.add(j)
        coef = flipped[j] / ref
        if out is None:
            # `out` is updated in place below, so it must be a new tensor, never a view of x.
            out = term if fresh and coef == 1 else term * coef
        else:
            out.add_(term, alpha=coef)
    return out


def _fir_axis_depthwise(x: torch.Tensor, taps: Taps, dim: int, ref: float) -> torch.Tensor:
    """`_fir_axis` as one depthwise convolution (the form exported to ONNX)."""
    channels, k = x.shape[1], len(taps)
    # conv2d correlates: reversed taps make it the convolution `_fir_axis` computes. The weight
    # is built without torch ops so the exporter stores it as one constant.
    kernel = np.asarray(taps[::-1], dtype=np.float64) / ref
    shape = (channels, 1, 1, k) if dim == 3 else (channels, 1, k, 1)
    weight = torch.from_numpy(np.broadcast_to(kernel.reshape(shape[2:]), shape).copy())
    return F.conv2d(x, weight.to(x.dtype), groups=channels)


def fir_scale(taps: Sequence[float]) -> float:
    """The factor ``_upfirdn2d`` leaves out: (first non-zero tap)^2."""
    ref = next(float(t) for t in taps if t != 0)
    return ref * ref


def _upfirdn2d(x: torch.Tensor, taps: Sequence[float] | None, *, up: int, down: int,
               padding: Padding) -> torch.Tensor:
    """``upfirdn2d`` without its output scale (``fir_scale(taps)``)."""
    n, c, h, w = x.shape
    px0, px1, py0, py1 = _pad4(padding)
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    if taps is not None:
        taps = tuple(float(t) for t in taps)
        ref = next(t for t in taps if t != 0)
        x = _fir_axis(_fir_axis(x, taps, 3, ref), taps, 2, ref)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upfirdn2d(x: torch.Tensor, taps: Sequence[float] | None, *, up: int = 1, down: int = 1,
              padding: Padding = 0, gain: float = 1.0) -> torch.Tensor:
    """Upsample (insert up-1 zeros after each pixel), pad (negative = crop), convolve with the
    separable FIR filter outer(taps, taps) per channel, keep every ``down``-th pixel.

    x [N, C, H, W]; ``taps`` 1D (used as given, normalise with ``normalize_taps``); ``gain``
    scales the output. The sequence is NVlabs' ``upfirdn2d``.
    """
    scale = float(gain) * (fir_scale(taps) if taps is not None else 1.0)
    x = _upfirdn2d(x, taps, up=up, down=down, padding=padding)
    return x * scale if scale != 1 else x


def upsample2d(x: torch.Tensor, taps: Sequence[float], *, up: int = 2) -> torch.Tensor:
    """Upsample [N, C, H, W] -> [N, C, H*up, W*up] with the FIR filter (DC level preserved)."""
    k = len(taps)
    padding = [(k + up - 1) // 2, (k - up) // 2, (k + up - 1) // 2, (k - up) // 2]
    return upfirdn2d(x, taps, up=up, padding=padding, gain=up * up)


def downsample2d(x: torch.Tensor, taps: Sequence[float], *, down: int = 2) -> torch.Tensor:
    """Downsample [N, C, H, W] -> [N, C, H/down, W/down] after low-pass filtering."""
    k = len(taps)
    padding = [(k - down + 1) // 2, (k - down) // 2, (k - down + 1) // 2, (k - down) // 2]
    return upfirdn2d(x, taps, down=down, padding=padding)


# ------------------------------------------------------------------ convolution + resampling

def conv2d_resample(x: torch.Tensor, w: torch.Tensor, *, f: Sequence[float] | None = None,
                    up: int = 1, down: int = 1, padding: Padding = 0, groups: int = 1,
                    flip_weight: bool = True) -> torch.Tensor:
    """2D convolution of x [N, C, H, W] with w [O, C/groups, kh, kw], with optional FIR up- or
    downsampling (``f`` the normalised 1D low-pass taps). Padding is relative to the upsampled
    image.

    ``flip_weight=True`` correlates (like ``F.conv2d``); False convolves. The order of operations
    (transposed conv then filter when upsampling, filter then strided conv when downsampling)
    is NVlabs', so results agree to float rounding.
    """
    out_channels, in_per_group, kh, kw = w.shape
    fh = fw = 1 if f is None else len(f)
    px0, px1, py0, py1 = _pad4(padding)
    if up > 1:
        px0, px1 = px0 + (fw + up - 1) // 2, px1 + (fw - up) // 2
        py0, py1 = py0 + (fh + up - 1) // 2, py1 + (fh - up) // 2
    if down > 1:
        px0, px1 = px0 + (fw - down + 1) // 2, px1 + (fw - down) // 2
        py0, py1 = py0 + (fh - down + 1) // 2, py1 + (fh - down) // 2

    # The filter's scale (and the up**2 gain) is folded into the small weight tensor instead of
    # costing a multiply over the full-resolution output; convolution is linear, so it is equal.
    scale = fir_scale(f) if f is not None else 1.0
    if kw == 1 and kh == 1 and down > 1 and up == 1:
        x = _upfirdn2d(x, f, up=1, down=down, padding=[px0, px1, py0, py1])
        return _conv(x, w * scale, groups=groups, flip_weight=flip_weight)
    if kw == 1 and kh == 1 and up > 1 and down == 1:
        x = _conv(x, w * (scale * up * up), groups=groups, flip_weight=flip_weight)
        return _upfirdn2d(x, f, up=up, down=1, padding=[px0, px1, py0, py1])
    if down > 1 and up == 1:
        x = _upfirdn2d(x, f, up=1, down=1, padding=[px0, px1, py0, py1])
        return _conv(x, w * scale, stride=down, groups=groups, flip_weight=flip_weight)
    if up > 1:
        # A transposed convolution with stride `up` is the convolution of the zero-inserted image.
        if groups == 1:
            w = w.transpose(0, 1)
        else:
            w = w.reshape(groups, out_channels // groups, in_per_group, kh, kw).transpose(1, 2)
            w = w.reshape(groups * in_per_group, out_channels // groups, kh, kw)
        px0, px1, py0, py1 = px0 - (kw - 1), px1 - (kw - up), py0 - (kh - 1), py1 - (kh - up)
        pxt, pyt = max(min(-px0, -px1), 0), max(min(-py0, -py1), 0)
        x = _conv(x, w * (scale * up * up), stride=up, padding=(pyt, pxt), groups=groups,
                  transpose=True, flip_weight=not flip_weight)
        x = _upfirdn2d(x, f, up=1, down=1, padding=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt])
        if down > 1:
            x = upfirdn2d(x, f, down=down)
        return x
    if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
        return _conv(x, w, padding=(py0, px0), groups=groups, flip_weight=flip_weight)
    x = upfirdn2d(x, None, padding=[px0, px1, py0, py1])
    x = _conv(x, w, groups=groups, flip_weight=flip_weight)
    if down > 1:
        x = upfirdn2d(x, f, down=down)
    return x


def _conv(x: torch.Tensor, w: torch.Tensor, *, stride: int = 1, padding: tuple[int, int] = (0, 0),
          groups: int = 1, transpose: bool = False, flip_weight: bool = True) -> torch.Tensor:
    if not flip_weight and (w.shape[2] > 1 or w.shape[3] > 1):
        w = w.flip([2, 3])
    op = F.conv_transpose2d if transpose else F.conv2d
    return op(x, w, stride=stride, padding=padding, groups=groups)


# ------------------------------------------------------------------------ modulated conv

def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *,
                     noise: torch.Tensor | None = None, up: int = 1, padding: int = 0,
                     resample_filter: Sequence[float] | None = None, demodulate: bool = True,
                     flip_weight: bool = True, fused: bool = True) -> torch.Tensor:
    """StyleGAN2's modulated convolution: x [N, I, H, W], weight [O, I, k, k], styles [N, I].

    ``fused=True`` builds one weight per sample and runs a grouped convolution (fast at batch 1 in
    eager mode). ``fused=False`` scales the input by the styles, convolves with the shared constant
    weight and scales the output by the demodulation coefficients: the same function, with constant
    weights and no grouped convolution, which ONNX Runtime and TensorRT compile much better.
    ``noise`` [N or 1, 1, H', W'] is added after the convolution (before the bias).
    """
    batch = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape

    # fp16 can overflow in the weight products; NVlabs pre-normalises (demodulation undoes it).
    if x.dtype == torch.float16 and demodulate:
        weight = weight * (1 / math.sqrt(in_channels * kh * kw)
                           / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    if not fused:
        dcoefs = None
        if demodulate:
            # sum_{i,k} (W[o,i,k] s[n,i])^2 = sum_i s[n,i]^2 * sum_k W[o,i,k]^2: a matmul instead
            # of a per-sample weight tensor, which keeps the exported graph small and static.
            dtype = torch.promote_types(styles.dtype, weight.dtype)
            energy = weight.to(dtype).square().sum(dim=[2, 3]).t()  # [I, O]
            dcoefs = (styles.to(dtype).square() @ energy + 1e-8).rsqrt()  # [N, O]
        x = x * styles.to(x.dtype).reshape(batch, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), f=resample_filter, up=up, padding=padding,
                            flip_weight=flip_weight)
        if dcoefs is not None and noise is not None:
            x = torch.addcmul(noise.to(x.dtype), x, dcoefs.to(x.dtype).reshape(batch, -1, 1, 1))
        elif dcoefs is not None:
            x = x * dcoefs.to(x.dtype).reshape(batch, -1, 1, 1)
        elif noise is not None:
            x = x + noise.to(x.dtype)
        return x

    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]
        w = w * dcoefs.reshape(batch, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_channels, kh, kw)
    x = conv2d_resample(x, w.to(x.dtype), f=resample_filter, up=up, padding=padding,
                        groups=batch, flip_weight=flip_weight)
    x = x.reshape(batch, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)  # keeps fp16 blocks in fp16
    return x
