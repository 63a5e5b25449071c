"""Keyframe files in a preset's walk (``seeds = [7, 77, "venue-logo.w.safetensors"]``): they
resolve from the preset's folder, a bad one names the preset file, key and value, and the walk
reaches the file's w exactly, so the frame there is the model's image of it; another model's
keyframe is refused; OSC may send one too."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.visualizer.backends.models import small_generator
from training.checkpoint import module_digest, save_generator
from training.keyframes import save_keyframe
from training.projection import ProjectSettings, project_to_keyframe
from visualizer.backends.torch_backend import TorchGenerator, TorchLatentSpace
from visualizer.control.routes import standard_table
from visualizer.core.config import from_dict
from visualizer.core.errors import ConfigError, GansmaniaError
from visualizer.mapping.latent import LatentController
from visualizer.mapping.settings import INTERPOLATIONS, ControllerSettings
from visualizer.presets.loader import load_preset
from visualizer.render.library import ShaderLibrary

from .helpers import SHADERS

LIBRARY = ShaderLibrary(None, search_dirs=[SHADERS])
# Only the walk moves: every audio route off, truncation psi 1, no noise.
STILL = {"pulse": {"strength": 0.0}, "chroma": {"strength": 0.0}, "jitter": {"strength": 0.0},
         "truncation": {"quiet": 1.0, "loud": 1.0}, "noise": {"base": 0.0, "bass": 0.0}}


@pytest.fixture(scope="module")
def generator():
    return small_generator(seed=0)


@pytest.fixture(scope="module")
def space(generator):
    return TorchLatentSpace(generator)


def keyframe(path: Path, generator, *, seed: int = 99, model_sha256: str | None = None) -> tuple[Path, np.ndarray]:
    """A w+ keyframe for ``generator`` near seed ``seed``'s w; (path, ws [num_ws, w_dim])."""
    ws = TorchLatentSpace(generator).ws_of_seeds([seed])[0]
    ws = ws + np.random.default_rng(seed).standard_normal(ws.shape).astype(np.float32) * 0.1
    save_keyframe(path, ws, model="small.safetensors",
                  model_sha256=model_sha256 or module_digest(generator), image="logo.png",
                  steps=1, loss=0.0)
    return path, ws


def walk_settings(seeds, **walk) -> ControllerSettings:
    return from_dict(ControllerSettings, {**STILL, "walk": {"seeds": list(seeds),
                                                            "beats_per_seed": 1.0, **walk}})


def write_preset(folder: Path, seeds: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "look.toml"
    path.write_text('description = "A walk through a logo"\n\n[controller.walk]\n'
                    f"seeds = {seeds}\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------- the preset

def test_a_preset_lists_keyframe_files_beside_seeds(tmp_path, monkeypatch, generator):
    presets, elsewhere = tmp_path / "presets", tmp_path / "elsewhere"
    presets.mkdir()
    elsewhere.mkdir()
    beside, _ = keyframe(presets / "venue-logo.w.safetensors", generator)
    in_cwd, _ = keyframe(elsewhere / "stage.w.safetensors", generator)
    monkeypatch.chdir(elsewhere)
    preset = load_preset(write_preset(presets, '[7, 77, "venue-logo.w.safetensors", '
                                               '"stage.w.safetensors"]'), library=LIBRARY)
    assert preset.controller.walk.seeds == (7, 77, str(beside.resolve()), str(in_cwd.resolve()))


@pytest.mark.parametrize("seeds, says", [
    ('[7, "nope.w.safetensors"]', "key 'controller.walk.seeds' = \"nope.w.safetensors\": keyframe "
                                  "file not found; looked in {folder}, {cwd}; allowed: seeds "
                                  "(integers) and NAME.w.safetensors files from `gansmania project`"),
    ('[7, "notes.w.safetensors"]', "key 'controller.walk.seeds' = \"notes.w.safetensors\": "
                                   "{folder}/notes.w.safetensors: not a keyframe file"),
    ("[7, 1.5]", "key 'controller.walk.seeds' = [7, 1.5] is not a whole number"),
    ("[7, -1]", "key 'controller.walk.seeds' = [7, -1] is out of range"),
    ("[7, true]", "key 'controller.walk.seeds' = [7, True] has the wrong type; allowed a list of "
                  "integers 0..4294967295 or strings"),
])
def test_a_bad_keyframe_names_the_preset_file_key_and_value(tmp_path, monkeypatch, seeds, says):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "presets"
    path = write_preset(folder, seeds)
    (folder / "notes.w.safetensors").write_text("not a keyframe")
    with pytest.raises(ConfigError) as refused:  # a PresetError for the files themselves
        load_preset(path, library=LIBRARY)
    message = str(refused.value)
    assert message.startswith(f"{path}:4: "), message
    assert says.format(folder=folder, cwd=tmp_path) in message and "\n" not in message


# ---------------------------------------------------------------------------------- the walk

@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_the_walk_reaches_the_keyframe_and_paints_its_image(tmp_path, generator, space,
                                                            interpolation):
    path, ws = keyframe(tmp_path / "logo.w.safetensors", generator)
    s = walk_settings([3, str(path)], interpolation=interpolation)
    controller = LatentController(space)
    seed_w = space.ws_of_seeds([3])[0]
    start = controller.step(None, s, 1e-6)  # free tempo 120 BPM: 2 keyframes a second
    np.testing.assert_allclose(start.ws, seed_w, atol=1e-4)
    middle = controller.step(None, s, 0.25)
    if interpolation != "spline_w":  # the leg from a seed to a file runs straight in w
        np.testing.assert_allclose(middle.ws, (seed_w + ws) / 2, atol=1e-4)
    at_file = controller.step(None, s, 0.25 - 1e-6)
    assert controller.state.position == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(at_file.ws, ws, atol=1e-5)
    painted = TorchGenerator(generator).synthesize(at_file)
    with torch.no_grad():
        expected = generator.synthesis(torch.from_numpy(ws)[None], noise_mode="const")
    torch.testing.assert_close(painted, expected, atol=1e-4, rtol=0)


def test_seed_only_walks_are_unchanged_and_a_bank_moves_seeds_not_files(tmp_path, generator,
                                                                         space):
    path, ws = keyframe(tmp_path / "logo.w.safetensors", generator)
    controller = LatentController(space)
    bank = walk_settings([3, str(path)], bank=1, bank_change_s=0.0, interpolation="lerp_w")
    first = controller.step(None, bank, 1e-6)
    np.testing.assert_allclose(first.ws, space.ws_of_seeds([5])[0], atol=1e-4)  # 3 + 1 x 2
    np.testing.assert_allclose(controller.step(None, bank, 0.5 - 1e-6).ws, ws, atol=1e-5)
    # slerp_z between two seeds still walks the great circle in z, not a line in w.
    seeds = walk_settings([3, 4])
    walker = LatentController(space)
    walker.step(None, seeds, 1e-6)
    halfway = walker.step(None, seeds, 0.25 - 1e-6).ws
    straight = space.ws_of_seeds([3, 4]).mean(0)
    assert np.abs(halfway - straight).max() > 1e-3


def test_a_keyframe_of_another_model_is_refused_as_soon_as_the_walk_is_given_it(tmp_path, space):
    other = small_generator(seed=1)
    path, _ = keyframe(tmp_path / "other.w.safetensors", other)
    controller = LatentController(space)
    s = walk_settings([3, 4, 5, str(path)])  # slerp_z between seeds: the file is legs away
    with pytest.raises(GansmaniaError, match="not of the model in use"):
        controller.step(None, s, 1e-6)
    with pytest.raises(GansmaniaError, match="keyframe file .*gone.w.safetensors not found"):
        LatentController(space).step(None, walk_settings([3, str(tmp_path / "gone.w.safetensors")],
                                                         interpolation="lerp_w"), 0.1)


def test_a_keyframe_projected_again_is_picked_up(tmp_path, generator, space):
    path, _ = keyframe(tmp_path / "logo.w.safetensors", generator, seed=99)
    s = walk_settings([str(path), 3], interpolation="lerp_w")
    controller = LatentController(space)
    controller.step(None, s, 1e-6)
    _, again = keyframe(path, generator, seed=42)
    os.utime(path, ns=(1, 1))  # a new version, even within the file system's time resolution
    np.testing.assert_allclose(controller.step(None, s, 2.0 - 2e-6).ws, again, atol=1e-5)


def test_osc_may_send_a_keyframe_file_among_the_seeds(tmp_path):
    table = standard_table()
    path = str(tmp_path / "logo.w.safetensors")
    assert table.dispatch("/gm/map/walk/seeds", [3, path], source="osc") is None
    assert table.params.get("walk.seeds") == (3, path)


# -------------------------------------------------------------------------- the whole chain

def test_an_image_projected_into_the_model_is_a_keyframe_the_preset_walks_to(tmp_path, generator,
                                                                            space, isolated_threads):
    torch.set_num_threads(1)
    model = save_generator(tmp_path / "small.safetensors", generator)
    Image.fromarray(np.full((32, 48, 3), (200, 40, 90), np.uint8)).save(tmp_path / "logo.png")
    presets = tmp_path / "presets"
    made = project_to_keyframe(tmp_path / "logo.png", model=model, out=presets / "logo",
                               settings=ProjectSettings(steps=3))
    preset = load_preset(write_preset(presets, '[7, "logo.w.safetensors"]'), library=LIBRARY)
    s = dataclasses.replace(preset.controller, **{
        k: getattr(walk_settings([0]), k) for k in ("pulse", "chroma", "jitter", "truncation",
                                                    "noise")})
    s = dataclasses.replace(s, walk=dataclasses.replace(s.walk, beats_per_seed=1.0))
    controller = LatentController(space)
    controller.step(None, s, 1e-6)
    latent = controller.step(None, s, 0.5 - 1e-6)
    np.testing.assert_allclose(latent.ws, made.projection.w, atol=1e-5)
    image = TorchGenerator(generator).synthesize(latent)
    painted = ((image[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8)).numpy()
    assert np.abs(painted.astype(int) - made.projection.image).max() <= 1


def test_presets_check_refuses_a_keyframe_of_another_model_than_the_presets(tmp_path, generator):
    from visualizer.presets.check import PresetChecker

    model = save_generator(tmp_path / "small.safetensors", generator)
    keyframe(tmp_path / "mine.w.safetensors", generator)
    keyframe(tmp_path / "other.w.safetensors", small_generator(seed=1))
    checker = PresetChecker(None, model_dirs=[])
    for name, seeds in (("good", '[7, "mine.w.safetensors"]'), ("bad", '[7, "other.w.safetensors"]')):
        path = tmp_path / f"{name}.toml"
        path.write_text(f'description = "A look"\nmodel = "{model.name}"\n\n[controller.walk]\n'
                        f"seeds = {seeds}\n", encoding="utf-8")
    assert checker.check(tmp_path / "good.toml").ok
    bad = checker.check(tmp_path / "bad.toml")
    assert bad.error.startswith(f"{tmp_path / 'bad.toml'}: key 'controller.walk.seeds': "
                                f"{tmp_path / 'other.w.safetensors'}: a keyframe of model "
                                "small.safetensors (sha256 ")
    assert "not of the preset's model small.safetensors" in bad.error
