"""The GL fixtures themselves: EGL renders without any display."""

import numpy as np


def test_egl_context_renders(egl_context):
    ctx = egl_context
    fbo = ctx.simple_framebuffer((8, 8))
    fbo.use()
    fbo.clear(1.0, 0.5, 0.0, 1.0)
    pixels = np.frombuffer(fbo.read(components=3), dtype=np.uint8).reshape(8, 8, 3)
    assert tuple(pixels[0, 0]) == (255, 128, 0)
    assert "llvmpipe" in ctx.info["GL_RENDERER"] or ctx.info["GL_RENDERER"]
