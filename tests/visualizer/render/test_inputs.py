"""External inputs on headless EGL: `Renderer.set_input` binds an image to every pass's matching
`@texture` sampler (unbound reads transparent black), and the `mix_input` pass mixes it with the
picture: its modes, its fit of another aspect ratio, its alpha."""

from __future__ import annotations

import numpy as np
import pytest

from tests.visualizer.render.gl_helpers import SHADERS, known_image
from visualizer.render.library import ShaderLibrary
from visualizer.render.renderer import Renderer
from visualizer.render.uniforms import AudioUniforms

QUIET = AudioUniforms()
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)

# A pass that shows its input `u_extra` as it is (inputs are stored top row first: flip y).
SHOW_INPUT = """// @doc Shows the u_extra input.
// @texture u_extra "an external input"
uniform sampler2D u_extra;
void main() { f_color = vec4(texture(u_extra, vec2(v_uv.x, 1.0 - v_uv.y)).rgb, 1.0); }
"""


@pytest.fixture
def renderer(output, egl_context, tmp_path):
    (tmp_path / "show_input.glsl").write_text(SHOW_INPUT)
    r = Renderer(output, ShaderLibrary(egl_context, search_dirs=[tmp_path, SHADERS]), fit="stretch")
    r.submit(known_image())
    yield r
    r.release()


def halves(width: int, height: int, left=RED, right=BLUE, *, alpha: int = 255) -> np.ndarray:
    """RGBA uint8 (height, width, 4): the left half ``left``, the right half ``right``."""
    image = np.zeros((height, width, 4), np.uint8)
    image[:, : width // 2, :3] = left
    image[:, width // 2:, :3] = right
    image[..., 3] = alpha
    return image


def stripes(width: int, height: int, colours) -> np.ndarray:
    """RGBA uint8 (height, width, 4): vertical stripes of ``colours``, equally wide, left first."""
    image = np.zeros((height, width, 4), np.uint8)
    edges = np.linspace(0, width, len(colours) + 1).round().astype(int)
    for colour, start, stop in zip(colours, edges, edges[1:]):
        image[:, start:stop, :3] = colour
    image[..., 3] = 255
    return image


def render(renderer: Renderer) -> np.ndarray:
    return renderer.render(QUIET, capture=True).image


def test_a_bound_input_appears_in_every_pass_that_declares_it(renderer):
    image = np.random.default_rng(3).integers(0, 256, (64, 96, 4), dtype=np.uint8)
    renderer.set_chain([("show_input", {})])
    renderer.set_input("u_extra", image)
    assert renderer.input_size("u_extra") == (96, 64)
    assert np.array_equal(render(renderer), image[..., :3])  # top row first, exactly
    # The incoming chain of a transition gets it too: at t=1 the new look shows the input.
    renderer.set_chain([("passthrough", {})])
    renderer.begin_transition([("grade", {}), ("show_input", {})])
    assert np.abs(renderer.render(QUIET, transition=1.0, capture=True).image.astype(int)
                  - image[..., :3]).max() <= 1


def test_an_unbound_input_reads_black(renderer):
    renderer.set_chain([("show_input", {})])
    assert renderer.input_size("u_extra") is None and render(renderer).max() == 0
    renderer.set_input("u_other", halves(8, 8))  # a name no pass declares: bound, unused
    assert render(renderer).max() == 0
    renderer.set_input("u_extra", halves(8, 8))
    assert render(renderer).max() == 255
    renderer.set_input("u_extra", None)
    assert renderer.input_size("u_extra") is None and render(renderer).max() == 0
    renderer.set_input("u_extra", None)  # unbinding twice is harmless


def test_rebinding_at_a_new_size_follows_it(renderer):
    renderer.set_chain([("show_input", {})])
    renderer.set_input("u_extra", halves(16, 8))
    small = render(renderer)
    renderer.set_input("u_extra", halves(200, 120, GREEN, RED))
    assert renderer.input_size("u_extra") == (200, 120)
    large = render(renderer)
    assert tuple(small[32, 10]) == RED and tuple(small[32, 85]) == BLUE
    assert tuple(large[32, 10]) == GREEN and tuple(large[32, 85]) == RED
    renderer.set_input("u_extra", np.full((4, 6, 3), 200, np.uint8))  # RGB: opaque, new channels
    assert renderer.input_size("u_extra") == (6, 4) and np.all(render(renderer) == 200)


def test_bad_inputs_are_refused_and_change_nothing(renderer):
    renderer.set_chain([("show_input", {})])
    renderer.set_input("u_extra", halves(16, 8))
    good = render(renderer)
    for bad in (np.zeros((8, 8, 4), np.float32), np.zeros((8, 8), np.uint8), np.zeros((8, 8, 2), np.uint8)):
        with pytest.raises(ValueError, match="uint8"):
            renderer.set_input("u_extra", bad)
    for name in ("u_input", "u_to", "not a name", ""):
        with pytest.raises(ValueError, match="input name"):
            renderer.set_input(name, halves(8, 8))
    assert renderer.input_size("u_extra") == (16, 8) and np.array_equal(render(renderer), good)


# ------------------------------------------------------------------ the mix_input pass

def mixed(renderer: Renderer, image: np.ndarray | None, **params) -> np.ndarray:
    renderer.set_chain([("mix_input", params)])
    renderer.set_input("u_video", image)
    return render(renderer)


def test_mix_input_at_amount_1_shows_the_input(renderer):
    image = np.random.default_rng(4).integers(0, 256, (64, 96, 4), dtype=np.uint8)
    image[..., 3] = 255
    assert np.array_equal(mixed(renderer, image, amount=1.0), image[..., :3])
    assert np.array_equal(mixed(renderer, image, amount=0.0), known_image())
    half = mixed(renderer, image, amount=0.5).astype(int)
    assert np.abs(half - (known_image().astype(int) + image[..., :3]) / 2).max() <= 1


@pytest.mark.parametrize("mode", range(6))
def test_without_an_input_every_mode_shows_the_picture(renderer, mode):
    assert np.array_equal(mixed(renderer, None, mode=mode, amount=1.0), known_image())


def test_fit_keeps_a_wide_input_in_proportion(renderer, output):
    output.resize((96, 72))  # 4:3, the input 16:9
    picture = mixed(renderer, None)
    wide = stripes(160, 90, (RED, GREEN, BLUE, RED))
    fitted = mixed(renderer, wide, fit=0)
    # Letterboxed: all of the input at full width, 96 x 54 pixels, the picture above and below.
    rows = np.flatnonzero((fitted != picture).any(axis=(1, 2)))
    assert (rows[0], rows[-1]) == (9, 62)
    assert np.array_equal(fitted[:9], picture[:9]) and np.array_equal(fitted[63:], picture[63:])
    assert [tuple(fitted[36, x]) for x in (5, 30, 60, 90)] == [RED, GREEN, BLUE, RED]
    # Filled: the whole output covered, the sides cropped (a stripe 1/6 wide, not 1/4).
    filled = mixed(renderer, wide, fit=1)
    assert tuple(filled[2, 5]) == RED and tuple(filled[2, 20]) == GREEN
    assert tuple(filled[2, 90]) == RED and tuple(filled[2, 76]) == BLUE
    stretched = mixed(renderer, wide, fit=2)
    assert tuple(stretched[2, 20]) == RED  # squeezed: the stripes keep their quarter each


def test_an_inputs_alpha_decides_where_it_shows_over_the_picture(renderer):
    image = halves(96, 64)
    image[:, :48, 3] = 0  # the left half transparent
    out = mixed(renderer, image, mode=0)
    assert np.array_equal(out[:, :48], known_image()[:, :48])
    assert np.all(out[:, 48:] == BLUE)
    flipped = mixed(renderer, image, mode=0, flip=True)
    assert np.all(flipped[:, :48] == BLUE) and np.array_equal(flipped[:, 48:], known_image()[:, 48:])


def test_blend_modes_do_what_they_say(renderer):
    picture = known_image().astype(int)
    grey = np.full((64, 96, 4), 128, np.uint8)
    grey[..., 3] = 255
    added = mixed(renderer, grey, mode=1).astype(int)
    assert np.abs(added - np.minimum(picture + 128, 255)).max() <= 1
    multiplied = mixed(renderer, grey, mode=2).astype(int)
    assert np.abs(multiplied - picture * 128 / 255).max() <= 1
    screened = mixed(renderer, grey, mode=3).astype(int)
    assert np.abs(screened - (255 - (255 - picture) * 127 / 255)).max() <= 1
    # Luma key: the input's dark half is keyed out, its bright half shows.
    dark_bright = halves(96, 64, (10, 10, 10), (240, 240, 240))
    keyed = mixed(renderer, dark_bright, mode=4, threshold=0.25, softness=0.1)
    assert np.array_equal(keyed[:, :48], known_image()[:, :48]) and np.all(keyed[:, 48:] == 240)
    # Under: the input shows where the picture is dark, the picture stays where it is bright.
    renderer.submit(halves(96, 64, (0, 0, 0), (255, 255, 255))[..., :3].copy())
    under = mixed(renderer, halves(96, 64, GREEN, GREEN), mode=5, threshold=0.25, softness=0.1)
    assert np.all(under[:, :48] == GREEN) and np.all(under[:, 48:] == 255)
