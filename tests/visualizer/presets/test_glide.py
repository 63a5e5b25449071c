"""A preset switch changes the walk's keyframe seeds: the latents glide there over
walk.bank_change_s (the cross-fade's length, set by the presets glue) instead of jumping."""

from __future__ import annotations

import dataclasses

import numpy as np

from tests.visualizer.control.streams import TableSpace, metronome, pulled
from visualizer.core.config import from_dict
from visualizer.mapping.latent import LatentController
from visualizer.mapping.settings import ControllerSettings

QUIET = {"pulse": {"strength": 0.0}, "chroma": {"strength": 0.0}, "jitter": {"strength": 0.0},
         "truncation": {"quiet": 1.0, "loud": 1.0}, "noise": {"base": 0.0, "bass": 0.0}}


def test_new_seeds_glide_in_over_bank_change_s():
    space = TableSpace()
    controller = LatentController(space)
    old = from_dict(ControllerSettings, {**QUIET, "walk": {
        "seeds": [1, 2], "interpolation": "lerp_w", "beats_per_seed": 64.0, "bank_change_s": 0.5}})
    new = dataclasses.replace(old, walk=dataclasses.replace(old.walk, seeds=(5, 6)))
    frames = metronome(bpm=120, duration_s=2.0, onsets=False)
    half = len(frames) // 2
    path = [controller.step(f, old, dt).ws[0] for f, dt in pulled(frames[:half], every=8)]
    glide = [(controller.step(f, new, dt).ws[0], dt) for f, dt in pulled(frames[half:], every=8)]
    path += [w for w, _ in glide]
    steps = [float(np.abs(b - a).max()) for a, b in zip(path, path[1:])]
    jump = float(np.abs(space.w_of(5) - space.w_of(1)).max())
    assert max(steps) < jump / 4  # spread over the glide, not one jump
    t = controller.state.position % 1.0  # after the glide: on the new keyframes' line
    np.testing.assert_allclose(glide[-1][0], (1 - t) * space.w_of(5) + t * space.w_of(6), atol=1e-5)
