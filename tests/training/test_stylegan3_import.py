"""Importing NVlabs stylegan3 pickles (configs T and R) with the restricted unpickler: every
tensor maps, outputs are unchanged, nothing from the file runs, payloads are refused."""

import os
import pickle

import pytest
import torch

from tests.training.generators import NVlabsNames, marker_source
from training.checkpoint import load_generator, read_header
from training.configs import StyleGAN3Config, stylegan3_config
from training.networks import StyleGAN3Generator
from training.nvlabs_import import generator_from_pickle, import_pickle
from visualizer.core.errors import GansmaniaError

CASES = {
    "t-32": stylegan3_config("stylegan3-t", z_dim=8, w_dim=8, img_resolution=32,
                             channel_base=256, channel_max=12, num_layers=6, num_fp16_res=2,
                             magnitude_ema_beta=0.5 ** (32 / 20e3)),
    "t-16-fp32-unclamped": stylegan3_config("stylegan3-t", z_dim=4, w_dim=4, img_resolution=16,
                                            channel_base=64, channel_max=4, num_layers=4,
                                            num_fp16_res=0, conv_clamp=None),
    "r-16-conditional": stylegan3_config("stylegan3-r", z_dim=4, c_dim=3, w_dim=8,
                                         img_resolution=16, channel_base=128, channel_max=8,
                                         num_layers=5, margin_size=4),
}


def randomised(config: StyleGAN3Config, *, seed: int = 0) -> StyleGAN3Generator:
    """A generator whose biases, magnitude EMAs, w_avg and stored transform all matter."""
    torch.manual_seed(seed)
    G = StyleGAN3Generator(config).eval()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.3 + (1 if "affine" in name else 0))
        for name, b in G.named_buffers():
            if name.endswith("magnitude_ema"):
                b.copy_(0.5 + torch.rand_like(b))
        G.mapping.w_avg.copy_(torch.randn_like(G.mapping.w_avg) * 0.5)
        G.synthesis.input.transform[:2].add_(0.05 * torch.randn(2, 3))
    return G


def stylegan3_kwargs(nvlabs: NVlabsNames, config: StyleGAN3Config) -> dict:
    """NVlabs stylegan3 ``Generator(**init_kwargs)`` as its train.py stores them (flat
    synthesis arguments; R's conv_kernel/use_radial_filters only when set)."""
    E = nvlabs.EasyDict
    kwargs = E(z_dim=config.z_dim, c_dim=config.c_dim, w_dim=config.w_dim,
               img_resolution=config.img_resolution, img_channels=config.img_channels,
               mapping_kwargs=E(num_layers=config.mapping_layers),
               channel_base=config.channel_base, channel_max=config.channel_max,
               magnitude_ema_beta=config.magnitude_ema_beta, num_fp16_res=config.num_fp16_res,
               conv_clamp=config.conv_clamp and int(config.conv_clamp),
               num_layers=config.num_layers,
               margin_size=config.margin_size)
    if config.architecture == "stylegan3-r":
        kwargs.update(conv_kernel=1, use_radial_filters=True)
    return {"_init_args": (), "_init_kwargs": kwargs}


def snapshot(nvlabs, path, G, *, source, **extra_state):
    init = {**stylegan3_kwargs(nvlabs, G.config), **extra_state}
    record = nvlabs.record(G, source=source, class_name="Generator", extra_state=init)
    data = {"training_set_kwargs": nvlabs.EasyDict(path="art.zip", resolution=G.img_resolution),
            "G": record, "D": None, "G_ema": record, "augment_pipe": None}
    path.write_bytes(pickle.dumps(data))
    return path, record


def state(record):
    return record._reduce[1][0]["state"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_stylegan3_pickle_imports_by_name_and_paints_the_same(case, nvlabs, marker, tmp_path):
    config = CASES[case]
    G = randomised(config)
    pkl, _ = snapshot(nvlabs, tmp_path / "network-snapshot.pkl", G, source=marker_source(marker))
    out = import_pickle(pkl, tmp_path / "imported-sg3.safetensors")
    H = load_generator(out)
    assert isinstance(H, StyleGAN3Generator) and H.config == config
    for name, tensor in G.state_dict().items():
        assert torch.equal(H.state_dict()[name], tensor), name
    assert set(H.state_dict()) == set(G.state_dict())
    z = torch.randn(2, config.z_dim)
    c = torch.eye(config.c_dim)[[0, 2]] if config.c_dim else None
    with torch.no_grad():
        torch.testing.assert_close(H(z, c), G(z, c), atol=0, rtol=0)
    header = read_header(out)
    assert header["provenance"]["source"] == "NVlabs stylegan3 pickle"
    assert header["groups"]["G_ema"]["config"]["architecture"] == config.architecture


def test_a_reduce_payload_deep_inside_a_stylegan3_generator_is_refused(nvlabs, marker,
                                                                       tmp_path):
    class SystemCall:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    G = randomised(CASES["t-32"])
    _, record = snapshot(nvlabs, tmp_path / "clean.pkl", G, source=marker_source(marker))
    fourier = state(state(record)["_modules"]["synthesis"])["_modules"]["input"]
    state(fourier)["bandwidth"] = SystemCall()
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"G_ema": record}))
    with pytest.raises(GansmaniaError, match=r"refused: .*system.*nothing from the file was run"):
        import_pickle(evil, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_a_changed_layer_plan_or_unknown_option_is_refused(nvlabs, marker, tmp_path):
    G = randomised(CASES["t-32"])
    _, record = snapshot(nvlabs, tmp_path / "ok.pkl", G, source=marker_source(marker))
    layer = state(state(record)["_modules"]["synthesis"])["_modules"]["L3_52_12"]
    state(layer)["out_cutoff"] = 99.0
    odd = tmp_path / "odd.pkl"
    odd.write_bytes(pickle.dumps({"G_ema": record}))
    with pytest.raises(GansmaniaError, match=r"'G_ema.synthesis.L3_52_12.out_cutoff' is 99.0"):
        generator_from_pickle(odd)

    pkl, _ = snapshot(nvlabs, tmp_path / "new.pkl", G, source="", _init_kwargs=nvlabs.EasyDict(
        **stylegan3_kwargs(nvlabs, G.config)["_init_kwargs"], sinc_order=3))
    with pytest.raises(GansmaniaError, match=r"unsupported generator option sinc_order=3"):
        generator_from_pickle(pkl)

    pkl, _ = snapshot(nvlabs, tmp_path / "bare.pkl", G, source="", _init_kwargs={})
    with pytest.raises(GansmaniaError, match="StyleGAN3 generator without its constructor"):
        generator_from_pickle(pkl)
