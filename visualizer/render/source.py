"""The first stage of every frame: blend the two newest generator frames, upscale to the FX size.

Blending happens at the generator's resolution (256x256 costs ~nothing), then one upscaling pass
writes the FX resolution: Catmull-Rom bicubic in 5 bilinear taps (the corner taps of the 9-tap
form weigh under 2% together and are dropped), or plain bilinear when every millisecond counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visualizer.render.chain import make_target, release_target
from visualizer.render.passes import compile_program
from visualizer.render.upload import FrameUploader

if TYPE_CHECKING:
    import moderngl

UPSCALE_FILTERS = ("auto", "bicubic", "bilinear")  # auto: bilinear on a software renderer
_SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "swiftshader")
FITS = ("fill", "fit", "stretch")  # crop to fill the output / letterbox / distort

_BLEND = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_from;
uniform sampler2D u_to;
uniform float u_blend;
void main() { f_color = vec4(mix(texture(u_from, v_uv).rgb, texture(u_to, v_uv).rgb, u_blend), 1.0); }
"""

_UPSCALE = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_image;
uniform vec2 u_image_size;  // texels
uniform vec2 u_scale;       // fit: the part of the image the output covers, around its centre
#ifdef BICUBIC
// Catmull-Rom from bilinear taps (after Jimenez / MJP): weights of the 4x4 neighbourhood folded
// into the bilinear filter, corners dropped and the rest renormalised.
vec3 sample_image(vec2 uv) {
    vec2 pos = uv * u_image_size;
    vec2 centre = floor(pos - 0.5) + 0.5;
    vec2 f = pos - centre;
    vec2 w0 = f * (-0.5 + f * (1.0 - 0.5 * f));
    vec2 w1 = 1.0 + f * f * (-2.5 + 1.5 * f);
    vec2 w2 = f * (0.5 + f * (2.0 - 1.5 * f));
    vec2 w3 = f * f * (-0.5 + 0.5 * f);
    vec2 w12 = w1 + w2;
    vec2 p0 = (centre - 1.0) / u_image_size;
    vec2 p3 = (centre + 2.0) / u_image_size;
    vec2 p12 = (centre + w2 / w12) / u_image_size;
    vec3 c = texture(u_image, vec2(p12.x, p0.y)).rgb * (w12.x * w0.y)
           + texture(u_image, vec2(p0.x, p12.y)).rgb * (w0.x * w12.y)
           + texture(u_image, p12).rgb * (w12.x * w12.y)
           + texture(u_image, vec2(p3.x, p12.y)).rgb * (w3.x * w12.y)
           + texture(u_image, vec2(p12.x, p3.y)).rgb * (w12.x * w3.y);
    float weight = w12.x * w0.y + w0.x * w12.y + w12.x * w12.y + w3.x * w12.y + w12.x * w3.y;
    return clamp(c / weight, 0.0, 1.0);
}
#else
vec3 sample_image(vec2 uv) { return texture(u_image, uv).rgb; }
#endif
void main() {
    // Images arrive top row first; GL puts row 0 at the bottom, so flip here, once.
    vec2 uv = (vec2(v_uv.x, 1.0 - v_uv.y) - 0.5) * u_scale + 0.5;
    bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
    f_color = vec4(inside ? sample_image(uv) : vec3(0.0), 1.0);
}
"""


class SourceStage:
    """Turns the uploader's two newest frames into one image at the FX size."""

    def __init__(self, ctx: moderngl.Context, *, upscale: str = "auto", fit: str = "fill") -> None:
        if upscale not in UPSCALE_FILTERS:
            raise ValueError(f"upscale must be one of {UPSCALE_FILTERS}, got {upscale!r}")
        if fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
        self.ctx = ctx
        self.fit = fit
        self.upscale = resolve_upscale(upscale, ctx)
        self._blend = compile_program(ctx, _BLEND, path="<blend>")
        self._blend["u_from"].value, self._blend["u_to"].value = 0, 1
        define = "#define BICUBIC\n" if self.upscale == "bicubic" else ""
        self._upscale = compile_program(ctx, _UPSCALE.replace("\n", "\n" + define, 1), path="<upscale>")
        self._upscale["u_image"].value = 0
        self._blend_vao = ctx.vertex_array(self._blend, [])
        self._upscale_vao = ctx.vertex_array(self._upscale, [])
        self._blended: moderngl.Framebuffer | None = None
        self._output: moderngl.Framebuffer | None = None
        self._drawn: tuple[int, int, float] | None = None  # what _output holds: (allocation, frame, blend)
        self._allocations = 0  # bumped whenever a target is remade, so a new one is never "drawn"

    def render(self, frames: FrameUploader, *, blend: float, size: tuple[int, int]) -> moderngl.Framebuffer:
        """The blend of ``frames.previous`` (0) and ``frames.newest`` (1), at ``size`` (W, H).

        Black until the first frame arrives. Returns a framebuffer owned by this stage.
        """
        import moderngl

        output = self._target("_output", size)
        newest, previous = frames.newest, frames.previous
        if newest is None or previous is None:
            output.clear(0.0, 0.0, 0.0, 1.0)
            return output
        blend = min(max(float(blend), 0.0), 1.0)
        blended = self._target("_blended", newest.size)
        # Between generator frames with the blend held, the picture is the same: skip both passes.
        key = (self._allocations, frames.count, blend)
        if key == self._drawn:
            return output
        self._drawn = key
        # The blend always runs (at generator size it costs ~0.2 ms): it also turns the RGB8
        # upload into RGBA8, which llvmpipe samples about twice as fast in the upscale below.
        blended.use()
        previous.use(0)
        newest.use(1)
        self._blend["u_blend"].value = blend
        self._blend_vao.render(moderngl.TRIANGLES, vertices=3)
        image = blended.color_attachments[0]
        output.use()
        image.use(0)
        if "u_image_size" in self._upscale:  # only the bicubic filter reads it
            self._upscale["u_image_size"].value = (float(image.width), float(image.height))
        self._upscale["u_scale"].value = fit_scale(self.fit, image=image.size, output=size)
        self._upscale_vao.render(moderngl.TRIANGLES, vertices=3)
        return output

    def _target(self, attribute: str, size: tuple[int, int]) -> moderngl.Framebuffer:
        current = getattr(self, attribute)
        if current is None or current.size != tuple(size):
            if current is not None:
                release_target(current)
            current = make_target(self.ctx, size)
            setattr(self, attribute, current)
            self._allocations += 1
        return current

    def release(self) -> None:
        for framebuffer in (self._blended, self._output):
            if framebuffer is not None:
                release_target(framebuffer)
        self._blended = self._output = None
        for obj in (self._blend_vao, self._upscale_vao, self._blend, self._upscale):
            obj.release()


def resolve_upscale(upscale: str, ctx: moderngl.Context) -> str:
    """``upscale`` with "auto" decided: bicubic on a GPU; bilinear where the CPU rasterises
    (llvmpipe), since the bicubic taps cost it about 3x the bilinear pass at 720p."""
    if upscale != "auto":
        return upscale
    renderer = ctx.info.get("GL_RENDERER", "").lower()
    return "bilinear" if any(name in renderer for name in _SOFTWARE_RENDERERS) else "bicubic"


def fit_scale(fit: str, *, image: tuple[int, int], output: tuple[int, int]) -> tuple[float, float]:
    """How much of the image (per axis, 1 = all of it) the output spans, for ``fit``."""
    image_aspect = image[0] / image[1]
    output_aspect = output[0] / output[1]
    if fit == "stretch" or image_aspect == output_aspect:
        return (1.0, 1.0)
    wider = output_aspect > image_aspect
    if fit == "fill":  # crop: the image's short side spans the output
        return (1.0, image_aspect / output_aspect) if wider else (output_aspect / image_aspect, 1.0)
    return (output_aspect / image_aspect, 1.0) if wider else (1.0, image_aspect / output_aspect)
