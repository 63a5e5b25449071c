"""Fixtures for preset tests: a headless renderer over copies of the shaders and presets that a
test may edit (hot reload) without touching the repository."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.visualizer.presets.helpers import FIXTURE_SHADERS, PRESETS, SHADERS
from tests.visualizer.render.gl_helpers import known_image
from visualizer.render.headless import HeadlessOutput
from visualizer.render.library import ShaderLibrary
from visualizer.render.renderer import Renderer


@dataclass
class Rig:
    renderer: Renderer
    output: HeadlessOutput
    shaders: Path  # editable copy of shaders/ plus the fixture passes
    presets: Path  # editable copy of presets/


@pytest.fixture
def rig(egl_context, tmp_path) -> Rig:
    shaders, presets = tmp_path / "shaders", tmp_path / "presets"
    shutil.copytree(SHADERS, shaders)
    for path in FIXTURE_SHADERS.glob("*.glsl"):
        shutil.copy(path, shaders / path.name)
    shutil.copytree(PRESETS, presets)
    output = HeadlessOutput((64, 48), ctx=egl_context)
    renderer = Renderer(output, ShaderLibrary(egl_context, search_dirs=[shaders]), fit="stretch")
    image = known_image(64, 48)
    renderer.submit(image)
    renderer.submit(image)
    yield Rig(renderer=renderer, output=output, shaders=shaders, presets=presets)
    renderer.release()
    output.release()
