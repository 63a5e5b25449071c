"""The HUD: a translucent panel with show stats, drawn over the output when toggled on (H).

Text is rasterised by Pillow into a texture only when it changes (numbers at most every
``refresh_s``, so a flickering fps does not re-render every frame); the level meters and the beat
bar move every frame but are drawn by the panel's shader from four uniforms, not by Pillow.
Under the text, a QR code when the show has one to offer (the web remote's address, token
included): black and white modules, a whole number of pixels each, so a phone reads it off
the screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from visualizer.render.passes import compile_program

if TYPE_CHECKING:
    import moderngl


@dataclass(frozen=True)
class HudState:
    """What the HUD shows; the live loop fills it once per frame. None = not known (yet)."""

    fps: float | None = None  # display frames per second
    generator_ms: float | None = None  # time of one generator call
    level: float = 0.0  # 0..1 meters
    bass: float = 0.0
    mid: float = 0.0
    high: float = 0.0
    bpm: float | None = None
    beat_phase: float = 0.0  # 0..1
    latency_ms: float | None = None  # audio capture -> photon
    preset: str = ""
    osc_port: int | None = None
    error: str = ""  # the latest problem, e.g. "generator: RuntimeError: CUDA out of memory"
    qr: tuple[tuple[bool, ...], ...] = ()  # QR modules (True = dark, quiet zone included); () = none


_METERS = ("beat", "bass", "mid", "high")  # rows with a bar, in panel order after the stats line
_FIXED_ROWS = 7  # stats, BPM, four meters, preset; an error line follows them
_ERROR_CHARS = 90  # longer errors are cut: the panel must stay on screen

_PANEL = """#version 330
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_text;
uniform vec2 u_panel;      // panel size, pixels
uniform vec4 u_bars[4];    // x, y (from the top), w, h of each meter, pixels
uniform float u_values[4]; // 0..1 fill of each meter
void main() {
    vec2 p = vec2(v_uv.x, 1.0 - v_uv.y) * u_panel;
    vec4 colour = vec4(0.0, 0.0, 0.0, 0.6);
    for (int i = 0; i < 4; i++) {
        vec4 bar = u_bars[i];
        if (p.x >= bar.x && p.x < bar.x + bar.z && p.y >= bar.y && p.y < bar.y + bar.w) {
            float v = clamp(u_values[i], 0.0, 1.0);
            vec3 lit = i == 0 ? vec3(0.35, 0.7, 1.0) : mix(vec3(0.2, 0.9, 0.3), vec3(1.0, 0.25, 0.2),
                                                         smoothstep(0.6, 1.0, (p.x - bar.x) / bar.z));
            colour = vec4(p.x < bar.x + bar.z * v ? lit : vec3(0.18), 0.9);
        }
    }
    vec4 text = texture(u_text, vec2(v_uv.x, 1.0 - v_uv.y));
    f_color = vec4(mix(colour.rgb, text.rgb, text.a), max(colour.a, text.a));
}
"""


def font_px_for(height: int) -> int:
    """HUD font size for an output ``height`` pixels tall (16 px at 720p, 24 px at 1080p)."""
    return max(12, round(height / 45))


def qr_module_px(font_px: int) -> int:
    """Pixels per QR module: a 45-module code is 180 px at 720p, 270 px at 1080p."""
    return max(2, font_px // 4)


class Hud:
    """Draws :class:`HudState` into the bound framebuffer's top-left corner."""

    def __init__(self, ctx: moderngl.Context, *, refresh_s: float = 0.25) -> None:
        self.ctx = ctx
        self.refresh_s = refresh_s
        self.renders = 0  # times the text was rasterised: tests check it only changes with the text
        self._program = compile_program(ctx, _PANEL, path="<hud>")
        self._program["u_text"].value = 0
        self._vao = ctx.vertex_array(self._program, [])
        self._texture: moderngl.Texture | None = None
        self._font_px = 0
        self._font: ImageFont.FreeTypeFont | ImageFont.ImageFont | None = None
        self._lines: tuple[str, ...] = ()
        self._qr: tuple[tuple[bool, ...], ...] = ()
        self._last_render_s = -float("inf")
        self._bars: list[tuple[float, float, float, float]] = []

    def draw(self, state: HudState, *, target_size: tuple[int, int], now_s: float | None = None) -> None:
        """Draw the panel over the currently bound framebuffer of ``target_size`` (W, H)."""
        import moderngl

        now_s = time.monotonic() if now_s is None else now_s
        font_px = font_px_for(target_size[1])
        lines = format_lines(state)
        # Names and errors show at once; numbers alone wait for the refresh interval.
        words_changed = _words(lines) != _words(self._lines)
        if (font_px != self._font_px or words_changed or state.qr is not self._qr
                or (lines != self._lines and now_s - self._last_render_s >= self.refresh_s)):
            self._rasterise(lines, font_px, state.qr)
            self._last_render_s = now_s
        assert self._texture is not None
        width, height = self._texture.size
        margin = font_px // 2
        self.ctx.viewport = (margin, max(0, target_size[1] - height - margin), width, height)
        self._program["u_panel"].value = (float(width), float(height))
        self._program["u_bars"].write(np.asarray(self._bars, dtype=np.float32).tobytes())
        values = (state.beat_phase, state.bass, state.mid, state.high)
        self._program["u_values"].write(np.asarray(values, dtype=np.float32).tobytes())
        self._texture.use(0)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self._vao.render(moderngl.TRIANGLES, vertices=3)
        self.ctx.disable(moderngl.BLEND)
        self.ctx.viewport = (0, 0, *target_size)

    def _rasterise(self, lines: tuple[str, ...], font_px: int,
                   qr: tuple[tuple[bool, ...], ...]) -> None:
        if font_px != self._font_px:
            try:
                # Pillow's default font scales when FreeType is present (its wheels include it).
                self._font = ImageFont.load_default(size=font_px)
            except ImportError:
                self._font = ImageFont.load_default()  # a fixed small bitmap font: still readable
            self._font_px = font_px
        font = self._font
        line_px = round(font_px * 1.35)
        pad = font_px // 2
        label_px = max(font.getlength(f"{name}  ") for name in _METERS)
        bar_px = font_px * 12
        qr_px = len(qr) * qr_module_px(font_px)
        width = int(max([font.getlength(line) for line in lines] + [label_px + bar_px, qr_px])
                    + 2 * pad)
        height = line_px * len(lines) + 2 * pad + qr_px
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        self._bars = []
        for row, line in enumerate(lines):
            y = pad + row * line_px
            colour = (255, 110, 90, 255) if row >= _FIXED_ROWS else (235, 235, 235, 255)  # error red
            draw.text((pad + 1, y + 1), line, font=font, fill=(0, 0, 0, 255))  # shadow: readable on white
            draw.text((pad, y), line, font=font, fill=colour)
            if line in _METERS:
                self._bars.append((pad + label_px, y + line_px * 0.2, bar_px, line_px * 0.6))
        if qr:
            modules = Image.fromarray(np.where(np.asarray(qr, dtype=bool), 0, 255).astype(np.uint8))
            image.paste(modules.resize((qr_px, qr_px), Image.NEAREST).convert("RGBA"),
                        (pad, pad + line_px * len(lines)))
        if self._texture is None or self._texture.size != (width, height):
            if self._texture is not None:
                self._texture.release()
            self._texture = self.ctx.texture((width, height), 4)
        self._texture.write(image.tobytes())
        self._lines = lines
        self._qr = qr
        self.renders += 1

    def release(self) -> None:
        if self._texture is not None:
            self._texture.release()
        self._vao.release()
        self._program.release()


def format_lines(state: HudState) -> tuple[str, ...]:
    """The HUD's text, one string per row; meter rows are just their label."""
    def number(value: float | None, fmt: str) -> str:
        return "--" if value is None else format(value, fmt)

    lines = [
        f"{number(state.fps, '.0f')} fps   gen {number(state.generator_ms, '.1f')} ms   "
        f"latency {number(state.latency_ms, '.0f')} ms",
        f"{number(state.bpm, '.1f')} BPM   level {state.level:.2f}",
        *_METERS,
        f"preset {state.preset or '--'}   OSC {'off' if state.osc_port is None else f':{state.osc_port}'}",
    ]
    if state.error:
        error = " ".join(state.error.split())
        lines.append(error if len(error) <= _ERROR_CHARS else error[:_ERROR_CHARS - 3] + "...")
    return tuple(lines)


def _words(lines: tuple[str, ...]) -> tuple[str, ...]:
    """The non-numeric part of the HUD text: a change there is shown without waiting."""
    return tuple("".join(ch for ch in line if not (ch.isdigit() or ch in ".-")) for line in lines)
