"""ShaderChain: ordered passes, ping-pong, feedback history, live parameters; the library's caching."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.visualizer.render.gl_helpers import SHADERS, difference, known_image, upload
from visualizer.render.chain import ShaderChain
from visualizer.render.headless import read_framebuffer
from visualizer.render.library import ShaderLibrary
from visualizer.render.passes import ShaderError
from visualizer.render.uniforms import AudioUniforms

QUIET = AudioUniforms()


def run(chain: ShaderChain, image: np.ndarray, uniforms: AudioUniforms = QUIET) -> np.ndarray:
    source = upload(chain.ctx, image)
    return read_framebuffer(chain.render(source, uniforms))


def test_empty_chain_returns_its_source(egl_context):
    image = known_image()
    chain = ShaderChain(egl_context, [], size=(96, 64))
    source = upload(egl_context, image)
    assert chain.render(source, QUIET) is source


def test_passes_run_in_order(egl_context, library):
    image = known_image()
    mirror, grade = library.load("mirror"), library.load("grade")
    # Mirror then grey: symmetric grey. Five passes exercise both ping-pong buffers repeatedly.
    chain = ShaderChain(egl_context, [(mirror, {"mode": 0}), (library.load("passthrough"), {}),
                                      (grade, {"saturation": 0.0}), (library.load("passthrough"), {}),
                                      (library.load("passthrough"), {})], size=(96, 64))
    out = run(chain, image).astype(int)
    assert np.abs(out - out[:, ::-1]).max() <= 1
    assert np.abs(out[..., 0] - out[..., 2]).max() <= 1
    assert chain.names == ("mirror", "passthrough", "grade", "passthrough", "passthrough")


def test_unknown_or_out_of_range_parameters_fail_before_any_gl(egl_context, library):
    with pytest.raises(ShaderError, match="unknown parameter 'segmants' for pass 'kaleidoscope'"):
        ShaderChain(egl_context, [(library.load("kaleidoscope"), {"segmants": 6})], size=(8, 8))
    with pytest.raises(ShaderError, match=r"kaleidoscope.glsl:\d+: parameter 'segments'.*allowed an integer 2..24"):
        ShaderChain(egl_context, [(library.load("kaleidoscope"), {"segments": 99})], size=(8, 8))


def test_live_parameters_are_clamped_and_checked(egl_context, library):
    chain = ShaderChain(egl_context, [(library.load("grade"), {})], size=(96, 64))
    chain.set_params(0, {"saturation": 99.0, "hue": -1000.0})
    assert chain.params(0)["saturation"] == 3.0 and chain.params(0)["hue"] == -180.0
    chain.set_params(0, {"saturation": 0.0})
    out = run(chain, known_image()).astype(int)
    assert np.abs(out[..., 0] - out[..., 1]).max() <= 1
    with pytest.raises(ShaderError, match="unknown parameter 'saturaton'"):
        chain.set_params(0, {"saturaton": 1.0})


def test_feedback_sees_its_previous_output(egl_context, library):
    image = known_image()
    black = np.zeros_like(image)
    chain = ShaderChain(egl_context, [(library.load("feedback"), {"decay": 0.9, "zoom": 1.0})], size=(96, 64))
    first = run(chain, image)
    assert np.array_equal(first, image)  # no history yet: the trail starts black
    trail = [run(chain, black) for _ in range(3)]
    means = [frame.mean() for frame in trail]
    assert means[0] > 0.8 * image.mean()  # the picture lingers after it is gone...
    assert means[0] > means[1] > means[2] > 0  # ...and fades frame by frame
    for _ in range(300):
        last = run(chain, black)
    assert last.max() == 0  # 8-bit trails reach black instead of sticking


def test_feedback_history_is_per_pass(egl_context, library):
    # A brightening grade after the trail must not compound: the trail reads its own output
    # (the picture), not the chain's (the picture brightened again every frame).
    image = known_image() // 4
    chain = ShaderChain(egl_context, [(library.load("feedback"), {"decay": 0.9, "zoom": 1.0}),
                                      (library.load("grade"), {"exposure": 1.0})], size=(96, 64))
    frames = [run(chain, image) for _ in range(4)]
    assert difference(frames[1], frames[3]) < 1.0
    assert np.abs(frames[3].astype(int) - 2 * image.astype(int)).max() <= 2


def test_feedback_onset_clears_the_trail(egl_context, library):
    image = known_image()
    black = np.zeros_like(image)
    def trail_after(onset):
        chain = ShaderChain(egl_context, [(library.load("feedback"), {"decay": 0.95, "onset_clear": 1.0})],
                            size=(96, 64))
        run(chain, image)
        return run(chain, black, AudioUniforms(onset=onset)).mean()
    assert trail_after(0.0) > 50 and trail_after(1.0) == 0


def test_resize_keeps_working(egl_context, library):
    chain = ShaderChain(egl_context, [(library.load("mirror"), {})], size=(96, 64))
    run(chain, known_image())
    chain.resize((48, 32))
    out = run(chain, known_image(48, 32))
    assert out.shape == (32, 48, 3)


def test_library_reloads_changed_files_and_keeps_the_last_good(egl_context, tmp_path):
    shutil.copy(SHADERS / "grade.glsl", tmp_path / "grade.glsl")
    library = ShaderLibrary(egl_context, search_dirs=[tmp_path])
    first = library.load("grade")
    assert library.load("grade") is first  # cached while the file is unchanged
    assert library.changed() == []
    path = tmp_path / "grade.glsl"
    path.write_text(path.read_text().replace("void main() {", "void main() {\n    broken"))
    assert library.changed() == ["grade"]
    with pytest.raises(ShaderError, match=r"grade.glsl:\d+: GLSL: "):
        library.load("grade")
    assert library.last_good("grade") is first
    assert library.changed() == []  # a broken version is reported once, not on every poll
    path.write_text((SHADERS / "grade.glsl").read_text().replace("0.0 3.0 1.0", "0.0 3.0 1.5"))
    assert library.changed() == ["grade"]
    second = library.load("grade")
    assert second is not first and second.source.param("contrast").spec.default == 1.5


def test_unknown_pass_lists_the_known_ones(egl_context, library):
    with pytest.raises(ShaderError, match="unknown shader pass 'blomo'; available: .*bloom"):
        library.load("blomo")


def test_user_folder_overrides_bundled_pass(egl_context, tmp_path):
    (tmp_path / "grain.glsl").write_text("// @doc mine\nvoid main() { f_color = vec4(1.0); }\n")
    library = ShaderLibrary(egl_context, search_dirs=[tmp_path, SHADERS])
    assert library.source("grain").doc == "mine"
    assert "zoom" in library.names()


def test_library_without_gl_parses_headers():
    library = ShaderLibrary(None, search_dirs=[SHADERS])
    assert library.source("kaleidoscope").param("segments").spec.max == 24
    with pytest.raises(RuntimeError, match="no GL context"):
        library.load("kaleidoscope")
