"""Acceptance: every shipped preset renders 2 s of a 120 BPM click track headless, through the
real pipeline (latent controller, a tiny random-weight generator, the preset's shader chain);
the presets look different from each other and every one of them reacts to the onsets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.visualizer.presets.helpers import PRESETS, SHADERS
from tests.visualizer.presets.showreel import FPS, click_features, render_clip, tiny_generator

NAMES = sorted(path.stem for path in PRESETS.glob("*.toml"))
START_S, END_S = 1.5, 3.5  # 2 s, after the extractor's gain and onset statistics settled


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """name -> Clip for every shipped preset (rendered once for the module's tests)."""
    import moderngl
    import torch

    from visualizer.backends.torch_backend import TorchGenerator, TorchLatentSpace
    from visualizer.render.headless import HeadlessOutput
    from visualizer.render.library import ShaderLibrary
    from visualizer.render.renderer import Renderer

    frames, clicks = click_features(duration_s=END_S + 0.1)
    generator = tiny_generator(tmp_path_factory.mktemp("model") / "tiny.safetensors")
    paint, space = TorchGenerator(generator), TorchLatentSpace(generator)
    ctx = moderngl.create_standalone_context(backend="egl")
    output = HeadlessOutput((96, 54), ctx=ctx)
    library = ShaderLibrary(ctx, search_dirs=[SHADERS])
    rendered = {}
    threads = torch.get_num_threads()
    # A model this small runs ~10x faster on one thread than on two cores shared with llvmpipe.
    torch.set_num_threads(1)
    try:
        for name in NAMES:
            renderer = Renderer(output, library)
            try:
                rendered[name] = render_clip(name, renderer=renderer, generator=paint, space=space,
                                             frames=frames, clicks=clicks, start_s=START_S,
                                             end_s=END_S, preset_dirs=[PRESETS])
            finally:
                renderer.release()
    finally:
        torch.set_num_threads(threads)
        output.release()
        ctx.release()
    return rendered


def test_every_shipped_preset_renders_two_seconds_of_pictures(clips):
    for name, clip in clips.items():
        assert clip.images.shape == (round((END_S - START_S) * FPS), 54, 96, 3), name
        assert 10.0 < clip.images.mean() < 250.0, f"{name} renders (nearly) black or white"
        assert clip.images.std() > 5.0, f"{name} renders a flat picture"


def test_the_presets_look_different_from_each_other(clips):
    for a, b in itertools.combinations(clips, 2):
        difference = np.abs(clips[a].images.astype(np.int16) - clips[b].images).mean()
        assert difference > 10.0, f"{a} and {b} look alike ({difference:.1f} levels apart)"


@pytest.mark.parametrize("name", NAMES)
def test_the_picture_jumps_on_onsets(clips, name):
    clip = clips[name]
    change = np.abs(np.diff(clip.images.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    times = clip.times_s[1:]
    # A frame "at an onset" is the first one whose features include the click.
    at_onset = np.array([np.any((clip.clicks_s > t - 1.0 / FPS - 0.01) & (clip.clicks_s <= t))
                         for t in times])
    since = np.array([t - clip.clicks_s[clip.clicks_s <= t].max() for t in times])
    between = since > 0.25  # the onset envelope (~0.2 s) has faded
    assert at_onset.sum() >= 3 and between.sum() >= 10
    ratio = change[at_onset].mean() / change[between].mean()
    assert ratio > 1.5, f"{name}: onset frames change {ratio:.1f}x as much as frames between clicks"
