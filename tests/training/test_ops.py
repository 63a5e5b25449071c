"""StyleGAN2 tensor ops against independent definitions: scipy's upfirdn, an explicit per-sample
modulated weight, and the fused/non-fused forms against each other."""

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from training.networks.ops import (bias_act, conv2d_resample, downsample2d, modulated_conv2d,
                                   normalize_taps, setup_filter, upfirdn2d, upsample2d)

TAPS = normalize_taps((1, 3, 3, 1))


def scipy_upfirdn2d(x: np.ndarray, taps, *, up: int = 1, down: int = 1) -> np.ndarray:
    """scipy's 1D upfirdn along H then W: zero-stuff, full convolution, decimate."""
    y = scipy.signal.upfirdn(taps, x, up=up, down=down, axis=-2)
    return scipy.signal.upfirdn(taps, y, up=up, down=down, axis=-1)


@pytest.mark.parametrize("taps", [(1, 3, 3, 1), (1, 2, 1), (1, 2, 3, 4), (0.5, -1, 2)])
@pytest.mark.parametrize("up,down", [(1, 1), (2, 1), (1, 2), (3, 1)])
@pytest.mark.parametrize("onnx_form", [False, True], ids=["slices", "depthwise-conv"])
def test_upfirdn2d_matches_scipy(taps, up, down, onnx_form, monkeypatch):
    # an ONNX export filters with a depthwise conv instead of shifted slices: both must agree
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: onnx_form)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 9))
    k = len(taps)
    # scipy's output is the full convolution of the zero-stuffed signal without trailing zeros:
    # pad k-1 before and k-1-(up-1) after ours.
    ours = upfirdn2d(torch.from_numpy(x), taps, up=up, down=down,
                     padding=[k - 1, k - up, k - 1, k - up]).numpy()
    expected = scipy_upfirdn2d(x, taps, up=up, down=down)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_upsample_and_downsample_keep_a_constant_image_constant():
    x = torch.full((1, 2, 8, 8), 0.75, dtype=torch.float64)
    up = upsample2d(x, TAPS)
    down = downsample2d(x, TAPS)
    assert up.shape == (1, 2, 16, 16) and down.shape == (1, 2, 4, 4)
    # Away from the zero-padded border the DC level is kept exactly.
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.full_like(up[..., 2:-2, 2:-2], 0.75))
    torch.testing.assert_close(down[..., 1:-1, 1:-1], torch.full_like(down[..., 1:-1, 1:-1], 0.75))


def test_setup_filter_is_the_normalised_outer_product():
    f = setup_filter((1, 3, 3, 1))
    assert f.shape == (4, 4) and f.dtype == torch.float32
    assert f.sum().item() == pytest.approx(1.0)
    assert f[1, 2].item() == pytest.approx(9 / 64)


def test_bias_act_lrelu_gain_and_clamp():
    x = torch.tensor([[-2.0, 0.5], [1.0, 3.0]])
    out = bias_act(x, torch.tensor([1.0, -1.0]), act="lrelu", clamp=2.0)
    expected = torch.tensor([[-1.0 * 0.2, -0.5 * 0.2], [2.0, 2.0]]) * np.sqrt(2)
    torch.testing.assert_close(out, expected.clamp(-2, 2))


def explicit_modulated_conv(x, weight, styles, *, demodulate, up, padding, flip_weight):
    """The textbook definition: one modulated (and demodulated) weight per sample, in a loop."""
    outs = []
    for n in range(x.shape[0]):
        w = weight * styles[n].reshape(1, -1, 1, 1)
        if demodulate:
            w = w / (w.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        outs.append(conv2d_resample(x[n:n + 1], w, f=TAPS, up=up, padding=padding,
                                    flip_weight=flip_weight))
    return torch.cat(outs)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("up,demodulate", [(1, True), (2, True), (1, False)])
def test_modulated_conv_matches_the_per_sample_definition(fused, up, demodulate):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 8, 8, generator=g, dtype=torch.float64)
    weight = torch.randn(4, 5, 3, 3, generator=g, dtype=torch.float64)
    styles = torch.randn(3, 5, generator=g, dtype=torch.float64)
    out = modulated_conv2d(x, weight, styles, up=up, padding=1, resample_filter=TAPS,
                           demodulate=demodulate, flip_weight=(up == 1), fused=fused)
    expected = explicit_modulated_conv(x, weight, styles, demodulate=demodulate, up=up,
                                       padding=1, flip_weight=(up == 1))
    assert out.shape == (3, 4, 8 * up, 8 * up)
    torch.testing.assert_close(out, expected, atol=1e-10, rtol=1e-10)


def test_upsampling_conv_equals_conv_of_the_zero_stuffed_filtered_image():
    # conv2d_resample(up=2) = FIR-upsample, then a plain convolution (flipped weight), by
    # associativity of convolution: an independent route to the same numbers.
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, 6, 6, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 3, generator=g, dtype=torch.float64)
    out = conv2d_resample(x, w, f=TAPS, up=2, padding=1, flip_weight=False)
    expected = F.conv2d(upsample2d(x, TAPS), w.flip([2, 3]), padding=1)
    assert out.shape == (1, 3, 12, 12)
    # Borders differ (padding is applied once, before both steps, in conv2d_resample).
    torch.testing.assert_close(out[..., 2:-2, 2:-2], expected[..., 2:-2, 2:-2])


def test_modulated_conv_noise_is_added_after_demodulation():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
    weight = torch.randn(2, 3, 3, 3, generator=g, dtype=torch.float64)
    styles = torch.randn(2, 3, generator=g, dtype=torch.float64)
    noise = torch.randn(2, 1, 4, 4, generator=g, dtype=torch.float64)
    for fused in (True, False):
        base = modulated_conv2d(x, weight, styles, padding=1, fused=fused)
        with_noise = modulated_conv2d(x, weight, styles, padding=1, noise=noise, fused=fused)
        torch.testing.assert_close(with_noise - base, noise.expand_as(base))


def test_gradients_flow_through_resampling_and_modulation():
    # Training backpropagates through these ops (the in-place accumulation included).
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(1, 2, generator=g, dtype=torch.float64, requires_grad=True)
    checks = [
        lambda x, w, s: upfirdn2d(x, TAPS, up=2, padding=[2, 1, 2, 1], gain=4),
        lambda x, w, s: conv2d_resample(x, w, f=TAPS, down=2, padding=1),
        lambda x, w, s: conv2d_resample(x, w, f=TAPS, up=2, padding=1, flip_weight=False),
        lambda x, w, s: modulated_conv2d(x, w, s, up=2, padding=1, resample_filter=TAPS,
                                         flip_weight=False, fused=False),
        lambda x, w, s: modulated_conv2d(x, w, s, padding=1, fused=True),
    ]
    for fn in checks:
        assert torch.autograd.gradcheck(fn, (x, w, s))


@pytest.mark.parametrize("taps", [TAPS, normalize_taps((1, 2, 3, 4))],
                         ids=["symmetric", "asymmetric"])
def test_fir_gradients_and_second_derivatives(taps):
    # The FIR computes its gradient as one more FIR pass with the reversed taps (asymmetric taps
    # catch a missing reversal); R1 differentiates that gradient again.
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 2, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    for fn in (lambda x: upfirdn2d(x, taps, down=2, padding=[1, 2, 2, 1]),
               lambda x: upfirdn2d(x, taps, up=2, padding=[2, 1, 2, 1], gain=4)):
        assert torch.autograd.gradcheck(fn, (x,))
        assert torch.autograd.gradgradcheck(fn, (x,))
