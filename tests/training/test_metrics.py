"""FID and KID on feature sets whose answer is known, and end to end with a small random
feature network saved as TorchScript (as a local Inception file would be)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from tests.training.training_runs import procedural_data
from training.configs import GeneratorConfig
from training.dataset import ImageDataset
from training.metrics import compute_fid_kid, feature_stats, fid, kid, load_feature_net
from training.networks import Generator
from visualizer.core.errors import GansmaniaError


def gaussian(n, mean, seed):
    return np.random.default_rng(seed).normal(size=(n, 4)) + np.asarray(mean, float)


def test_fid_of_two_samples_of_one_gaussian_is_near_zero():
    a, b = gaussian(20000, 0, 0), gaussian(20000, 0, 1)
    assert fid(feature_stats(a), feature_stats(b)) < 0.01


def test_fid_of_shifted_gaussians_is_the_squared_shift():
    # equal covariances: the trace term vanishes, FID = |mu_a - mu_b|^2 = 3^2 + 4^2
    a, b = gaussian(20000, [0, 0, 0, 0], 0), gaussian(20000, [3, 4, 0, 0], 1)
    assert fid(feature_stats(a), feature_stats(b)) == pytest.approx(25, rel=0.02)


def test_fid_of_scaled_gaussians_matches_the_closed_form():
    # N(0, I) vs N(0, 4I) in 4-D: Tr(I + 4I - 2 * 2I) = 4
    a = gaussian(20000, 0, 0)
    b = gaussian(20000, 0, 1) * 2
    assert fid(feature_stats(a), feature_stats(b)) == pytest.approx(4, rel=0.05)


def test_fid_trace_term_equals_the_matrix_square_root_of_the_product():
    # correlated, full-rank covariances: the eigen route must equal tr sqrtm(A B) itself
    rng = np.random.default_rng(3)
    a = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6)) + 1
    sa, sb = feature_stats(a), feature_stats(b)
    root = np.real(scipy.linalg.sqrtm(sa.cov @ sb.cov))
    expected = np.square(sa.mean - sb.mean).sum() + np.trace(sa.cov + sb.cov - 2 * root)
    assert fid(sa, sb) == pytest.approx(expected, rel=1e-9)


def test_fid_of_fewer_images_than_features_is_finite_and_silent():
    # 24 images of 102 features, half of them constant (a small test run's metrics on tiny flat
    # pictures): exactly singular covariances, where scipy's sqrtm warned
    rng = np.random.default_rng(4)
    features, other = rng.uniform(size=(2, 24, 102))
    features[:, 51:], other[:, 51:] = 0.25, 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = fid(feature_stats(features), feature_stats(features))
        apart = fid(feature_stats(features), feature_stats(other + 0.5))
    assert same == pytest.approx(0, abs=1e-6)
    assert np.isfinite(apart) and apart > 1


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    a, b, c = gaussian(2000, 0, 0), gaussian(2000, 0, 1), gaussian(2000, [1, 0, 0, 0], 2)
    same, different = kid(a, b, subsets=20, subset_size=500), kid(a, c, subsets=20, subset_size=500)
    assert abs(same) < 0.01 and different > 0.1


class TinyFeatures(torch.nn.Module):
    """A random conv net: uint8 [N, 3, H, W] -> [N, 16] (stands in for Inception)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 16, 3, stride=2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 127.5 - 1
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def _tiny_dataset_and_generator(tmp_path):
    data = ImageDataset(procedural_data(tmp_path / "data", count=24, resolution=16), resolution=16)
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(z_dim=8, w_dim=8, img_resolution=16, channel_base=64,
                                  channel_max=8, mapping_layers=2)).eval()
    return data, g


def test_metrics_run_on_a_local_exported_feature_net(tmp_path):
    weights = tmp_path / "features.pt2"
    example = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1, max=1024)
    torch.export.save(torch.export.export(TinyFeatures(), (example,),
                                          dynamic_shapes=({0: batch},)), str(weights))
    net = load_feature_net(weights, device=torch.device("cpu"))
    data, g = _tiny_dataset_and_generator(tmp_path)
    result = compute_fid_kid(net, g, data, images=24, device=torch.device("cpu"), batch=8,
                             cache_dir=tmp_path)
    assert result.real_images == 24 and result.fake_images == 24
    assert result.fid > 0 and np.isfinite(result.kid)
    assert len(list(tmp_path.glob("real-features-*.npy"))) == 1  # cached for the next snapshot
    again = compute_fid_kid(net, g, data, images=24, device=torch.device("cpu"), batch=8,
                            cache_dir=tmp_path)
    assert again.fid == pytest.approx(result.fid)  # seeded latents: the same number twice


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit: the format Inception ships in
def test_metrics_run_on_a_torchscript_feature_net(tmp_path):
    weights = tmp_path / "features.pt"
    torch.jit.script(TinyFeatures()).save(str(weights))
    net = load_feature_net(weights, device=torch.device("cpu"))
    data, g = _tiny_dataset_and_generator(tmp_path)
    exported = compute_fid_kid(TinyFeatures(), g, data, images=16, device=torch.device("cpu"))
    scripted = compute_fid_kid(net, g, data, images=16, device=torch.device("cpu"))
    assert scripted.fid == pytest.approx(exported.fid, rel=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_file_that_is_not_torchscript_is_a_one_line_error(tmp_path):
    bad = tmp_path / "inception.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(GansmaniaError, match="not a TorchScript feature network"):
        load_feature_net(bad, device=torch.device("cpu"))
