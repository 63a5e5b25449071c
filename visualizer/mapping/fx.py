"""Features -> the shader chain's audio uniforms, stepped by the render loop at display rate.

The latent controller runs at the generator's rate (24-60 Hz, irregular); shader motion must
run at the display's, so the same features feed this small mapper in the render thread, from
the newest frame at draw time: an onset reaches the shaders without waiting for the generator.
Its settings are the ``fx`` part of `ControllerSettings` (plus ``reactivity``).

The beat is not reacted to but predicted: the frame's audio is already tens of milliseconds old
when the picture is seen, so a beat phase read off it would flash that much late. Given the time
the picture will be seen (``at_s``), ``u_beat_phase`` is the tracker's predicted beat clock
(``next_beat_t``, ``bpm``) run forward to that time.
"""

from __future__ import annotations

import math

import numpy as np

from visualizer.audio.frames import N_CHROMA, FeatureFrame
from visualizer.mapping.latent import follow
from visualizer.mapping.settings import ControllerSettings
from visualizer.render.uniforms import AudioUniforms


class FxController:
    """``step(frame, settings, dt_s, time_s=)`` -> AudioUniforms; deterministic like the latents."""

    def __init__(self) -> None:
        self._last: FeatureFrame | None = None
        self._onset_age = math.inf
        self._level = self._bass = self._mid = self._high = 0.0
        self._chroma = np.zeros(N_CHROMA, dtype=np.float64)
        self.onsets = 0  # onsets seen (each counted once, even when the display skipped hops)

    def step(self, frame: FeatureFrame | None, settings: ControllerSettings, dt_s: float, *,
             time_s: float, at_s: float | None = None) -> AudioUniforms:
        """Uniforms for the next display frame. ``time_s``: show time (u_time); ``at_s``: when
        the frame will be seen, on the frames' clock (t_audio); None = the frame's own phase."""
        fx, gain = settings.fx, settings.fx.gain * settings.reactivity
        dt = max(float(dt_s), 1e-6)
        if frame is None:
            return AudioUniforms(time_s=time_s)
        last = self._last
        new_hop = last is None or frame.hop_index != last.hop_index
        onset = new_hop and (frame.onset or (last is not None and
                                             frame.onset_envelope > last.onset_envelope + 1e-6))
        self._last = frame
        if onset:
            self.onsets += 1
            self._onset_age = 0.0
        else:
            self._onset_age += dt
        bands = dict(attack_s=fx.bands_attack_s, release_s=fx.bands_release_s, dt_s=dt)
        self._bass = follow(self._bass, frame.bass, **bands)
        self._mid = follow(self._mid, frame.mid, **bands)
        self._high = follow(self._high, frame.high, **bands)
        self._level = follow(self._level, frame.level, attack_s=fx.level_attack_s,
                             release_s=fx.level_release_s, dt_s=dt)
        self._chroma = follow(self._chroma, np.asarray(frame.chroma, dtype=np.float64),
                              attack_s=fx.chroma_smooth_s, release_s=fx.chroma_smooth_s, dt_s=dt)

        def scaled(value: float) -> float:
            return min(max(value * gain, 0.0), 1.0)

        envelope = math.exp(-self._onset_age / fx.onset_release_s)
        return AudioUniforms(time_s=time_s, beat_phase=beat_phase_at(frame, at_s),
                             tempo=1.0 if frame.bpm > 0.0 else 0.0, onset=scaled(envelope),
                             level=scaled(self._level), bass=scaled(self._bass),
                             mid=scaled(self._mid), high=scaled(self._high),
                             chroma=tuple(min(max(c, 0.0), 1.0) for c in self._chroma.tolist()),
                             capture_s=frame.t_audio)


def beat_phase_at(frame: FeatureFrame, at_s: float | None) -> float:
    """The beat phase [0, 1) at time ``at_s`` (the frames' clock), run forward from the frame's
    predicted next beat; the frame's own phase without a prediction or a time."""
    if at_s is None or frame.bpm <= 0.0 or frame.next_beat_t <= 0.0:
        return frame.beat_phase
    return ((at_s - frame.next_beat_t) * frame.bpm / 60.0) % 1.0
