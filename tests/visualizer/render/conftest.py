"""Fixtures for render tests: the bundled shader library on the EGL test context."""

from __future__ import annotations

import pytest

from tests.visualizer.render.gl_helpers import SHADERS
from visualizer.render.library import ShaderLibrary


@pytest.fixture
def library(egl_context) -> ShaderLibrary:
    return ShaderLibrary(egl_context, search_dirs=[SHADERS])
