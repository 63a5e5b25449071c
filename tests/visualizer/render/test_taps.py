"""Frame taps on headless EGL: the clean frame at another size, top row first, DEPTH - 1 frames
late and stamped as the frame it shows; the HUD and the master gain as the audience sees them."""

from __future__ import annotations

import numpy as np

from tests.visualizer.render.gl_helpers import known_image
from visualizer.render.hud import HudState
from visualizer.render.taps import DEPTH
from visualizer.render.uniforms import AudioUniforms

QUIET = AudioUniforms()


def test_a_tap_hands_over_each_frame_at_its_size_top_row_first_and_late_by_the_ring(renderer):
    image = known_image()  # (64, 96, 3): distinct corners, so a flip or a mirror shows
    renderer.submit(image)
    tap = renderer.add_tap((96, 64))
    delivered = []
    for n in range(DEPTH + 2):
        frame = renderer.render(QUIET, capture=True)
        assert [t.tap for t in frame.tapped] == ([tap] if n >= DEPTH - 1 else [])
        delivered += [(frame.index, t) for t in frame.tapped]
    first_index, first = delivered[0]
    assert first.frame.index == first_index - (DEPTH - 1)
    assert first.pixels.shape == (64, 96, 4) and (first.pixels[..., 3] == 255).all()
    assert np.abs(first.pixels[..., :3].astype(int) - image).max() <= 1
    # Removing the tap hands over the frames still in the ring, in order.
    rest = renderer.remove_tap(tap)
    assert [t.frame.index for t in rest] == list(range(frame.index - DEPTH + 2, frame.index + 1))
    assert renderer.render(QUIET).tapped == ()


def test_taps_scale_leave_out_the_hud_and_follow_the_master_gain(renderer):
    renderer.submit(np.full((64, 96, 3), 200, np.uint8))
    renderer.hud_visible = True
    small, large = renderer.add_tap((48, 32)), renderer.add_tap((192, 128))
    hud = HudState(fps=60.0, bpm=120.0, preset="a look with a long name")
    for _ in range(DEPTH):
        frame = renderer.render(QUIET, hud=hud, gain=0.5, capture=True)
    by_tap = {t.tap: t.pixels for t in frame.tapped}
    assert by_tap[small].shape == (32, 48, 4) and by_tap[large].shape == (128, 192, 4)
    for pixels in by_tap.values():  # flat 100 everywhere: no HUD text, half gain
        assert np.abs(pixels[..., :3].astype(int) - 100).max() <= 1
    assert np.abs(frame.image.astype(int) - 100).max() <= 1  # the capture also lacks the HUD
    assert np.abs(renderer.output.read().astype(int) - 100).max() > 50  # the screen has it
