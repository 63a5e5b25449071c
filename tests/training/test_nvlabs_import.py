"""Importing NVlabs pickles: every tensor maps, outputs are unchanged, nothing from the file
runs, payloads are refused, TensorFlow pickles get a clear message. (StyleGAN3 pickles:
test_stylegan3_import.py.)"""

import os
import pickle
import subprocess
import sys
import types

import pytest
import torch

from tests.training.generators import TINY, marker_source, randomised
from training.checkpoint import load_generator, read_header
from training.configs import GeneratorConfig
from training.nvlabs_import import generator_from_pickle, import_pickle
from visualizer.core.errors import GansmaniaError


CASES = {
    "unconditional-16": TINY,
    "conditional-32-clamp": GeneratorConfig(z_dim=6, c_dim=4, w_dim=8, img_resolution=32,
                                            channel_base=256, channel_max=16, mapping_layers=2,
                                            conv_clamp=256.0, num_fp16_res=2),
    "orig-8": GeneratorConfig(z_dim=4, w_dim=4, img_resolution=8, channel_base=64,
                              channel_max=8, architecture="orig"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_parameter_and_buffer_maps_and_the_images_agree(case, nvlabs, marker, tmp_path):
    config = CASES[case]
    G = randomised(config)
    pkl = nvlabs.snapshot(tmp_path / "network-snapshot.pkl", G, source=marker_source(marker))
    out = import_pickle(pkl, tmp_path / "imported.safetensors")
    H = load_generator(out)
    assert H.config == config
    original, imported = G.state_dict(), H.state_dict()
    assert set(imported) == set(original)
    for name, tensor in original.items():
        assert torch.equal(imported[name], tensor), name
    z = torch.randn(2, config.z_dim)
    c = torch.eye(config.c_dim)[[0, 3]] if config.c_dim else None
    with torch.no_grad():
        torch.testing.assert_close(H(z, c, noise_mode="const"), G(z, c, noise_mode="const"),
                                   atol=0, rtol=0)
    header = read_header(out)
    assert header["provenance"]["source"].startswith("NVlabs")
    assert header["training"]["training_set_kwargs"]["path"] == "data.zip"
    assert header["training"]["networks_in_pickle"] == ["D", "G", "G_ema"]


def test_pickles_without_constructor_arguments_are_rebuilt_from_shapes(nvlabs, marker, tmp_path):
    G = randomised(TINY)
    pkl = nvlabs.snapshot(tmp_path / "old.pkl", G, source=marker_source(marker),
                          with_init_kwargs=False)
    H, _ = generator_from_pickle(pkl)
    assert H.config.channel_base == TINY.channel_base
    assert H.config.channel_max == TINY.channel_max
    for name, tensor in G.state_dict().items():
        assert torch.equal(H.state_dict()[name], tensor)


class SystemCall:
    """Unpickling this runs os.system: the classic pickle payload."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_reduce_payload_is_refused_without_running(tmp_path, marker):
    pkl = tmp_path / "evil.pkl"
    pkl.write_bytes(pickle.dumps({"G_ema": SystemCall(f"touch {marker}")}))
    with pytest.raises(GansmaniaError, match=r"refused: .*system.*nothing from the file was run"):
        import_pickle(pkl, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def test_a_payload_hidden_inside_the_generator_state_is_refused(nvlabs, marker, tmp_path):
    G = randomised(TINY)
    evil = nvlabs.record(G, source="", extra_state={"epochs": SystemCall(f"touch {marker}")})
    pkl = tmp_path / "hidden.pkl"
    pkl.write_bytes(pickle.dumps({"G_ema": evil}))
    with pytest.raises(GansmaniaError, match="refused"):
        generator_from_pickle(pkl)


def test_eval_and_exec_globals_are_refused(tmp_path):
    # GLOBAL builtins.eval, then a call with a string: what a hand-made payload looks like.
    pkl = tmp_path / "eval.pkl"
    pkl.write_bytes(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with pytest.raises(GansmaniaError, match="builtins.eval"):
        generator_from_pickle(pkl)


def test_tensorflow_pickles_get_a_clear_message(tmp_path, monkeypatch):
    module = types.ModuleType("dnnlib.tflib.network")
    network = type("Network", (), {"__module__": "dnnlib.tflib.network",
                                    "__reduce__": lambda self: (type(self), ())})
    module.Network = network
    for name in ("dnnlib", "dnnlib.tflib"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "dnnlib.tflib.network", module)
    pkl = tmp_path / "tf.pkl"
    pkl.write_bytes(pickle.dumps((network(), network(), network())))
    with pytest.raises(GansmaniaError, match="TensorFlow"):
        generator_from_pickle(pkl)


def test_missing_network_truncated_file_and_tampered_gains(nvlabs, marker, tmp_path):
    G = randomised(TINY)
    pkl = nvlabs.snapshot(tmp_path / "ok.pkl", G, source=marker_source(marker))
    with pytest.raises(GansmaniaError, match=r"no 'G_avg' network .*D, G, G_ema"):
        generator_from_pickle(pkl, key="G_avg")
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(pkl.read_bytes()[:5000])
    with pytest.raises(GansmaniaError, match="truncated or corrupt") as info:
        generator_from_pickle(cut)
    assert "\n" not in str(info.value)
    # A generator whose stored gain differs from what its config implies is another variant.
    record = nvlabs.record(G, source="", extra_state=nvlabs.generator_kwargs(TINY))
    def state(rec):
        return rec._reduce[1][0]["state"]

    fc0 = state(state(record)["_modules"]["mapping"])["_modules"]["fc0"]
    state(fc0)["weight_gain"] = 0.5
    odd = tmp_path / "odd.pkl"
    odd.write_bytes(pickle.dumps({"G_ema": record}))
    with pytest.raises(GansmaniaError, match=r"mapping.fc0.weight_gain"):
        generator_from_pickle(odd)


def test_import_pkl_command_needs_no_nvlabs_modules(nvlabs, marker, tmp_path):
    pkl = nvlabs.snapshot(tmp_path / "snap.pkl", randomised(TINY), source=marker_source(marker))
    out = tmp_path / "model.safetensors"
    # A fresh interpreter: torch_utils and dnnlib do not exist there.
    result = subprocess.run([sys.executable, "-m", "visualizer.cli", "import-pkl", str(pkl),
                             "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "16x16" in result.stdout and out.is_file()
    with pytest.raises(GansmaniaError, match="missing.pkl: file not found"):
        import_pickle(tmp_path / "missing.pkl", out)
