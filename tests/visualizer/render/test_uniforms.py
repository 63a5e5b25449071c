"""AudioUniforms: the per-frame values, and the harmony vector derived from chroma."""

from __future__ import annotations

import math

import pytest

from visualizer.render.uniforms import AudioUniforms


def test_harmony_points_at_the_dominant_pitch_class():
    e_only = AudioUniforms(chroma=tuple(float(k == 4) for k in range(12)))
    x, y = e_only.harmony()
    assert math.degrees(math.atan2(y, x)) == pytest.approx(120.0)
    assert math.hypot(x, y) == pytest.approx(1.0)
    # All twelve pitch classes equally loud (noise): no direction at all.
    assert math.hypot(*AudioUniforms(chroma=(0.5,) * 12).harmony()) == pytest.approx(0.0, abs=1e-9)
    # C (0 deg) and G (210 deg): the vector bisects the shorter arc between them, at -75 deg.
    fifth = AudioUniforms(chroma=tuple(float(k in (0, 7)) for k in range(12)))
    assert math.degrees(math.atan2(*reversed(fifth.harmony()))) == pytest.approx(-75.0)
    assert AudioUniforms().harmony() == (0.0, 0.0)


def test_chroma_needs_twelve_values():
    with pytest.raises(ValueError, match="12 values"):
        AudioUniforms(chroma=(1.0, 0.0))
