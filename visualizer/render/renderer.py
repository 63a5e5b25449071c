"""The renderer: generator frames in, shader chain(s), HUD, presented frame out.

One display frame (``Renderer.render``)::

    two newest generator frames --blend--> upscale to FX size --> chain (--> crossfade with the
    incoming chain during a transition) --> blit/upscale to the output --> [capture] --> HUD
    --> present (stamped)

External inputs (``set_input``: an NDI source, later a webcam or a still) are textures bound by
name to every pass that declares a matching ``@texture`` sampler, in the running and the incoming
chain; an input not set reads transparent black, as any unbound sampler does.

With a clean view (``output.clean``: the performer view's audience window, sharing the GL
context's objects), the chain's result is drawn there too, with the master gain and without the
HUD, and swapped just before the output presents.

Frame taps (`visualizer.render.taps`) take a copy of the finished frame, without the HUD, at
sizes of their own for NDI and streams; their pixels arrive a few frames later, in
``PresentedFrame.tapped``, stamped as the frame they show.

The FX size is the output size times ``fx_scale``: llvmpipe without a GPU may need < 1 to hold
60 fps. A chain that fails to build (unknown pass, bad parameter, GLSL error) raises ShaderError
and the running chain stays: the show never goes black because of a bad file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from visualizer.render.chain import ShaderChain, make_target, release_target
from visualizer.render.headless import read_framebuffer
from visualizer.render.hud import Hud, HudState
from visualizer.render.library import ShaderLibrary
from visualizer.render.output import Output
from visualizer.render.passes import GLSL_NAME, STANDARD_UNIFORMS, ShaderPass, compile_program
from visualizer.render.source import SourceStage
from visualizer.render.taps import DEPTH, FrameTap
from visualizer.render.uniforms import AudioUniforms
from visualizer.render.upload import FrameUploader, ImageTexture

if TYPE_CHECKING:
    import moderngl

    from visualizer.render.settings import DisplaySettings

log = logging.getLogger(__name__)

# A chain as presets describe it: (pass name, parameter overrides) in order.
ChainSpec = Sequence[tuple[str, Mapping[str, Any]]]

CROSSFADE_PASS = "crossfade"
CROSSFADE_MODES = {"mix": 0, "luma": 1, "dip": 2}  # as in shaders/crossfade.glsl
CROSSFADE_INPUT = "u_to"  # the crossfade pass's sampler for the incoming look

_PRESENT = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_image;
uniform float u_gain;  // master intensity: 1 = as drawn, 0 = black
void main() { f_color = vec4(texture(u_image, v_uv).rgb * u_gain, 1.0); }
"""


@dataclass(frozen=True)
class PresentedFrame:
    """What the loop learns about a displayed frame (time.monotonic() s: the audio capture clock)."""

    index: int  # 0, 1, 2... per render call
    presented_s: float  # after swap + glFinish (window) or glFinish (headless)
    frame_capture_s: float | None  # audio capture time behind the newest generator frame shown
    fx_capture_s: float | None  # audio capture time behind this frame's shader uniforms
    image: np.ndarray | None  # uint8 (H, W, 3) top row first, without the HUD; when capture=True
    tapped: tuple[TappedFrame, ...] = ()  # pixels the frame taps read back during this frame

    @property
    def latency_s(self) -> float | None:
        """Audio capture -> photon for the generator image (None before stamped frames)."""
        return None if self.frame_capture_s is None else self.presented_s - self.frame_capture_s


@dataclass(frozen=True)
class TappedFrame:
    """An earlier frame's pixels, as one tap read them back."""

    tap: FrameTap
    frame: PresentedFrame  # the frame the pixels show, with its stamps (its image is None)
    pixels: np.ndarray  # RGBA uint8 (H, W, 4) at tap.size, top row first


class Renderer:
    """Draws frames through ``output`` with shader chains built from ``library``."""

    def __init__(self, output: Output, library: ShaderLibrary, *, fx_scale: float = 1.0,
                 upscale: str = "auto", fit: str = "fill", hud_visible: bool = False) -> None:
        if not 0.1 <= fx_scale <= 1.0:
            raise ValueError(f"fx_scale must be in 0.1..1.0, got {fx_scale}")
        self.output = output
        self.ctx = output.ctx
        self.library = library
        self.fx_scale = fx_scale
        self.hud_visible = hud_visible
        self.frames = FrameUploader(self.ctx)
        self._source = SourceStage(self.ctx, upscale=upscale, fit=fit)
        self._hud = Hud(self.ctx)
        self._present = compile_program(self.ctx, _PRESENT, path="<present>")
        self._present["u_gain"].value = 1.0
        self._present_vao = self.ctx.vertex_array(self._present, [])
        self._spec: tuple[tuple[str, dict[str, Any]], ...] = ()
        self._chain = ShaderChain(self.ctx, [], size=self.fx_size)
        self._incoming: ShaderChain | None = None
        self._incoming_spec: tuple[tuple[str, dict[str, Any]], ...] = ()
        self._fade: ShaderChain | None = None
        self._held: moderngl.Framebuffer | None = None  # the picture a freeze holds
        self._inputs: dict[str, ImageTexture] = {}  # set_input's textures, by sampler name
        self._taps: tuple[FrameTap, ...] = ()
        self._recent: deque[PresentedFrame] = deque(maxlen=DEPTH)  # the frames taps still read
        self._index = 0

    @classmethod
    def from_settings(cls, output: Output, library: ShaderLibrary, display: DisplaySettings) -> Renderer:
        return cls(output, library, fx_scale=display.fx_scale, upscale=display.upscale,
                   fit=display.fit, hud_visible=display.hud)

    # ------------------------------------------------------------------ state

    @property
    def fx_size(self) -> tuple[int, int]:
        """(W, H) the shader chain renders at: the output size times fx_scale."""
        width, height = self.output.size
        return (max(1, round(width * self.fx_scale)), max(1, round(height * self.fx_scale)))

    @property
    def upscale(self) -> str:
        """The filter generator frames are scaled up with ("bicubic" or "bilinear", auto resolved)."""
        return self._source.upscale

    @property
    def chain(self) -> ShaderChain:
        """The running chain (empty = the upscaled generator image as it is)."""
        return self._chain

    @property
    def incoming(self) -> ShaderChain | None:
        """The chain being faded to, during a transition."""
        return self._incoming

    def add_tap(self, size: tuple[int, int], *, depth: int = DEPTH) -> FrameTap:
        """A copy of every frame from now on at ``size`` (W, H); see `visualizer.render.taps`."""
        tap = FrameTap(self.ctx, size, depth=min(depth, DEPTH))
        self._taps = (*self._taps, tap)
        return tap

    def remove_tap(self, tap: FrameTap) -> list[TappedFrame]:
        """Stop ``tap`` and free it; returns the frames it had read but not yet handed over."""
        self._taps = tuple(t for t in self._taps if t is not tap)
        frames = [self._tapped(tap, index, pixels) for index, pixels in tap.drain()]
        tap.release()
        return [frame for frame in frames if frame is not None]

    def submit(self, image: Any, *, capture_s: float | None = None) -> None:
        """A new generator frame (uint8 (H, W, 3) or a [-1, 1] tensor); see FrameUploader.upload."""
        self.frames.upload(image, capture_s=capture_s)

    def set_input(self, name: str, image: np.ndarray | None) -> None:
        """Bind ``image`` to the ``@texture NAME`` sampler of every pass, from the next frame on.

        ``image``: uint8 RGBA (H, W, 4) or RGB (H, W, 3), top row first, at its own size (the
        texture follows a new size); a pass samples it at ``vec2(x, 1.0 - y)``, and its size is
        ``textureSize(NAME, 0)``. None unbinds it: the passes read transparent black again.
        """
        if not GLSL_NAME.match(name) or name in STANDARD_UNIFORMS or name == CROSSFADE_INPUT:
            raise ValueError(f"bad input name {name!r}: a GLSL sampler name that is not a standard "
                             f"uniform nor {CROSSFADE_INPUT}")
        if image is None:
            texture = self._inputs.pop(name, None)
            if texture is not None:
                texture.release()
            return
        texture = self._inputs.get(name)
        if texture is None:
            texture = self._inputs[name] = ImageTexture(self.ctx)
        texture.write(image)  # a bad image raises ValueError and leaves the input as it was

    def input_size(self, name: str) -> tuple[int, int] | None:
        """(W, H) of the image bound to input ``name``; None when it is not bound."""
        texture = self._inputs.get(name)
        return None if texture is None else texture.size

    def build_chain(self, spec: ChainSpec) -> ShaderChain:
        """A chain for ``spec`` at the FX size; ShaderError (one line) when any step is bad."""
        steps: list[tuple[ShaderPass, Mapping[str, Any]]] = [
            (self.library.load(name), params) for name, params in spec]
        return ShaderChain(self.ctx, steps, size=self.fx_size)

    def set_chain(self, spec: ChainSpec) -> None:
        """Swap the running chain for ``spec`` at once; on ShaderError the old one keeps running."""
        chain = self.build_chain(spec)
        self._chain.release()
        self._chain = chain
        self._spec = _freeze(spec)

    def begin_transition(self, spec: ChainSpec, *, mode: str = "mix") -> None:
        """Start fading to ``spec``: ``render(transition=t)`` shows t=0 old ... t=1 new.

        ``mode``: one of CROSSFADE_MODES. On ShaderError nothing changes.
        """
        if mode not in CROSSFADE_MODES:
            raise ValueError(f"crossfade mode must be one of {', '.join(CROSSFADE_MODES)}, got {mode!r}")
        incoming = self.build_chain(spec)
        fade = self.build_chain([(CROSSFADE_PASS, {"mode": CROSSFADE_MODES[mode]})])
        self._drop_transition()
        self._incoming, self._incoming_spec, self._fade = incoming, _freeze(spec), fade

    def end_transition(self) -> None:
        """The incoming chain becomes the running one (call when the fade reached 1)."""
        if self._incoming is None:
            return
        self._chain.release()
        self._chain, self._spec = self._incoming, self._incoming_spec
        self._incoming = None
        self._drop_transition()

    def cancel_transition(self) -> None:
        self._drop_transition()

    def reload_shaders(self) -> list[str]:
        """Rebuild the chains when pass files they use changed on disk; returns those names.

        Raises ShaderError when a changed file is broken: the chains keep running with the last
        good version of every pass (a broken file is reported once, until it changes again).
        """
        used = {name for name, _ in self._spec + self._incoming_spec}
        if self._incoming is not None:
            used.add(CROSSFADE_PASS)
        reloaded = sorted(used.intersection(self.library.changed()))
        if not reloaded:
            return []
        built: list[ShaderChain] = []
        try:
            built.append(self.build_chain(self._spec))
            if self._incoming is not None and self._fade is not None:
                built.append(self.build_chain(self._incoming_spec))
                built.append(self.build_chain([(CROSSFADE_PASS, self._fade.params(0))]))
        except Exception:
            for chain in built:
                chain.release()
            raise
        self._chain.release()
        self._chain = built[0]
        if len(built) == 3:
            spec = self._incoming_spec
            self._drop_transition()
            self._incoming, self._fade, self._incoming_spec = built[1], built[2], spec
        return reloaded

    # ------------------------------------------------------------------ drawing

    def render(self, uniforms: AudioUniforms, *, blend: float = 1.0, transition: float = 0.0,
               hud: HudState | None = None, capture: bool = False, gain: float = 1.0,
               hold: bool = False) -> PresentedFrame:
        """Draw and present one display frame.

        ``blend``: 0 shows the previous generator frame, 1 the newest (the loop ramps it between
        generator results). ``transition``: 0..1 through a begun transition. ``hud``: shown when
        :attr:`hud_visible`. ``capture``: also read the frame back (before the HUD) for recording.
        ``gain``: master intensity, 0 (black) .. 1. ``hold``: a freeze: present the picture of
        the first held frame again, without running the chains.
        """
        import moderngl

        result = self._held if hold else None
        if result is None:
            result = self._draw_chains(uniforms, blend=blend, transition=transition)
        if hold and self._held is None:
            self._held = make_target(self.ctx, result.size)
            self.ctx.copy_framebuffer(self._held, result)
        elif not hold and self._held is not None:
            release_target(self._held)
            self._held = None
        size = self.output.size
        target = self.output.target()
        gain = min(max(float(gain), 0.0), 1.0)
        if gain == 0.0:
            target.use()
            target.clear(0.0, 0.0, 0.0, 1.0)
        elif gain == 1.0 and result.size == size and target.size == size:
            self.ctx.copy_framebuffer(target, result)  # a blit: ~10x cheaper than a draw on llvmpipe
        else:
            target.use()
            self.ctx.viewport = (0, 0, *size)
            result.color_attachments[0].use(0)
            self._present["u_gain"].value = gain
            self._present_vao.render(moderngl.TRIANGLES, vertices=3)
        image = read_framebuffer(target, size) if capture else None
        for tap in self._taps:
            tap.capture(result.color_attachments[0], gain=gain, index=self._index)
        if self.hud_visible and hud is not None:
            target.use()
            self._hud.draw(hud, target_size=size)
        if self.output.clean is not None:
            self.output.clean.show(result.color_attachments[0], gain=gain)  # the audience's: no HUD
        presented_s = self.output.present()
        frame = PresentedFrame(index=self._index, presented_s=presented_s,
                               frame_capture_s=self.frames.newest_capture_s if blend > 0.0
                               else self.frames.previous_capture_s,
                               fx_capture_s=uniforms.capture_s, image=image)
        self._index += 1
        if not self._taps:
            return frame
        self._recent.append(dataclasses.replace(frame, image=None))
        tapped = (self._tapped(tap, *ready) for tap in self._taps if (ready := tap.collect()))
        return dataclasses.replace(frame, tapped=tuple(t for t in tapped if t is not None))

    def _tapped(self, tap: FrameTap, index: int, pixels: np.ndarray) -> TappedFrame | None:
        shown = next((frame for frame in self._recent if frame.index == index), None)
        return None if shown is None else TappedFrame(tap, shown, pixels)

    def _draw_chains(self, uniforms: AudioUniforms, *, blend: float,
                     transition: float) -> moderngl.Framebuffer:
        """Generator frames -> chain (-> cross-fade with the incoming chain): the FX-size result."""
        fx_size = self.fx_size
        self._chain.resize(fx_size)
        source = self._source.render(self.frames, blend=blend, size=fx_size)
        inputs = {name: texture.texture for name, texture in self._inputs.items()
                  if texture.texture is not None}
        result = self._chain.render(source, uniforms, textures=inputs)
        if self._incoming is not None and self._fade is not None:
            self._incoming.resize(fx_size)
            self._fade.resize(fx_size)
            other = self._incoming.render(source, uniforms, textures=inputs)
            self._fade.set_params(0, {"progress": transition})
            result = self._fade.render(result, uniforms,
                                       textures={CROSSFADE_INPUT: other.color_attachments[0]})
        return result

    def _drop_transition(self) -> None:
        for chain in (self._incoming, self._fade):
            if chain is not None:
                chain.release()
        self._incoming, self._fade, self._incoming_spec = None, None, ()

    def release(self) -> None:
        """Free the pipeline's GL objects (not the output, nor the library's passes)."""
        self._drop_transition()
        for tap in self._taps:
            tap.release()
        self._taps = ()
        for texture in self._inputs.values():
            texture.release()
        self._inputs = {}
        self._chain.release()
        if self._held is not None:
            release_target(self._held)
            self._held = None
        self._source.release()
        self._hud.release()
        self.frames.release()
        self._present_vao.release()
        self._present.release()


def _freeze(spec: ChainSpec) -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((name, dict(params)) for name, params in spec)
