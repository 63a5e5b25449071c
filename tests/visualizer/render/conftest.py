"""Fixtures for render tests: the bundled shader library, a 96x64 headless output and a renderer
on it (stretching frames to fill), all on the EGL test context."""

from __future__ import annotations

import pytest

from tests.visualizer.render.gl_helpers import SHADERS
from visualizer.render.headless import HeadlessOutput
from visualizer.render.library import ShaderLibrary
from visualizer.render.renderer import Renderer


@pytest.fixture
def library(egl_context) -> ShaderLibrary:
    return ShaderLibrary(egl_context, search_dirs=[SHADERS])


@pytest.fixture
def output(egl_context):
    out = HeadlessOutput((96, 64), ctx=egl_context)
    yield out
    out.release()


@pytest.fixture
def renderer(output, library):
    r = Renderer(output, library, fit="stretch")
    yield r
    r.release()
