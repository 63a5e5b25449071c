"""`FrameTap`: the clean picture (no HUD) at a size of its own, read back without a stall.

NDI, a stream and the like each want the frame the audience sees on the CPU, each at its own
size. A plain ``glReadPixels`` makes the render thread wait until the GPU has finished the frame.
A tap instead draws the frame into its own framebuffer (scaled to its size, flipped so the top row
comes first, the master gain applied) and starts an asynchronous read into one of a ring of pixel
buffer objects; that slot's pixels are collected ``depth - 1`` frames later, long after the GPU
finished them. (On llvmpipe every read is synchronous anyway; the ring costs nothing there.)
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from visualizer.render.chain import make_target, release_target
from visualizer.render.passes import compile_program

if TYPE_CHECKING:
    import moderngl

DEPTH = 3  # pixel buffers per tap: frames reach the tap's reader DEPTH - 1 frames late

_DRAW = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_image;
uniform float u_gain;
// Flipped: GL's rows run bottom-up, every reader (NDI, video encoders) wants the top row first.
void main() { f_color = vec4(texture(u_image, vec2(v_uv.x, 1.0 - v_uv.y)).rgb * u_gain, 1.0); }
"""


class FrameTap:
    """One reader's copy of the finished frames: RGBA uint8 (H, W, 4), top row first, at ``size``.

    The renderer calls :meth:`capture` once per frame and :meth:`collect` after it; what
    ``collect`` returns is the frame captured ``depth - 1`` calls before.
    """

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], *, depth: int = DEPTH) -> None:
        width, height = size
        if width < 1 or height < 1 or depth < 1:
            raise ValueError(f"a tap needs a positive size and depth, got {size}, depth {depth}")
        self.ctx = ctx
        self.size = (int(width), int(height))
        self.depth = depth
        self._target = make_target(ctx, self.size)
        self._program = compile_program(ctx, _DRAW, path="<frame tap>")
        self._vao = ctx.vertex_array(self._program, [])
        self._buffers = [ctx.buffer(reserve=width * height * 4) for _ in range(depth)]
        self._pending: deque[tuple[int, moderngl.Buffer]] = deque()  # (frame index, its buffer)
        self._next = 0

    def capture(self, image: moderngl.Texture, *, gain: float, index: int) -> None:
        """Draw ``image`` (the finished frame, any size) into the tap and start reading it back."""
        import moderngl

        self._target.use()
        self.ctx.viewport = (0, 0, *self.size)
        image.use(0)
        self._program["u_gain"].value = gain
        self._vao.render(moderngl.TRIANGLES, vertices=3)
        buffer = self._buffers[self._next]
        self._next = (self._next + 1) % self.depth
        self._target.read_into(buffer, components=4, alignment=1)
        self._pending.append((index, buffer))

    def collect(self) -> tuple[int, np.ndarray] | None:
        """(frame index, pixels) of the oldest capture once the ring is full, else None."""
        if len(self._pending) < self.depth:
            return None
        return self._read(*self._pending.popleft())

    def drain(self) -> list[tuple[int, np.ndarray]]:
        """Every capture not yet collected, oldest first (a reader closing takes its last frames)."""
        frames = [self._read(*entry) for entry in self._pending]
        self._pending.clear()
        return frames

    def _read(self, index: int, buffer: moderngl.Buffer) -> tuple[int, np.ndarray]:
        width, height = self.size
        return index, np.frombuffer(buffer.read(), dtype=np.uint8).reshape(height, width, 4)

    def release(self) -> None:
        for buffer in self._buffers:
            buffer.release()
        self._pending.clear()
        self._vao.release()
        self._program.release()
        release_target(self._target)
