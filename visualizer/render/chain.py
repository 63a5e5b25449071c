"""A shader chain: an ordered list of (pass, parameters) run with ping-pong framebuffers.

Frames travel as framebuffers whose first colour attachment is the image texture (RGBA8, linear
filtering, clamped edges), so the caller can blit the result or bind it as a texture.

Feedback: a pass that reads ``u_prev`` gets a pair of its own textures and sees *its own* output
of the previous frame (not the end of the chain), so a colour grade after the trails pass does not
compound frame over frame. The history starts black and survives :meth:`ShaderChain.render` calls,
not rebuilds or resizes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from visualizer.render.passes import STANDARD_UNIFORMS, ParamValue, ShaderError, ShaderPass
from visualizer.render.uniforms import AudioUniforms

if TYPE_CHECKING:
    import moderngl


@dataclass(frozen=True)
class ChainStep:
    """One pass of a chain with its validated starting parameters (every parameter present)."""

    shader: ShaderPass
    params: Mapping[str, ParamValue]


def make_target(ctx: moderngl.Context, size: tuple[int, int]) -> moderngl.Framebuffer:
    """An RGBA8 framebuffer of ``size`` (W, H) whose texture samples linearly, edges clamped."""
    import moderngl

    texture = ctx.texture(size, 4)
    texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
    texture.repeat_x = texture.repeat_y = False
    framebuffer = ctx.framebuffer(color_attachments=[texture])
    framebuffer.clear(0.0, 0.0, 0.0, 1.0)
    return framebuffer


def release_target(framebuffer: moderngl.Framebuffer) -> None:
    for attachment in framebuffer.color_attachments:
        attachment.release()
    framebuffer.release()


class ShaderChain:
    """Runs passes in order at ``size``; building it validates every step's parameters.

    ``steps``: (compiled pass, parameter overrides) pairs. An unknown parameter, a wrong type or
    an out-of-range value raises ShaderError before any GL object is made.
    """

    def __init__(self, ctx: moderngl.Context, steps: Sequence[tuple[ShaderPass, Mapping[str, object]]],
                 *, size: tuple[int, int]) -> None:
        self.ctx = ctx
        self.steps = tuple(ChainStep(shader, shader.source.validate_params(params))
                           for shader, params in steps)
        self._values = [dict(step.params) for step in self.steps]  # live values (set_params)
        self._uniforms = [_active_uniforms(step.shader) for step in self.steps]
        self.size = (0, 0)
        self._ping: list[moderngl.Framebuffer] = []
        self._history: dict[int, list[moderngl.Framebuffer]] = {}
        self._flip = 0
        self._black = ctx.texture((1, 1), 4, data=bytes(4))
        self.output: moderngl.Framebuffer | None = None  # the last render's result
        self.resize(size)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.shader.name for step in self.steps)

    def params(self, index: int) -> dict[str, ParamValue]:
        """The current values of step ``index``'s parameters."""
        return dict(self._values[index])

    def set_params(self, index: int, values: Mapping[str, float | bool]) -> None:
        """Change step ``index``'s parameters for the next renders (live modulation).

        Values are clamped into the declared range (a feature-bound parameter overshooting is
        normal on stage); an unknown name raises ShaderError.
        """
        source = self.steps[index].shader.source
        for name, value in values.items():
            try:
                spec = source.param(name).spec
            except KeyError:
                known = ", ".join(p.name for p in source.params) or "none"
                raise ShaderError(source.path, None, f"unknown parameter {name!r} for pass "
                                                     f"{source.name!r}; its parameters: {known}") from None
            self._values[index][name] = spec.clamp(value)

    def resize(self, size: tuple[int, int]) -> None:
        """Reallocate the framebuffers at ``size`` (W, H); feedback history restarts black."""
        size = (int(size[0]), int(size[1]))
        if size == self.size:
            return
        self._release_targets()
        self.size = size
        self._ping = [make_target(self.ctx, size) for _ in range(2 if self.steps else 0)]
        self._history = {i: [make_target(self.ctx, size) for _ in range(2)]
                         for i, step in enumerate(self.steps) if step.shader.uses_prev}
        self.output = None

    def render(self, source: moderngl.Framebuffer, uniforms: AudioUniforms, *,
               textures: Mapping[str, moderngl.Texture] | None = None) -> moderngl.Framebuffer:
        """Run every pass on ``source`` (at this chain's size); returns the result framebuffer.

        ``textures`` binds the passes' ``@texture`` samplers by name (unbound ones read black).
        The result belongs to the chain and is valid until the next render. An empty chain
        returns ``source``.
        """
        import moderngl

        current = source
        scalars = uniforms.scalars()
        chroma = struct.pack("12f", *uniforms.chroma)
        harmony = uniforms.harmony()
        for index, step in enumerate(self.steps):
            if index in self._history:
                pair = self._history[index]
                target, previous = pair[self._flip], pair[1 - self._flip].color_attachments[0]
            else:
                target = self._ping[1] if current is self._ping[0] else self._ping[0]
                previous = self._black
            texture = current.color_attachments[0]
            if step.shader.source.mipmaps:
                texture.build_mipmaps()
                texture.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            target.use()
            texture.use(0)
            previous.use(1)
            for unit, spec in enumerate(step.shader.source.textures, start=2):
                (textures or {}).get(spec.name, self._black).use(unit)
            self._set_uniforms(index, scalars, chroma, harmony)
            step.shader.vao.render(moderngl.TRIANGLES, vertices=3)
            if step.shader.source.mipmaps:
                texture.filter = (moderngl.LINEAR, moderngl.LINEAR)  # later passes sample level 0
            current = target
        self._flip ^= 1
        self.output = current
        return current

    def _set_uniforms(self, index: int, scalars: dict[str, float], chroma: bytes,
                      harmony: tuple[float, float]) -> None:
        active = self._uniforms[index]
        for name, value in scalars.items():
            if name in active:
                active[name].value = value
        if "u_chroma" in active:
            active["u_chroma"].write(chroma)
        if "u_harmony" in active:
            active["u_harmony"].value = harmony
        if "u_resolution" in active:
            active["u_resolution"].value = (float(self.size[0]), float(self.size[1]))
        for name, value in self._values[index].items():
            if name in active:  # the compiler drops a uniform that cannot change the output
                active[name].value = value

    def _release_targets(self) -> None:
        for framebuffer in [*self._ping, *(fb for pair in self._history.values() for fb in pair)]:
            release_target(framebuffer)
        self._ping, self._history = [], {}

    def release(self) -> None:
        """Free this chain's framebuffers (the passes belong to the library and stay)."""
        self._release_targets()
        self._black.release()


def _active_uniforms(shader: ShaderPass) -> dict[str, moderngl.Uniform]:
    names = [*STANDARD_UNIFORMS, *(p.name for p in shader.source.params)]
    return {name: shader.program[name] for name in names
            if name in shader.program and name not in ("u_input", "u_prev")}
