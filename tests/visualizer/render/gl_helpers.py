"""Render test helpers: known test images, uploads and one-pass renders on EGL."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from visualizer.render.chain import ShaderChain, make_target, release_target
from visualizer.render.headless import read_framebuffer
from visualizer.render.library import ShaderLibrary
from visualizer.render.uniforms import AudioUniforms

SHADERS = Path(__file__).resolve().parents[3] / "shaders"


def known_image(width: int = 96, height: int = 64) -> np.ndarray:
    """A picture with no symmetry: red ramps left->right, green top->bottom, a blue disc off-centre.

    uint8 (height, width, 3), top row first.
    """
    y, x = np.mgrid[0:height, 0:width]
    red = x / (width - 1)
    green = y / (height - 1)
    blue = ((x - width * 0.7) ** 2 + (y - height * 0.3) ** 2 < (height * 0.2) ** 2).astype(float)
    return (np.stack([red, green, blue], axis=-1) * 255).round().astype(np.uint8)


def upload(ctx, image: np.ndarray):
    """``image`` (H, W, 3 uint8, top row first) as an RGBA framebuffer in GL row order."""
    height, width = image.shape[:2]
    framebuffer = make_target(ctx, (width, height))
    rgba = np.concatenate([image, np.full((height, width, 1), 255, np.uint8)], axis=-1)
    framebuffer.color_attachments[0].write(np.ascontiguousarray(rgba[::-1]).tobytes())
    return framebuffer


def render_pass(ctx, library: ShaderLibrary, name: str, params: Mapping[str, object] | None = None, *,
                image: np.ndarray | None = None, uniforms: AudioUniforms | None = None,
                textures: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Run pass ``name`` once on ``image`` at its size; the result as uint8 (H, W, 3), top row first."""
    image = known_image() if image is None else image
    source = upload(ctx, image)
    bound = {key: upload(ctx, value) for key, value in (textures or {}).items()}
    chain = ShaderChain(ctx, [(library.load(name), params or {})], size=(image.shape[1], image.shape[0]))
    try:
        result = chain.render(source, uniforms or AudioUniforms(),
                              textures={k: fb.color_attachments[0] for k, fb in bound.items()})
        return read_framebuffer(result)
    finally:
        chain.release()
        for framebuffer in [source, *bound.values()]:
            release_target(framebuffer)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 images, in 0..255 levels."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
