"""`ControllerSettings`: every route from audio features to latents, noise and shader uniforms.

This one schema is the ``[controller]`` table of a show config, the mapping part of a preset,
and (flattened to dotted names: ``pulse.strength``) the live parameters in the ParamStore that
OSC, MIDI and the keyboard change. Strengths are multipliers (0 = off); times are seconds; a
"direction" is the w of a seed minus the average w, so strength 1 moves by one typical
seed-to-average distance; or one of the model's named directions (`gansmania directions`), where
strength 1 moves one standard deviation of w along it.

Layer groups (StyleGAN's): ``coarse`` = the 4-8 px layers (pose, layout), ``middle`` = 16-32 px
(shapes), ``fine`` = 64 px and up (colour, texture).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from training.configs import LAYER_GROUPS
from visualizer.core.config import from_dict, section, setting

INTERPOLATIONS = ("slerp_z", "lerp_w", "spline_w")
PULSE_TRIGGERS = ("onset", "beat", "both", "off")
DIRECTION_SOURCES = ("pca", "sefa", "random")
MAX_SEED = 2 ** 32 - 1


@dataclass(frozen=True)
class WalkSettings:
    seeds: tuple[int | str, ...] = setting(
        (0, 1, 2, 3, 4, 5, 6, 7), doc="keyframes the walk visits in order, looping: seeds (z as "
        "`gansmania generate --seeds`) or keyframe files from `gansmania project` "
        "(NAME.w.safetensors; in a preset relative to its folder)", min=0, max=MAX_SEED)
    beats_per_seed: float = setting(8.0, doc="beats spent travelling from one keyframe to the next",
                                    min=0.25, max=256.0)
    interpolation: str = setting("slerp_z", doc="slerp_z: great circle between the keyframes' z; "
                                 "lerp_w: straight lines in w; spline_w: Catmull-Rom through w",
                                 choices=INTERPOLATIONS)
    free_bpm: float = setting(120.0, doc="tempo the walk keeps while none is detected (BPM)",
                              min=10.0, max=400.0)
    phase_lock_s: float = setting(0.5, doc="how fast the walk's beat clock pulls into phase with "
                                  "the detected beat (s); it never runs backwards", min=0.01, max=10.0)
    bank: int = setting(0, doc="seed bank: every seed is offset by bank x len(seeds) "
                        "(the left/right keys step it)", min=-1_000_000, max=1_000_000)
    bank_change_s: float = setting(1.0, doc="cross-fade time to new keyframes: a seed bank or a "
                                   "preset's seeds (s)", min=0.0, max=30.0)


@dataclass(frozen=True)
class PulseSettings:
    trigger: str = setting("onset", doc="what kicks the pulse", choices=PULSE_TRIGGERS)
    strength: float = setting(0.6, doc="kick size along the pulse direction", min=0.0, max=4.0)
    attack_s: float = setting(0.0, doc="rise time of the kick (s)", min=0.0, max=2.0)
    release_s: float = setting(0.25, doc="decay time constant of the kick (s)", min=0.01, max=10.0)
    direction_seed: int = setting(1000, doc="seed whose w (minus the average) is the pulse direction",
                                  min=0, max=MAX_SEED)
    direction: str = setting("", doc="a named direction of the model (MODEL.directions.toml, from "
                             "`gansmania directions`) to kick along instead, strength in its "
                             "scales (std of w); empty, or a name the model lacks: direction_seed")
    alternate: bool = setting(True, doc="flip the direction on every kick, so hits swing both ways "
                              "instead of piling up on one side")
    layers: str = setting("all", doc="layer group the pulse moves", choices=LAYER_GROUPS)


@dataclass(frozen=True)
class ChromaSettings:
    strength: float = setting(0.8, doc="how far harmony steers: a clear single pitch class moves "
                              "this far along its direction", min=0.0, max=4.0)
    attack_s: float = setting(0.15, doc="chroma smoothing rise time (s)", min=0.0, max=10.0)
    release_s: float = setting(0.6, doc="chroma smoothing fall time (s)", min=0.0, max=10.0)
    direction_seed: int = setting(2000, doc="pitch class k (C = 0) steers along the direction of "
                                  "seed direction_seed + k", min=0, max=MAX_SEED - 11)
    directions: str = setting("pca", doc="pca or sefa: pitch class k steers along the model's "
                              "k-th direction of that method (strength in its scales, std of w) "
                              "when it has a directions file; random, or a model without one: "
                              "the seeds' directions", choices=DIRECTION_SOURCES)
    layers: str = setting("middle_fine", doc="layer group harmony moves", choices=LAYER_GROUPS)


@dataclass(frozen=True)
class TruncationSettings:
    quiet: float = setting(0.6, doc="truncation psi in silence (0 = the average image)", min=0.0, max=2.0)
    loud: float = setting(1.0, doc="truncation psi at full loudness", min=0.0, max=2.0)
    cutoff: int = setting(0, doc="truncate only the first N layers; 0 = all", min=0, max=64)
    attack_s: float = setting(0.05, doc="loudness smoothing rise time (s)", min=0.0, max=10.0)
    release_s: float = setting(0.8, doc="loudness smoothing fall time (s)", min=0.0, max=10.0)


@dataclass(frozen=True)
class NoiseSettings:
    base: float = setting(0.5, doc="gain on the generator's learned noise in silence", min=0.0, max=8.0)
    bass: float = setting(1.5, doc="noise gain added at full bass", min=0.0, max=8.0)
    attack_s: float = setting(0.02, doc="bass smoothing rise time (s)", min=0.0, max=10.0)
    release_s: float = setting(0.3, doc="bass smoothing fall time (s)", min=0.0, max=10.0)


@dataclass(frozen=True)
class JitterSettings:
    strength: float = setting(0.15, doc="fine-layer jitter at full highs", min=0.0, max=2.0)
    attack_s: float = setting(0.01, doc="highs smoothing rise time (s)", min=0.0, max=10.0)
    release_s: float = setting(0.2, doc="highs smoothing fall time (s)", min=0.0, max=10.0)
    speed_s: float = setting(0.08, doc="correlation time of the jitter (s): smaller = busier",
                             min=0.005, max=5.0)
    seed: int = setting(3000, doc="seed of the jitter's random stream (offline renders repeat it)",
                        min=0, max=MAX_SEED)
    layers: str = setting("fine", doc="layer group the jitter moves", choices=LAYER_GROUPS)


@dataclass(frozen=True)
class MotionSettings:
    """The picture's position and turn: a StyleGAN3 model's input transform (StyleGAN2 models
    have no such input and ignore these)."""

    translate_x: float = setting(0.0, doc="shift the picture right by this many image widths "
                                 "(StyleGAN3 models)", min=-4.0, max=4.0)
    translate_y: float = setting(0.0, doc="shift the picture down by this many image widths "
                                 "(StyleGAN3 models)", min=-4.0, max=4.0)
    rotate_deg: float = setting(0.0, doc="turn the picture counter-clockwise by this many "
                                "degrees (StyleGAN3 models)", min=-360.0, max=360.0)
    rotate_per_bar_deg: float = setting(0.0, doc="keep turning this many degrees per bar (4 "
                                        "beats of the walk's beat clock; StyleGAN3 models)",
                                        min=-360.0, max=360.0)
    kick_translate: float = setting(0.0, doc="each kick of the pulse shifts the picture this "
                                    "many image widths, decaying with it and swinging both ways "
                                    "when it alternates (StyleGAN3 models)", min=0.0, max=1.0)
    kick_angle_deg: float = setting(0.0, doc="direction of the kick's shift: 0 = right, "
                                    "90 = up (degrees)", min=-360.0, max=360.0)


@dataclass(frozen=True)
class FxSettings:
    gain: float = setting(1.0, doc="multiplier on every audio uniform the shaders see", min=0.0, max=4.0)
    onset_release_s: float = setting(0.2, doc="decay time constant of u_onset after an onset (s)",
                                     min=0.01, max=5.0)
    level_attack_s: float = setting(0.02, doc="u_level smoothing rise time (s)", min=0.0, max=10.0)
    level_release_s: float = setting(0.3, doc="u_level smoothing fall time (s)", min=0.0, max=10.0)
    bands_attack_s: float = setting(0.01, doc="u_bass/u_mid/u_high smoothing rise time (s)",
                                    min=0.0, max=10.0)
    bands_release_s: float = setting(0.15, doc="u_bass/u_mid/u_high smoothing fall time (s)",
                                     min=0.0, max=10.0)
    chroma_smooth_s: float = setting(0.2, doc="u_chroma smoothing time (s), both directions",
                                     min=0.0, max=10.0)


@dataclass(frozen=True)
class ControllerSettings:
    reactivity: float = setting(1.0, doc="master amount of every audio route (pulse, chroma, "
                                "loudness, bass, highs, FX); 0 = a pure tempo walk", min=0.0, max=4.0)
    walk: WalkSettings = section(WalkSettings, doc="tempo-locked walk through keyframe seeds")
    pulse: PulseSettings = section(PulseSettings, doc="onset/beat kick along a latent direction")
    chroma: ChromaSettings = section(ChromaSettings, doc="harmony: 12 pitch classes -> 12 directions")
    truncation: TruncationSettings = section(TruncationSettings, doc="loudness -> truncation (energy)")
    noise: NoiseSettings = section(NoiseSettings, doc="bass -> strength of the generator's noise")
    jitter: JitterSettings = section(JitterSettings, doc="highs -> fine-layer jitter")
    motion: MotionSettings = section(MotionSettings, doc="translate/rotate a StyleGAN3 model's "
                                     "picture: set live, turning per bar, shifting on the kick")
    fx: FxSettings = section(FxSettings, doc="features -> the shader chain's audio uniforms")

    def __post_init__(self) -> None:
        from visualizer.core.errors import ConfigError

        if not self.walk.seeds:
            raise ConfigError("controller.walk.seeds must list at least one seed")


def controller_settings(params) -> ControllerSettings:
    """ControllerSettings from a ParamSnapshot (memoised per snapshot version), or passed through
    when ``params`` already is one (offline renders)."""
    if isinstance(params, ControllerSettings):
        return params
    from visualizer.core.config import nested

    return params.derived("controller", lambda snap: from_dict(
        ControllerSettings, nested({k: snap[k] for k in snap if k.split(".", 1)[0] in _TOP}),
        origin="live params"))


_TOP = frozenset(f.name for f in dataclasses.fields(ControllerSettings))


def controller_param_specs(settings: ControllerSettings | None = None):
    """The ParamStore specs of every controller setting, defaulting to ``settings``."""
    from visualizer.core.config import specs_from_schema

    return specs_from_schema(ControllerSettings, settings or ControllerSettings())
