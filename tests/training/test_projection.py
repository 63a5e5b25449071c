"""Projection: an image the model made from a known w is found again quickly; keyframe files
round-trip, name their model and refuse another; the optional loss terms (the model's own
discriminator, a TorchScript feature network) take part; `gansmania project` writes both files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.numpy import save_file

from tests.training.generators import TINY, randomised
from training.checkpoint import (Group, module_digest, module_group, read_header,
                                 save_checkpoint, save_generator)
from training.discriminator import Discriminator, DiscriminatorConfig
from training.generate import to_uint8
from training.keyframes import keyframe_path, load_keyframe_ws, read_keyframe, save_keyframe
from training.latents import z_from_seeds
from training.projection import ProjectSettings, project, read_image, target_of, w_statistics
from training.projection_loss import (LossWeights, ProjectionLoss, discriminator_from,
                                      feature_net_from, pyramid_levels)
from visualizer.cli import cli
from visualizer.core.errors import GansmaniaError

TINY_D = DiscriminatorConfig(channel_base=128, channel_max=16, mbstd_group_size=1)


@pytest.fixture(autouse=True)
def one_thread(isolated_threads):
    """A 16 px network gains nothing from threads, and on a busy machine loses to them."""
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def generator():
    return randomised(TINY).requires_grad_(False)


def known(generator, seed: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """(ws [1, num_ws, w_dim] of ``seed``, its image [1, C, R, R])."""
    with torch.no_grad():
        ws = generator.mapping(z_from_seeds([seed], generator.z_dim), None)
        return ws, generator.synthesis(ws, noise_mode="const")


def start_error(generator, target, space: str) -> float:
    """The error at the starting point (the average w: a learning rate of ~0 stays there)."""
    return project(generator, target, ProjectSettings(steps=1, space=space,
                                                      learning_rate=1e-12)).mean_abs_error


@pytest.mark.parametrize("space", ["w", "w+"])
def test_an_image_made_from_a_known_w_is_found_again_quickly(generator, space):
    ws, target = known(generator)
    before = start_error(generator, target, space)
    seen = []
    found = project(generator, target, ProjectSettings(steps=60, space=space),
                    on_step=lambda step, loss, terms: seen.append((step, loss, terms)))
    assert [s for s, _, _ in seen] == list(range(1, 61))
    assert set(seen[0][2]) == {"pixel", "gradient"}
    assert before > 2.0  # the average image is visibly different
    assert found.mean_abs_error < 0.5 and found.mean_abs_error < before / 10
    assert found.psnr_db > 45
    assert found.loss < 0.01 and found.loss < seen[0][1] / 10
    assert found.w.shape == ((TINY.w_dim,) if space == "w" else (generator.num_ws, TINY.w_dim))
    # The stored w paints the stored image.
    w = torch.from_numpy(found.w).reshape(1, -1, TINY.w_dim).expand(1, generator.num_ws, -1)
    with torch.no_grad():
        again = to_uint8(generator.synthesis(w.contiguous(), noise_mode="const"))[0]
    assert np.array_equal(again, found.image)
    assert found.side_by_side().shape == (16, 32, 3)


def test_the_loss_is_zero_on_the_target_and_every_term_grows_with_a_difference(generator):
    _, target = known(generator)
    _, other = known(generator, seed=9)
    d = Discriminator(TINY_D, img_resolution=16).eval().requires_grad_(False)
    loss = ProjectionLoss(target, discriminator=d, feature_net=lambda x: x.mean(dim=(2, 3)))
    total, terms = loss(target)
    assert float(total) == pytest.approx(0.0, abs=1e-6) and set(terms) == {
        "pixel", "gradient", "discriminator", "features"}
    total, terms = loss(other)
    assert all(value > 1e-4 for value in terms.values())
    weighted = ProjectionLoss(target, weights=LossWeights(pixel=2.0, gradient=0.0))(other)[0]
    assert float(weighted) == pytest.approx(2 * terms["pixel"], rel=1e-5)
    assert pyramid_levels(16) == 2 and pyramid_levels(256) == 6 and pyramid_levels(4) == 1


def test_w_statistics_are_the_mean_and_spread_of_mapped_z(generator):
    w_avg, spread = w_statistics(generator, samples=512)
    z = torch.from_numpy(np.random.RandomState(0).randn(512, TINY.z_dim)).float()
    w = generator.mapping(z, None, skip_w_avg_update=True)[:, 0]
    torch.testing.assert_close(w_avg, w.mean(0), atol=1e-5, rtol=1e-5)
    assert spread == pytest.approx(float((w - w.mean(0)).square().sum(1).mean().sqrt()), rel=1e-4)


# ----------------------------------------------------------------------------- keyframe files

def test_a_keyframe_file_round_trips_and_expands_w_to_every_layer(tmp_path):
    w = np.random.default_rng(0).standard_normal(8).astype(np.float32)
    path = keyframe_path(tmp_path / "logo")
    assert path.name == "logo.w.safetensors" and keyframe_path(path) == path
    save_keyframe(path, w, model="tiny.safetensors", model_sha256="ab" * 32, image="logo.png",
                  steps=12, loss=0.25)
    loaded = read_keyframe(path)
    assert loaded.w.tobytes() == w.tobytes() and loaded.space == "w"
    assert (loaded.model, loaded.image, loaded.steps, loaded.loss) == ("tiny.safetensors",
                                                                      "logo.png", 12, 0.25)
    ws = load_keyframe_ws(path, model_sha256="ab" * 32, num_ws=6, w_dim=8)
    assert ws.shape == (6, 8) and all(np.array_equal(row, w) for row in ws)
    plus = np.arange(48, dtype=np.float32).reshape(6, 8)
    save_keyframe(path, plus, model="m", model_sha256="ab" * 32, image="i", steps=1, loss=0.0)
    assert read_keyframe(path).space == "w+"
    assert np.array_equal(load_keyframe_ws(path, model_sha256=None, num_ws=6, w_dim=8), plus)
    with pytest.raises(GansmaniaError, match=r"w of shape \[6, 8\], but the model needs "
                                             r"\[16\] or \[6, 16\]"):
        load_keyframe_ws(path, model_sha256=None, num_ws=6, w_dim=16)


def test_a_keyframe_of_another_model_is_refused(tmp_path):
    path = save_keyframe(tmp_path / "k.w.safetensors", np.zeros(8, np.float32), model="a.safetensors",
                         model_sha256="aa" * 32, image="logo.png", steps=1, loss=0.0).path
    with pytest.raises(GansmaniaError) as refused:
        load_keyframe_ws(path, model_sha256="bb" * 32, num_ws=6, w_dim=8)
    message = str(refused.value)
    assert message.startswith(f"{path}: a keyframe of model a.safetensors (sha256 aaaaaaaaaaaa), "
                              "not of the model in use (sha256 bbbbbbbbbbbb)")
    assert "gansmania project logo.png --model" in message and "\n" not in message


@pytest.mark.parametrize("content", ["text", "other safetensors", "missing"])
def test_what_is_not_a_keyframe_file_is_one_line_naming_it(tmp_path, content):
    path = tmp_path / "bad.w.safetensors"
    if content == "text":
        path.write_text("w = 1\n")
    elif content == "other safetensors":
        save_file({"w": np.zeros(3, np.float32)}, str(path))
    with pytest.raises(GansmaniaError) as refused:
        read_keyframe(path)
    assert str(refused.value).startswith(f"{path}: ") and "\n" not in str(refused.value)


# ------------------------------------------------------------------------------- the image

def test_an_image_is_cropped_to_its_centre_and_transparency_lies_on_black(tmp_path):
    picture = np.zeros((40, 80, 4), np.uint8)
    picture[:, 20:60] = (255, 0, 0, 255)  # the centre square: opaque red
    picture[:, :20] = (0, 255, 0, 0)  # transparent green outside it: cropped anyway
    Image.fromarray(picture, "RGBA").save(tmp_path / "logo.png")
    target = target_of(read_image(tmp_path / "logo.png"), resolution=16, channels=3)
    assert target.shape == (1, 3, 16, 16)
    torch.testing.assert_close(target[0, :, 8, 8], torch.tensor([1.0, -1.0, -1.0]))
    half = np.zeros((10, 10, 4), np.uint8)
    half[..., 0], half[..., 3] = 255, 0  # red, fully transparent
    Image.fromarray(half, "RGBA").save(tmp_path / "clear.png")
    assert float(target_of(read_image(tmp_path / "clear.png"), resolution=4, channels=3).max()) == -1.0
    assert target_of(read_image(tmp_path / "logo.png"), resolution=8, channels=1).shape == (1, 1, 8, 8)
    (tmp_path / "notes.png").write_text("not a picture")
    for name, says in (("nothing.png", "image not found"), ("notes.png", "not an image")):
        with pytest.raises(GansmaniaError, match=f"^{tmp_path / name}: {says}"):
            read_image(tmp_path / name)


# ------------------------------------------------------------------- the optional networks

def test_the_models_discriminator_joins_the_loss_from_a_checkpoint(tmp_path, generator):
    torch.manual_seed(1)
    d = Discriminator(TINY_D, img_resolution=16)
    path = save_generator(tmp_path / "with-d.safetensors", generator, discriminator=d)
    loaded = discriminator_from(path, resolution=16)
    _, target = known(generator)
    torch.testing.assert_close(loaded(target), d.eval()(target))
    found = project(generator, target, ProjectSettings(steps=25, space="w+"),
                    discriminator=loaded)
    assert "discriminator" in found.terms and found.mean_abs_error < 1.5
    with pytest.raises(GansmaniaError, match="is for 16 px images, the model paints 32 px"):
        discriminator_from(path, resolution=32)
    plain = save_generator(tmp_path / "plain.safetensors", generator)
    with pytest.raises(GansmaniaError, match=r"no discriminator \('D'\) in it \(it has: G_ema\)"):
        discriminator_from(plain, resolution=16)
    wide = module_group(Discriminator(DiscriminatorConfig(channel_base=256, channel_max=32),
                                      img_resolution=16), kind="discriminator")
    # Tensors of a wider D under a config that says 16 channels: a damaged or edited file.
    groups = {"D": Group(kind="discriminator", config=dict(wide.config, channel_max=16),
                         tensors=wide.tensors)}
    bent = save_checkpoint(tmp_path / "bent.safetensors", groups)
    with pytest.raises(GansmaniaError, match="its 'D' tensors do not fit its config"):
        discriminator_from(bent, resolution=16)


class MeanColours(torch.nn.Module):
    """A feature network: per-channel means of 4x4 tiles (0..255 in)."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(images, 4).flatten(1)


class Lpips(torch.nn.Module):
    """NVlabs' vgg16.pt signature: LPIPS features only when asked for them."""

    def forward(self, img: torch.Tensor, resize_images: bool = True,
                return_lpips: bool = False) -> torch.Tensor:
        if return_lpips and not resize_images:
            return img.flatten(1) / 255.0
        return torch.zeros(img.shape[0], 1)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # users' files are TorchScript
def test_a_torchscript_feature_network_joins_the_loss(tmp_path, generator):
    torch.jit.script(MeanColours()).save(str(tmp_path / "tiles.pt"))
    torch.jit.script(Lpips()).save(str(tmp_path / "vgg16.pt"))
    _, target = known(generator)
    _, other = known(generator, seed=9)
    tiles = feature_net_from(tmp_path / "tiles.pt")
    assert tiles((target + 1) * 127.5).shape == (1, 3 * 4 * 4)
    lpips = feature_net_from(tmp_path / "vgg16.pt")
    torch.testing.assert_close(lpips((other + 1) * 127.5), ((other + 1) * 127.5).flatten(1) / 255)
    found = project(generator, target, ProjectSettings(steps=25, space="w+"), feature_net=tiles)
    assert "features" in found.terms and found.mean_abs_error < 1.5
    (tmp_path / "junk.pt").write_text("no")
    with pytest.raises(GansmaniaError, match="not a TorchScript feature network"):
        feature_net_from(tmp_path / "junk.pt")


# --------------------------------------------------------------------------------- the command

def test_project_command_writes_the_keyframe_and_the_side_by_side(tmp_path, generator):
    model = save_generator(tmp_path / "tiny.safetensors", generator)
    _, target = known(generator)
    Image.fromarray(to_uint8(target)[0]).resize((48, 48)).save(tmp_path / "seed5.png")
    out = tmp_path / "keys" / "five"
    result = CliRunner().invoke(cli, ["project", str(tmp_path / "seed5.png"), "--model", str(model),
                                      "--steps", "20", "--space", "w", "--out", str(out),
                                      "--device", "cpu"])
    assert result.exit_code == 0, result.output
    keyframe = read_keyframe(tmp_path / "keys" / "five.w.safetensors")
    assert keyframe.space == "w" and keyframe.steps == 20 and keyframe.image == "seed5.png"
    assert keyframe.model == "tiny.safetensors"
    assert keyframe.model_sha256 == read_header(model)["groups"]["G_ema"]["sha256"] \
        == module_digest(generator)
    side = np.asarray(Image.open(tmp_path / "keys" / "five.projection.png"))
    assert side.shape == (16, 32, 3)
    assert "mean abs error" in result.output and "PSNR" in result.output
    missing = CliRunner().invoke(cli, ["project", str(tmp_path / "none.png"), "--model", str(model)])
    assert missing.exit_code != 0 and isinstance(missing.exception, GansmaniaError)
    assert "none.png: image not found" in str(missing.exception)


def test_projection_refuses_bad_settings(generator):
    _, target = known(generator)
    with pytest.raises(GansmaniaError, match="space 'z'; allowed: w, w\\+"):
        project(generator, target, ProjectSettings(space="z"))
    with pytest.raises(ValueError, match=r"target must be \[1, 3, 16, 16\]"):
        project(generator, target[:, :, :8, :8], ProjectSettings(steps=1))
