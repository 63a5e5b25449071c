"""The checkpoint format: bit-exact round trips, groups, and one-line errors for bad files."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from tests.training.generators import TINY, randomised
from training.checkpoint import (HEADER_KEY, Group, load_checkpoint, load_generator, read_header,
                                 save_checkpoint, save_generator)
from training.networks import Conv2dLayer
from visualizer.core.errors import GansmaniaError


@pytest.fixture
def saved(tmp_path):
    G = randomised(TINY)
    path = save_generator(tmp_path / "g.safetensors", G, training={"kimg": 12.5, "fid": None},
                          provenance={"licence": "CC0-1.0", "dataset": "procedural"})
    return G, path


def test_generator_round_trips_bit_exactly(saved):
    G, path = saved
    H = load_generator(path)
    assert H.config == G.config and not H.training
    assert not any(p.requires_grad for p in H.parameters())
    original, loaded = G.state_dict(), H.state_dict()
    assert set(loaded) == set(original)
    for name, tensor in original.items():
        assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], tensor), name
    z = torch.randn(2, TINY.z_dim)
    with torch.no_grad():
        assert torch.equal(H(z, noise_mode="const"), G(z, noise_mode="const"))


def test_header_keeps_training_summary_and_provenance(saved):
    _, path = saved
    header = read_header(path)
    assert header["training"] == {"kimg": 12.5, "fid": None}
    assert header["provenance"]["licence"] == "CC0-1.0" and "created" in header["provenance"]
    assert header["groups"]["G_ema"]["kind"] == "generator"
    assert header["groups"]["G_ema"]["config"] == TINY.to_dict()


def test_any_tensor_kind_round_trips_bit_exactly_in_several_groups(tmp_path):
    tensors = {"half": torch.randn(3, 2).half(), "step": torch.tensor(7, dtype=torch.int64),
               "flags": torch.tensor([True, False]), "empty": torch.zeros(0, 4),
               "nan": torch.tensor([float("nan"), float("inf")]),
               "view": torch.arange(12.0).reshape(3, 4)[:, 1]}
    D = Conv2dLayer(3, 4, 3, down=2)
    path = save_checkpoint(tmp_path / "state.safetensors", {
        "opt_G": Group(kind="optimizer", config={"lr": 0.002, "betas": [0, 0.99]}, tensors=tensors),
        "D": Group(kind="discriminator", config={}, tensors=D.state_dict())})
    loaded = load_checkpoint(path)
    for name, tensor in tensors.items():
        got = loaded.group("opt_G").tensors[name]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape
        assert bytes_of(got) == bytes_of(tensor), name
    assert loaded.group("opt_G").config == {"lr": 0.002, "betas": [0, 0.99]}
    only_d = load_checkpoint(path, groups=["D"])
    assert list(only_d.groups) == ["D"]
    with pytest.raises(GansmaniaError, match=r"no 'G_ema' network .*D, opt_G"):
        load_checkpoint(path, groups=["G_ema"])
    with pytest.raises(GansmaniaError, match="not a generator"):
        load_generator(path, group="D")


def bytes_of(tensor: torch.Tensor) -> bytes:
    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def test_generator_and_discriminator_in_one_file(tmp_path):
    G = randomised(TINY)
    D = Conv2dLayer(3, 4, 3, down=2)
    path = save_generator(tmp_path / "both.safetensors", G, discriminator=D)
    ck = load_checkpoint(path)
    assert ck.generator_config() == TINY
    assert ck.group("D").kind == "discriminator"
    assert all(torch.equal(ck.group("D").tensors[k], v) for k, v in D.state_dict().items())


def one_line_error(path, loader=load_generator) -> str:
    with pytest.raises(GansmaniaError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_truncated_file(saved, tmp_path):
    _, path = saved
    for keep in (4, 100, len(path.read_bytes()) // 2, len(path.read_bytes()) - 1):
        cut = tmp_path / f"cut{keep}.safetensors"
        cut.write_bytes(path.read_bytes()[:keep])
        assert "truncated or corrupt" in one_line_error(cut)


def test_flipped_bit_fails_the_checksum(saved, tmp_path):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10  # inside the last tensor's bytes
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(data))
    assert "SHA-256" in one_line_error(bad)


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    assert "not a readable safetensors" in one_line_error(junk)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    assert "without a gansmania header" in one_line_error(plain)
    assert "file not found" in one_line_error(tmp_path / "absent.safetensors")


def rewrite_header(source, target, edit):
    """Copy a checkpoint with its JSON header changed by ``edit`` (tensors untouched)."""
    with safe_open(str(source), "pt") as f:
        header = json.loads(f.metadata()[HEADER_KEY])
    edit(header)
    save_file(load_file(str(source)), str(target), metadata={HEADER_KEY: json.dumps(header)})
    return target


def test_mismatched_config_names_the_tensor(saved, tmp_path):
    _, path = saved

    def wider(header):
        header["groups"]["G_ema"]["config"]["channel_max"] = 32

    message = one_line_error(rewrite_header(path, tmp_path / "wide.safetensors", wider))
    assert "shape" in message and "G_ema.synthesis" in message

    def invalid(header):
        header["groups"]["G_ema"]["config"]["architecture"] = "unet"

    assert "architecture" in one_line_error(rewrite_header(path, tmp_path / "arch.safetensors",
                                                           invalid))

    def future(header):
        header["version"] = 99

    assert "newer" in one_line_error(rewrite_header(path, tmp_path / "v99.safetensors", future))


def test_non_finite_weights_are_rejected(tmp_path):
    G = randomised(TINY)
    with torch.no_grad():
        G.synthesis.b8.conv0.weight[0, 0, 0, 0] = float("nan")
    path = save_generator(tmp_path / "nan.safetensors", G)
    assert "NaN" in one_line_error(path)


def test_saving_is_atomic_and_leaves_no_temporary_files(saved, tmp_path):
    G, path = saved
    before = path.read_bytes()
    with pytest.raises(ValueError):
        save_checkpoint(path, {"bad.name": Group(kind="x", config={}, tensors={})})
    assert path.read_bytes() == before
    save_generator(path, G)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.safetensors"]


def test_saved_checkpoints_are_readable_by_others(saved):
    _, path = saved
    assert path.stat().st_mode & 0o777 == 0o644
