"""The generator: NVlabs parameter names, NVlabs outputs for the same weights (a stored
reference), shapes of every named config, fused == non-fused, truncation, noise, w_avg."""

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from tests.training.generators import TINY, randomised
from training.configs import CONFIGS, GeneratorConfig, named_config
from training.networks import Conv2dLayer, Generator, MappingNetwork
from visualizer.core.errors import ConfigError

REFERENCE = Path(__file__).parent / "data" / "nvlabs_reference.safetensors"


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


def test_parameter_and_buffer_names_are_nvlabs():
    G = Generator(GeneratorConfig(z_dim=4, w_dim=4, img_resolution=8, channel_base=64,
                                  channel_max=8, mapping_layers=2))
    layer = ["weight", "bias", "noise_strength", "resample_filter", "noise_const",
             "affine.weight", "affine.bias"]
    torgb = ["weight", "bias", "affine.weight", "affine.bias"]
    expected = {"mapping.fc0.weight", "mapping.fc0.bias", "mapping.fc1.weight",
                "mapping.fc1.bias", "mapping.w_avg", "synthesis.b4.const",
                "synthesis.b4.resample_filter", "synthesis.b8.resample_filter"}
    expected |= {f"synthesis.b4.conv1.{n}" for n in layer}
    expected |= {f"synthesis.b8.conv{i}.{n}" for i in (0, 1) for n in layer}
    expected |= {f"synthesis.b{r}.torgb.{n}" for r in (4, 8) for n in torgb}
    assert set(G.state_dict()) == expected
    assert G.state_dict()["synthesis.b8.conv0.noise_const"].shape == (8, 8)
    assert G.state_dict()["synthesis.b8.conv0.weight"].shape == (8, 8, 3, 3)


@pytest.mark.parametrize("name", ["skip", "cond"])
def test_same_outputs_as_nvlabs_for_the_same_weights(name):
    # The file holds two tiny generators' weights, inputs, and the images NVlabs'
    # stylegan2-ada-pytorch Generator (reference ops, CPU, fp32) made from them, recorded once;
    # no NVlabs code is part of this repository.
    stored = load_file(REFERENCE)
    with safe_open(REFERENCE, "pt") as f:
        config = GeneratorConfig(**json.loads(f.metadata()["configs"])[name])
    G = Generator(config).eval()
    prefix = f"{name}.weights."
    G.load_state_dict({k[len(prefix):]: v for k, v in stored.items() if k.startswith(prefix)})
    z, c = stored[f"{name}.z"], stored[f"{name}.c"]
    c = c if config.c_dim else None
    torch.testing.assert_close(G.mapping(z, c), stored[f"{name}.ws"], atol=1e-6, rtol=0)
    for mode in ("const", "none"):
        for fused in (True, False):
            out = G(z, c, noise_mode=mode, fused_modconv=fused)
            expected = stored[f"{name}.out.{mode}.{'fused' if fused else 'nonfused'}"]
            torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    out = G(z, c, truncation_psi=0.6, truncation_cutoff=2, noise_mode="const")
    torch.testing.assert_close(out, stored[f"{name}.out.trunc"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_named_config_builds_the_right_shapes(name):
    config = named_config(name)
    with torch.device("meta"):  # shapes only: no memory, no arithmetic
        G = Generator(config)
        out = G(torch.empty(2, config.z_dim), noise_mode="const")
    assert out.shape == (2, 3, config.img_resolution, config.img_resolution)
    assert out.dtype == torch.float32
    assert G.num_ws == config.num_ws
    for res in config.block_resolutions:
        assert getattr(G.synthesis, f"b{res}").conv1.weight.shape[0] == config.channels(res)


@pytest.mark.parametrize("name", ["cpu", pytest.param("256", marks=pytest.mark.slow),
                                  pytest.param("512", marks=pytest.mark.slow),
                                  pytest.param("1024", marks=pytest.mark.slow)])
def test_every_named_config_runs_on_the_cpu(name):
    config = named_config(name)
    G = Generator(config).eval()
    img = G(torch.randn(1, config.z_dim), noise_mode="const")
    assert img.shape == (1, 3, config.img_resolution, config.img_resolution)
    assert img.dtype == torch.float32 and torch.isfinite(img).all()


def test_fused_and_non_fused_are_the_same_function():
    # The network computes in float32 by design (as NVlabs'); test_ops checks both forms against
    # the textbook definition in float64. Here they may differ only by float32 rounding.
    z = torch.randn(2, CONFIGS["cpu"].z_dim, generator=torch.Generator().manual_seed(1))
    G = randomised(CONFIGS["cpu"])
    for mode in ("const", "none"):
        a = G(z, noise_mode=mode, fused_modconv=True)
        b = G(z, noise_mode=mode, fused_modconv=False)
        assert (a - b).abs().max().item() <= 1e-5 * max(1.0, a.abs().max().item())


def test_truncation_pulls_towards_w_avg_on_the_cutoff_layers():
    G = randomised(TINY)
    z = torch.randn(2, TINY.z_dim)
    ws = G.mapping(z)
    w_avg = G.mapping.w_avg
    full = G.mapping(z, truncation_psi=0.0)
    torch.testing.assert_close(full, w_avg.expand_as(ws))
    cut = G.mapping(z, truncation_psi=0.5, truncation_cutoff=3)
    torch.testing.assert_close(cut[:, :3], w_avg + 0.5 * (ws[:, :3] - w_avg))
    torch.testing.assert_close(cut[:, 3:], ws[:, 3:])
    # psi = 0 makes every z paint the same "average" image.
    imgs = G(z, truncation_psi=0.0, noise_mode="const")
    torch.testing.assert_close(imgs[0], imgs[1])


def test_w_avg_tracks_the_mean_w_only_in_training():
    mapping = MappingNetwork(z_dim=4, c_dim=0, w_dim=4, num_ws=2, num_layers=2, w_avg_beta=0.5)
    z = torch.randn(16, 4)
    mapping.eval()(z)
    assert mapping.w_avg.abs().max() == 0
    w = mapping.train()(z)[:, 0]
    torch.testing.assert_close(mapping.w_avg, 0.5 * w.mean(dim=0))


def test_noise_modes():
    G = randomised(TINY)
    z = torch.randn(1, TINY.z_dim)
    const = G(z, noise_mode="const")
    torch.testing.assert_close(const, G(z, noise_mode="const"))
    assert not torch.equal(G(z, noise_mode="random"), G(z, noise_mode="random"))
    assert not torch.allclose(const, G(z, noise_mode="none"))
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, noise_mode="loud")


def test_labels_change_a_conditional_generator():
    G = randomised(TINY.replace(c_dim=3))
    z = torch.randn(1, TINY.z_dim).repeat(2, 1)
    out = G(z, torch.eye(3)[[0, 1]], noise_mode="const")
    assert not torch.allclose(out[0], out[1])


def test_bad_inputs_name_the_expected_shape():
    G = Generator(TINY)
    with pytest.raises(ValueError, match=r"z must have shape \[N, 8\]"):
        G(torch.randn(1, 5))
    with pytest.raises(ValueError, match=r"ws must have shape"):
        G.synthesis(torch.randn(1, 3, 8))
    with pytest.raises(ConfigError, match="allowed"):
        named_config("4096")


def test_conv2d_layer_for_the_discriminator():
    x = torch.randn(2, 3, 16, 16)
    down = Conv2dLayer(3, 8, 3, activation="lrelu", down=2)
    assert down(x).shape == (2, 8, 8, 8)
    skip = Conv2dLayer(3, 8, 1, bias=False, down=2)
    assert skip(x).shape == (2, 8, 8, 8)
    frozen = Conv2dLayer(3, 8, 3, trainable=False)
    assert "weight" in dict(frozen.named_buffers()) and not list(frozen.parameters())


def test_config_round_trips_through_a_plain_dict():
    for config in CONFIGS.values():
        assert GeneratorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="channel_max"):
        GeneratorConfig.from_dict({"channel_max": 0})


def test_noise_gain_scales_the_learned_noise():
    import torch

    from training.configs import GeneratorConfig
    from training.networks import Generator

    torch.manual_seed(0)
    G = Generator(GeneratorConfig(z_dim=8, w_dim=8, img_resolution=16, channel_base=64,
                                  channel_max=16)).eval()
    for name, p in G.named_parameters():
        if name.endswith("noise_strength"):
            p.data.fill_(0.5)
    ws = G.mapping(torch.randn(2, 8), None)
    with torch.no_grad():
        plain = G.synthesis(ws, noise_mode="const")
        same = G.synthesis(ws, noise_mode="const", noise_gain=1.0)
        silent = G.synthesis(ws, noise_mode="none")
        off = G.synthesis(ws, noise_mode="const", noise_gain=torch.zeros(2))
        mixed = G.synthesis(ws, noise_mode="const", noise_gain=torch.tensor([0.0, 1.0]))
    assert torch.equal(plain, same)
    assert torch.allclose(off, silent, atol=1e-6)
    assert not torch.allclose(plain, silent, atol=1e-3)
    assert torch.allclose(mixed[0], silent[0], atol=1e-6) and torch.allclose(mixed[1], plain[1], atol=1e-6)
