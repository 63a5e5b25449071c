"""Latent utilities: NVlabs seeds, interpolation with known answers, truncation, mixing, cache."""

import numpy as np
import pytest
import torch

from tests.training.generators import TINY, randomised
from training.latents import (WCache, catmull_rom, lerp, parse_seeds, slerp, style_mix, truncate,
                              w_path, z_from_seed, z_from_seeds)
from visualizer.core.errors import GansmaniaError


def test_seed_gives_nvlabs_z():
    z = z_from_seed(0, 512)
    # NumPy's legacy generator is frozen: seed 0 starts 1.764052345967664, 0.4001572083672233.
    assert z[:2].tolist() == [1.764052345967664, 0.4001572083672233]
    np.testing.assert_array_equal(z, np.random.RandomState(0).randn(1, 512)[0])
    batch = z_from_seeds([3, 0], 512)
    assert batch.dtype == torch.float32 and batch.shape == (2, 512)
    assert torch.equal(batch[1], torch.from_numpy(z).float())


def test_parse_seeds():
    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10]
    assert parse_seeds("7") == [7]
    assert parse_seeds(" 5 - 6 , 1") == [5, 6, 1]
    for bad in ("a-b", "3-1", "1,,2", "-4", f"0-{2 ** 32}"):
        with pytest.raises(GansmaniaError, match="--seeds"):
            parse_seeds(bad)


@pytest.mark.parametrize("lib", [np, torch])
def test_slerp_known_answers(lib):
    a = lib.asarray([1.0, 0.0, 0.0]) if lib is np else torch.tensor([1.0, 0.0, 0.0])
    b = a * 0 + lib.asarray([0.0, 1.0, 0.0]) if lib is np else torch.tensor([0.0, 1.0, 0.0])
    mid = slerp(a, b, 0.5)
    expected = [np.sqrt(0.5), np.sqrt(0.5), 0.0]
    np.testing.assert_allclose(np.asarray(mid), expected, atol=1e-7)
    np.testing.assert_allclose(np.asarray(slerp(a, b, 0.0)), np.asarray(a), atol=1e-7)
    np.testing.assert_allclose(np.asarray(slerp(a, b, 1.0)), np.asarray(b), atol=1e-7)
    # Parallel vectors: the angle is 0 and slerp falls back to lerp.
    np.testing.assert_allclose(np.asarray(slerp(a, 3 * a, 0.25)), np.asarray(lerp(a, 3 * a, 0.25)),
                               atol=1e-6)


def test_slerp_keeps_gaussian_norms_where_lerp_shrinks_them():
    a, b = z_from_seed(1, 512), z_from_seed(2, 512)
    assert np.linalg.norm(slerp(a, b, 0.5)) == pytest.approx(np.sqrt(512), rel=0.1)
    assert np.linalg.norm(lerp(a, b, 0.5)) < 0.8 * np.sqrt(512)


def test_w_path_passes_through_keyframes_smoothly():
    keys = np.random.default_rng(0).standard_normal((4, 3, 5))
    for i in range(4):
        np.testing.assert_allclose(w_path(keys, float(i)), keys[i], atol=1e-12)
    np.testing.assert_allclose(w_path(keys, 4.0), keys[0], atol=1e-12)  # loops
    np.testing.assert_allclose(w_path(keys, 10.0, loop=False), keys[3], atol=1e-12)
    np.testing.assert_allclose(w_path(keys, 1.5, smooth=False), (keys[1] + keys[2]) / 2)
    # Smooth: the slope just before and just after a keyframe agree (C1 continuity).
    h = 1e-5
    before = (w_path(keys, 2.0) - w_path(keys, 2.0 - h)) / h
    after = (w_path(keys, 2.0 + h) - w_path(keys, 2.0)) / h
    np.testing.assert_allclose(before, after, atol=1e-3)
    # Catmull-Rom through evenly spaced points on a line stays on the line.
    line = [np.array([float(x)]) for x in range(4)]
    assert catmull_rom(*line, 0.25)[0] == pytest.approx(1.25)


def test_truncate_and_style_mix_agree_between_numpy_torch_and_the_network():
    G = randomised(TINY)
    z = torch.randn(2, TINY.z_dim)
    with torch.no_grad():
        ws = G.mapping(z)
        expected = G.mapping(z, truncation_psi=0.6, truncation_cutoff=3)
    torch.testing.assert_close(truncate(ws, G.mapping.w_avg, psi=0.6, cutoff=3), expected)
    np.testing.assert_allclose(truncate(ws.numpy(), G.mapping.w_avg.numpy(), psi=0.6, cutoff=3),
                               expected.numpy(), atol=1e-6)
    a, b = ws[0].numpy(), ws[1].numpy()
    mixed = style_mix(a, b, cutoff=4)
    np.testing.assert_array_equal(mixed[:4], a[:4])
    np.testing.assert_array_equal(mixed[4:], b[4:])


def test_w_cache_maps_each_seed_once():
    G = randomised(TINY)
    calls = []
    original = G.mapping.forward

    def counting(z, c=None, **kwargs):
        calls.append(z.shape[0])
        return original(z, c, **kwargs)

    G.mapping.forward = counting
    cache = WCache(G, capacity=3)
    ws = cache.get_many([5, 6, 5])
    assert ws.shape == (3, G.num_ws, TINY.w_dim) and ws.dtype == np.float32
    np.testing.assert_array_equal(ws[0], ws[2])
    with torch.no_grad():
        expected = original(z_from_seeds([5], TINY.z_dim), None)[0].numpy()
    np.testing.assert_allclose(cache.get(5), expected, atol=1e-6)  # batch 2 vs 1 rounding
    assert calls == [2]  # 5 and 6 in one batch; the repeat and the later get are cached
    cache.get_many([7, 8])
    assert len(cache) == 3  # least recently used (6) evicted
    cache.get(6)
    assert calls == [2, 2, 1]
    np.testing.assert_array_equal(cache.w_avg, G.mapping.w_avg.numpy())


def test_w_cache_of_a_conditional_model_needs_a_label():
    G = randomised(TINY.replace(c_dim=2))
    cache = WCache(G)
    with pytest.raises(GansmaniaError, match="conditional"):
        cache.get(0)
    assert not np.array_equal(cache.get(0, label=0), cache.get(0, label=1))
