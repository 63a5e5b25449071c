"""The StyleGAN3 generator (configs T and R): NVlabs' outputs for the same weights (a stored
reference), the live input transform, fused == non-fused, configs and checkpoints."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from training.checkpoint import load_generator, read_header, save_generator
from training.configs import (GeneratorConfig, StyleGAN3Config, generator_config_from_dict,
                              stylegan3_config)
from training.generate import to_uint8
from training.networks import StyleGAN3Generator, build_generator
from training.networks.stylegan3 import transform_matrix
from visualizer.core.errors import ConfigError

REFERENCE = Path(__file__).parent / "data" / "stylegan3_reference.safetensors"
# One pixel level after NVlabs' uint8 conversion: the bar every imported model must meet.
MAX_UINT8_ERROR = 1


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


def reference(name: str):
    """(our generator with the stored weights, stored tensors of case ``name``, live transform).

    The file holds two tiny random-weight generators (config T; config R with labels): every
    parameter and buffer randomised (filters, frequencies, phases, magnitude EMAs and the stored
    input transform included), inputs, and the images NVlabs' stylegan3 Generator made from
    them (reference ops, CPU, fp32), recorded once; no NVlabs code is part of this repository.
    """
    stored = load_file(REFERENCE)
    with safe_open(REFERENCE, "pt") as f:
        meta = f.metadata()
    config = StyleGAN3Config.from_dict(json.loads(meta["configs"])[name])
    G = StyleGAN3Generator(config).eval()
    prefix = f"{name}.weights."
    G.load_state_dict({k[len(prefix):]: v for k, v in stored.items() if k.startswith(prefix)})
    live = json.loads(meta["live_transform"])
    transform = torch.tensor([[live["translate_x"], live["translate_y"], live["rotate_deg"]]])
    case = {k[len(name) + 1:]: v for k, v in stored.items() if k.startswith(f"{name}.")}
    return G, case, transform


def uint8_error(ours: torch.Tensor, theirs: torch.Tensor) -> int:
    return int(np.abs(to_uint8(ours).astype(int) - to_uint8(theirs).astype(int)).max())


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "nonfused"])
@pytest.mark.parametrize("name", ["t", "r"])
def test_same_images_as_nvlabs_for_the_same_weights(name, fused):
    G, case, transform = reference(name)
    z, c = case["z"], case["c"] if G.c_dim else None
    torch.testing.assert_close(G.mapping(z, c), case["ws"], atol=1e-6, rtol=0)
    runs = {"const": G(z, c, fused_modconv=fused),
            "trunc": G(z, c, truncation_psi=0.6, truncation_cutoff=4, fused_modconv=fused),
            "live": G(z, c, fused_modconv=fused, transform=transform.expand(len(z), 3))}
    for key, out in runs.items():
        expected = case[f"out.{key}"]
        assert out.shape == expected.shape and out.dtype == torch.float32
        assert expected.std() > 0.1  # a picture, not a flat field: the comparison means something
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=0, msg=key)
        assert uint8_error(out, expected) <= MAX_UINT8_ERROR, key


def test_the_live_transform_moves_the_picture_and_zero_is_none():
    G, case, transform = reference("t")
    ws = case["ws"][:1]
    still = G.synthesis(ws)
    torch.testing.assert_close(G.synthesis(ws, transform=torch.zeros(1, 3)), still,
                               atol=1e-6, rtol=0)
    moved = G.synthesis(ws, transform=transform)
    assert (moved - still).abs().max() > 0.05
    # Per sample: one batch can hold differently moved frames.
    both = G.synthesis(ws.repeat(2, 1, 1), transform=torch.cat([torch.zeros(1, 3), transform]))
    torch.testing.assert_close(both, torch.cat([still, moved]), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match=r"transform must have shape \[N, 3\] = \[1, 3\]"):
        G.synthesis(ws, transform=torch.zeros(3, 3))


def test_transform_matrix_is_the_inverse_of_the_image_motion():
    tx, ty, angle = 0.25, -0.5, 30.0
    inverse = transform_matrix(torch.tensor([[tx, ty, angle]]))[0].double()
    a = np.radians(angle)
    motion = torch.tensor([[np.cos(a), np.sin(a), tx], [-np.sin(a), np.cos(a), ty], [0, 0, 1]])
    torch.testing.assert_close(inverse @ motion, torch.eye(3, dtype=torch.float64), atol=1e-6,
                               rtol=0)


def test_a_translation_by_whole_pixels_shifts_a_config_t_image():
    # Translation equivariance, the point of config T: moving the input by k pixels moves the
    # image by k pixels (up to the small aliasing the paper measures; here with trained-like
    # smoothness absent, so only the interior is compared, loosely).
    config = stylegan3_config("stylegan3-t", z_dim=8, w_dim=8, img_resolution=32,
                              channel_base=256, channel_max=12, num_layers=6)
    torch.manual_seed(3)
    G = StyleGAN3Generator(config).eval()
    ws = G.mapping(torch.randn(1, 8))
    shift = 4
    still = G.synthesis(ws)
    moved = G.synthesis(ws, transform=torch.tensor([[shift / 32, 0.0, 0.0]]))
    inner = slice(8, 24)
    error = (moved[..., inner, inner] - still[..., inner, slice(8 - shift, 24 - shift)]).abs()
    unrelated = (moved[..., inner, inner] - still[..., inner, inner]).abs()
    assert error.mean() < 0.2 * unrelated.mean()


def test_rotation_is_counter_clockwise_and_y_points_down():
    # A quarter turn of config R's input is exact on its even-sized, centred sampling grid.
    config = stylegan3_config("stylegan3-r", z_dim=8, w_dim=8, img_resolution=32,
                              channel_base=512, channel_max=16, num_layers=6)
    torch.manual_seed(0)
    G = StyleGAN3Generator(config).eval()
    ws = G.mapping(torch.randn(1, 8))
    still = G.synthesis(ws)
    turned = G.synthesis(ws, transform=torch.tensor([[0.0, 0.0, 90.0]]))
    # rot90 with k=1 turns an image shown row 0 on top counter-clockwise.
    torch.testing.assert_close(turned, torch.rot90(still, 1, dims=[2, 3]), atol=1e-5, rtol=0)
    assert (turned - torch.rot90(still, -1, dims=[2, 3])).abs().mean() > 0.01
    down = G.synthesis(ws, transform=torch.tensor([[0.0, 4 / 32, 0.0]]))
    torch.testing.assert_close(down[..., 8:24, :], still[..., 4:20, :], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["t", "r"])
def test_fused_and_non_fused_are_the_same_function(name):
    G, case, _ = reference(name)
    ws = case["ws"]
    a, b = G.synthesis(ws, fused_modconv=True), G.synthesis(ws, fused_modconv=False)
    assert (a - b).abs().max().item() <= 1e-5


def test_config_r_and_t_defaults_are_nvlabs():
    t, r = stylegan3_config("stylegan3-t"), stylegan3_config("stylegan3-r")
    assert (t.conv_kernel, t.use_radial_filters, t.channel_base, t.channel_max) == (3, False,
                                                                                 32768, 512)
    assert (r.conv_kernel, r.use_radial_filters, r.channel_base, r.channel_max) == (1, True,
                                                                                 65536, 1024)
    assert t.num_ws == 16 and t.mapping_layers == 2
    with torch.device("meta"):  # shapes only
        G = build_generator(stylegan3_config("stylegan3-r", img_resolution=1024))
        out = G.synthesis(torch.empty(1, G.num_ws, G.w_dim))
    assert out.shape == (1, 3, 1024, 1024)
    assert G.synthesis.layer_names[0] == "L0_36_1024" and G.synthesis.layer_names[-1] == \
        "L14_1024_3"


def test_stored_configs_pick_their_class_and_bad_values_are_one_line_errors():
    sg3 = stylegan3_config("stylegan3-r", img_resolution=64)
    assert generator_config_from_dict(sg3.to_dict()) == sg3
    sg2 = GeneratorConfig(img_resolution=64)
    assert generator_config_from_dict(sg2.to_dict()) == sg2
    with pytest.raises(ConfigError, match="model.st.*num_critical 14 must be below num_layers"):
        generator_config_from_dict({**sg3.to_dict(), "num_critical": 14}, origin="model.st")
    with pytest.raises(ConfigError, match="unknown key 'resample_filter'"):
        generator_config_from_dict({**sg3.to_dict(), "resample_filter": [1, 1]})


def test_checkpoint_round_trip_keeps_the_architecture_and_the_function(tmp_path):
    G, case, transform = reference("r")
    path = save_generator(tmp_path / "sg3.safetensors", G)
    assert read_header(path)["groups"]["G_ema"]["config"]["architecture"] == "stylegan3-r"
    H = load_generator(path)
    assert isinstance(H, StyleGAN3Generator) and H.config == G.config
    for key, tensor in G.state_dict().items():
        assert torch.equal(H.state_dict()[key], tensor), key
    ws = case["ws"]
    torch.testing.assert_close(H.synthesis(ws, transform=transform.expand(len(ws), 3)),
                               case["out.live"], atol=1e-5, rtol=0)
