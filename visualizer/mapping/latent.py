"""The latent controller: one `FeatureFrame` + the live params -> one `LatentFrame`.

Routes (each set by `ControllerSettings`, see ``visualizer.mapping.settings``)::

    beat clock (phase-locked to the detected beat) --> walk through the keyframes: seeds, and
                                                        w from `gansmania project` files
    loudness --attack/release--> truncation psi          (energy)
    onset/beat --envelope--> kick along a seeded direction
    chroma --attack/release--> 12 directions (the model's named ones, else seeded), weighted
                               by pitch-class energy
    highs --attack/release--> smoothed random jitter on the fine layers
    bass --attack/release--> noise gain
    beat clock --> turn per bar; kick envelope --> shift  (StyleGAN3 models' input transform)

    ws = w_avg + psi (walk - w_avg) + reactivity (kick + harmony + jitter)

The controller is *pulled*: the generator worker steps it right before painting, with the
newest frame, so it sees every ~3rd-10th analysis hop. Events in skipped hops are not lost: an
onset is read from the onset envelope rising, a beat from the beat phase wrapping.

Deterministic: the same (frame, settings, dt_s) sequence gives bit-identical ws — directions
come from seeds or the model's directions file and the jitter from a seeded stream — so an offline render repeats a live run.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from training.latents import layer_group, lerp, slerp, truncate, w_path, z_from_seed
from visualizer.audio.frames import N_CHROMA, FeatureFrame, silent_frame
from visualizer.core.errors import GansmaniaError
from visualizer.core.smoothing import one_pole_coefficient
from visualizer.mapping.frames import LatentFrame
from visualizer.mapping.settings import (
    MAX_SEED,
    ChromaSettings,
    ControllerSettings,
    PulseSettings,
    WalkSettings,
    controller_settings,
)

if TYPE_CHECKING:
    from training.direction_files import Directions
    from training.directions import Direction
    from visualizer.audio.analyzer import FeatureSource

log = logging.getLogger(__name__)

_W_STD_SEEDS = range(4_000_000_000, 4_000_000_064)  # seeds that measure the spread of w


class LatentSpace(Protocol):
    """What the controller needs from a model: its sizes and z/seed -> w (float32 numpy).

    A space may also have ``model_id`` (training.checkpoint.module_digest of its generator):
    keyframe files of other models are then refused.
    """

    z_dim: int
    w_dim: int
    num_ws: int
    w_avg: np.ndarray  # [w_dim], the truncation centre

    def ws_of_seeds(self, seeds: list[int]) -> np.ndarray:
        """[len(seeds), num_ws, w_dim], untruncated."""

    def ws_of_z(self, z: np.ndarray) -> np.ndarray:
        """z [N, z_dim] -> ws [N, num_ws, w_dim], untruncated."""


@dataclass(frozen=True)
class ControllerState:
    """The controller's inner values after a step, for the HUD, tests and debugging."""

    beats: float  # the walk's beat clock (beats since start)
    position: float  # walk position in keyframes (0 = first seed)
    psi: float  # truncation applied
    pulse: float  # signed kick envelope, -1..1
    pulses: int  # kicks so far
    chroma: tuple[float, ...]  # 12 smoothed pitch-class weights
    high: float  # smoothed highs driving the jitter
    noise_gain: float
    transform: tuple[float, float, float] = (0.0, 0.0, 0.0)  # LatentFrame.transform


def layer_mask(group: str, num_ws: int) -> np.ndarray:
    """float32 [num_ws, 1]: 1 on the layers of ``group`` (training.latents.layer_group), else 0."""
    return layer_group(group, num_ws).astype(np.float32)[:, None]


def follow(current: float | np.ndarray, target: float | np.ndarray, *, attack_s: float,
           release_s: float, dt_s: float) -> Any:
    """One attack/release step from ``current`` towards ``target`` over ``dt_s`` (any dt: the
    controller's steps are as irregular as the generator's frame times)."""
    rise = one_pole_coefficient(time_s=attack_s, dt_s=dt_s)
    fall = one_pole_coefficient(time_s=release_s, dt_s=dt_s)
    delta = np.subtract(target, current)
    return current + delta * np.where(delta > 0, rise, fall) if isinstance(delta, np.ndarray) \
        else current + delta * (rise if delta > 0 else fall)


class LatentController:
    """Steps the routes above; not thread-safe (the generator worker owns it). ``directions``:
    the model's named directions (training.direction_files), None when it has none."""

    def __init__(self, space: LatentSpace, *, directions: Directions | None = None,
                 start_seq: int = 0) -> None:
        self.space = space
        self.directions = directions
        self.num_ws, self.w_dim = space.num_ws, space.w_dim
        self.w_avg = np.asarray(space.w_avg, dtype=np.float32)
        # The spread of w around its average sets the jitter's scale.
        spread = space.ws_of_seeds(list(_W_STD_SEEDS))[:, 0] - self.w_avg
        self.w_std = float(np.sqrt(np.mean(spread.astype(np.float64) ** 2)))
        self._directions: dict[int, np.ndarray] = {}
        self._named: dict[str, np.ndarray] = {}  # [num_ws, w_dim] per name
        self._missing: set[str] = set()  # direction names already warned about
        self._seq = start_seq
        self._beats = 0.0
        self._locked = False  # a detected tempo has steered the beat clock
        self._position = 0.0
        self._keyframes: tuple[int | str, ...] | None = None  # the walk's keys, bank applied
        self._files: dict[tuple[str, int], np.ndarray] = {}  # (path, mtime) -> ws of a file
        self._bank_from: np.ndarray | None = None  # walk w when the keyframes changed
        self._walk_w: np.ndarray | None = None  # the previous step's walk w
        self._bank_ramp = 1.0
        self._level = self._bass = self._high = 0.0
        self._chroma = np.zeros(N_CHROMA, dtype=np.float64)
        self._pulse = 0.0  # signed envelope value
        self._pulse_from = 0.0  # value when the current kick began
        self._pulse_sign = -1.0
        self._pulse_age = math.inf  # seconds since the current kick began
        self._pulses = 0
        self._jitter = np.zeros(self.w_dim, dtype=np.float64)
        self._jitter_seed: int | None = None
        self._turn_deg = 0.0  # rotate_per_bar_deg integrated over the beat clock
        self._rng = np.random.default_rng(0)
        self._last: FeatureFrame | None = None
        self.state = ControllerState(0.0, 0.0, 1.0, 0.0, 0, (0.0,) * N_CHROMA, 0.0, 0.0)

    # ------------------------------------------------------------------ the step

    def step(self, frame: FeatureFrame | None, s: ControllerSettings, dt_s: float, *,
             truncation_scale: float = 1.0) -> LatentFrame:
        """The next LatentFrame. ``frame``: the newest FeatureFrame, None before audio arrives;
        ``dt_s`` > 0: time since the previous step (seconds); ``truncation_scale``: the live
        ``master.truncation`` multiplier on psi."""
        dt = max(float(dt_s), 1e-6)
        if frame is None:
            frame = silent_frame(t_audio=0.0, hop_index=-1)
        onset, beat = self._events(frame)
        self._last = frame
        r = s.reactivity

        beats_before = self._beats
        walk = self._walk(frame, s.walk, dt)
        self._level = follow(self._level, frame.level, attack_s=s.truncation.attack_s,
                             release_s=s.truncation.release_s, dt_s=dt)
        t = s.truncation
        psi = t.quiet + (t.loud - t.quiet) * min(self._level * r, 1.0)
        psi = min(psi * truncation_scale, 2.0)
        ws = truncate(walk, self.w_avg, psi=psi, cutoff=t.cutoff or None)

        offset = np.zeros((self.num_ws, self.w_dim), dtype=np.float64)
        offset += self._pulse_offset(onset, beat, s, dt)
        offset += self._chroma_offset(frame, s, dt)
        offset += self._jitter_offset(frame, s, dt)
        ws = ws + r * offset

        self._bass = follow(self._bass, frame.bass, attack_s=s.noise.attack_s,
                            release_s=s.noise.release_s, dt_s=dt)
        noise_gain = s.noise.base + s.noise.bass * min(self._bass * r, 1.0)
        transform = self._transform(s, self._beats - beats_before, r)
        self.state = ControllerState(self._beats, self._position, float(psi), self._pulse,
                                     self._pulses, tuple(self._chroma.tolist()), self._high,
                                     float(noise_gain), transform)
        latent = LatentFrame(seq=self._seq, t_audio=frame.t_audio,
                             ws=np.ascontiguousarray(ws, dtype=np.float32),
                             noise_gain=float(noise_gain), transform=transform)
        self._seq += 1
        return latent

    def _transform(self, s: ControllerSettings, beats: float, r: float
                   ) -> tuple[float, float, float]:
        """(translate_x, translate_y, rotate_deg): the live offsets, the turn integrated over
        the ``beats`` the clock advanced (so a new rate never jumps), and the kick's shift."""
        m = s.motion
        self._turn_deg = (self._turn_deg + m.rotate_per_bar_deg * beats / 4.0) % 360.0
        shift = m.kick_translate * r * self._pulse
        angle = math.radians(m.kick_angle_deg)
        # Image y points down, so "up" (90 degrees) is a negative y.
        return (m.translate_x + shift * math.cos(angle), m.translate_y - shift * math.sin(angle),
                (m.rotate_deg + self._turn_deg + 180.0) % 360.0 - 180.0)

    def _events(self, frame: FeatureFrame) -> tuple[bool, bool]:
        """(onset, beat) since the previous step, robust to the hops it did not see."""
        last = self._last
        if last is None or frame.hop_index == last.hop_index:
            return (frame.onset if last is None else False), (frame.beat if last is None else False)
        # The envelope is 1 at an onset and only decays in between: any rise is a new onset.
        onset = frame.onset or frame.onset_envelope > last.onset_envelope + 1e-6
        wrapped = frame.bpm > 0 and last.bpm > 0 and frame.beat_phase < last.beat_phase - 0.5
        return onset, frame.beat or wrapped

    # ------------------------------------------------------------------ walk

    def _walk(self, frame: FeatureFrame, walk: WalkSettings, dt: float) -> np.ndarray:
        """The walk's w [num_ws, w_dim] after advancing the beat clock by ``dt``."""
        bpm = frame.bpm if frame.bpm > 0 else walk.free_bpm
        advance = bpm / 60.0 * dt
        if frame.bpm > 0:
            # Phase-locked loop: pull the clock's fraction towards the detected beat phase, but
            # never run backwards (a walk that reverses looks like a glitch). The first tempo
            # ever found may set the phase at once: nothing has moved to the old one yet.
            error = (frame.beat_phase - (self._beats + advance) + 0.5) % 1.0 - 0.5
            gain = 1.0 if not self._locked and self._beats == 0.0 else min(1.0, dt / walk.phase_lock_s)
            advance = max(advance + error * gain, 0.0)
            self._locked = True
        self._beats += advance
        # Integrate the position (not beats / beats_per_seed) so changing the rate live never jumps.
        self._position += advance / walk.beats_per_seed

        # A bank offsets the seeds; keyframe files stay where they are.
        seeds = [seed if isinstance(seed, str) else (seed + walk.bank * len(walk.seeds))
                 % (MAX_SEED + 1) for seed in walk.seeds]
        if tuple(seeds) != self._keyframes:
            # Every keyframe file is read (and checked against the model) when the walk is given
            # it, not when the walk gets there: a wrong one is reported at once.
            for seed in seeds:
                if isinstance(seed, str):
                    self._file_ws(seed)
        current = self._keyframe_walk(seeds, walk.interpolation)
        # A new bank or a preset's new seeds glide over bank_change_s instead of jumping.
        if self._keyframes is not None and tuple(seeds) != self._keyframes:
            self._bank_from = self._walk_w  # what was shown, mid-fade or not: no jump
            self._bank_ramp = 0.0
        self._keyframes = tuple(seeds)
        if self._bank_ramp < 1.0 and self._bank_from is not None:
            self._bank_ramp = min(1.0, self._bank_ramp + (dt / walk.bank_change_s
                                                          if walk.bank_change_s > 0 else 1.0))
            current = self._blend_bank(current)
        self._walk_w = current
        return current

    def _blend_bank(self, current: np.ndarray) -> np.ndarray:
        t = self._bank_ramp * self._bank_ramp * (3.0 - 2.0 * self._bank_ramp)  # smoothstep
        return lerp(self._bank_from, current, t)

    def _keyframe_walk(self, keys: list[int | str], interpolation: str) -> np.ndarray:
        count = len(keys)
        i = int(math.floor(self._position)) % count
        t = self._position - math.floor(self._position)
        a, b = keys[i], keys[(i + 1) % count]
        if interpolation == "slerp_z":
            if isinstance(a, str) or isinstance(b, str):
                # A keyframe file has no z: this leg runs straight in w (seeds map to their w,
                # so the walk is continuous where it joins the great circles).
                ends = self._keyframe_ws([a, b])
                return lerp(ends[0], ends[1], t)
            za = z_from_seed(a, self.space.z_dim)
            zb = z_from_seed(b, self.space.z_dim)
            return self.space.ws_of_z(slerp(za, zb, t)[None].astype(np.float32))[0].astype(np.float64)
        keyframes = self._keyframe_ws(keys)
        if interpolation == "spline_w":
            return w_path(keyframes, self._position, loop=True, smooth=True)
        return lerp(keyframes[i], keyframes[(i + 1) % count], t)

    def _keyframe_ws(self, keys: list[int | str]) -> np.ndarray:
        """float64 [len(keys), num_ws, w_dim]: the mapped w of each seed, the stored w of each
        keyframe file."""
        seeds = [key for key in keys if not isinstance(key, str)]
        if len(seeds) == len(keys):
            return self.space.ws_of_seeds(seeds).astype(np.float64)
        mapped = iter(self.space.ws_of_seeds(seeds)) if seeds else iter(())
        return np.stack([self._file_ws(key) if isinstance(key, str) else next(mapped)
                         for key in keys]).astype(np.float64)

    def _file_ws(self, path: str) -> np.ndarray:
        """[num_ws, w_dim] of a keyframe file, read once per version of the file (a file
        projected again is picked up); GansmaniaError for a missing file or another model's."""
        from training.keyframes import load_keyframe_ws

        try:
            key = (path, os.stat(path).st_mtime_ns)
        except OSError:
            raise GansmaniaError(f"walk.seeds: keyframe file {path} not found; allowed: seeds "
                                 "and NAME.w.safetensors files from `gansmania project`") from None
        if key not in self._files:
            if len(self._files) > 64:
                self._files.clear()  # files swapped over OSC again and again; keep memory flat
            self._files[key] = load_keyframe_ws(path, model_sha256=getattr(self.space, "model_id",
                                                                           None),
                                                num_ws=self.num_ws, w_dim=self.w_dim)
        return self._files[key]

    # ------------------------------------------------------------------ offsets

    def _direction(self, seed: int) -> np.ndarray:
        """w(seed) - w_avg [w_dim]: a direction that stays among the model's own images."""
        if seed not in self._directions:
            if len(self._directions) > 256:
                self._directions.clear()  # someone is sweeping seeds over OSC; keep memory flat
            self._directions[seed] = (self.space.ws_of_seeds([seed])[0, 0]
                                      - self.w_avg).astype(np.float64)
        return self._directions[seed]

    def _named_direction(self, direction: Direction) -> np.ndarray:
        """[num_ws, w_dim]: one scale (std of w) along ``direction``, on the layers it moves."""
        if direction.name not in self._named:
            self._named[direction.name] = layer_mask(direction.layers, self.num_ws) \
                * (direction.scale * direction.vector.astype(np.float64))
        return self._named[direction.name]

    def _pulse_direction(self, p: PulseSettings) -> np.ndarray:
        named = self.directions.named(p.direction) if self.directions and p.direction else None
        if named is not None:
            return self._named_direction(named)
        if p.direction and p.direction not in self._missing:
            self._missing.add(p.direction)  # once: the pulse may kick many times a second
            log.warning("pulse.direction \"%s\": the model has no direction of that name (see "
                        "MODEL.directions.toml); kicking along seed %d's", p.direction,
                        p.direction_seed)
        return self._direction(p.direction_seed)

    def _chroma_directions(self, c: ChromaSettings) -> list[np.ndarray]:
        """Pitch class k's direction: the k-th of the model's (cycling when it has fewer than
        12), else seed direction_seed + k's."""
        named = self.directions.of_method(c.directions) \
            if self.directions and c.directions != "random" else ()
        if named:
            return [self._named_direction(named[k % len(named)]) for k in range(N_CHROMA)]
        return [self._direction(c.direction_seed + k) for k in range(N_CHROMA)]

    def _pulse_offset(self, onset: bool, beat: bool, s: ControllerSettings, dt: float) -> np.ndarray:
        p = s.pulse
        trigger = {"onset": onset, "beat": beat, "both": onset or beat, "off": False}[p.trigger]
        if trigger:
            self._pulses += 1
            self._pulse_sign = -self._pulse_sign if p.alternate else 1.0
            self._pulse_from = self._pulse
            self._pulse_age = dt / 2  # the event fell somewhere inside the last dt
        else:
            self._pulse_age += dt
        target, age = self._pulse_sign, self._pulse_age
        if age < p.attack_s:
            self._pulse = self._pulse_from + (target - self._pulse_from) * age / p.attack_s
        else:
            self._pulse = target * math.exp(-(age - p.attack_s) / p.release_s) \
                if math.isfinite(age) else 0.0
        if p.strength == 0.0 or self._pulse == 0.0:
            return 0.0
        return (p.strength * self._pulse) * layer_mask(p.layers, self.num_ws) \
            * self._pulse_direction(p)

    def _chroma_offset(self, frame: FeatureFrame, s: ControllerSettings, dt: float) -> np.ndarray:
        c = s.chroma
        self._chroma = follow(self._chroma, np.asarray(frame.chroma, dtype=np.float64),
                              attack_s=c.attack_s, release_s=c.release_s, dt_s=dt)
        total = float(self._chroma.sum())
        if c.strength == 0.0 or total <= 1e-9:
            return 0.0
        # Normalised by the total (at least 1): one clear pitch class moves a full `strength`,
        # a triad a third along each of its notes, noise (all twelve alike) almost nowhere.
        weights = self._chroma / max(total, 1.0)
        directions = self._chroma_directions(c)
        steer = sum(weights[k] * directions[k] for k in range(N_CHROMA))
        return c.strength * layer_mask(c.layers, self.num_ws) * steer

    def _jitter_offset(self, frame: FeatureFrame, s: ControllerSettings, dt: float) -> np.ndarray:
        j = s.jitter
        if self._jitter_seed != j.seed:
            self._rng = np.random.default_rng(j.seed)
            self._jitter_seed = j.seed
        self._high = follow(self._high, frame.high, attack_s=j.attack_s, release_s=j.release_s,
                            dt_s=dt)
        # A one-pole low-passed Gaussian stream, rescaled so its spread is w_std whatever dt is.
        k = one_pole_coefficient(time_s=j.speed_s, dt_s=dt)
        kick = self._rng.standard_normal(self.w_dim) * (self.w_std * math.sqrt((2.0 - k) / k))
        self._jitter += (kick - self._jitter) * k
        if j.strength == 0.0 or self._high == 0.0:
            return 0.0
        return (j.strength * self._high) * layer_mask(j.layers, self.num_ws) * self._jitter


class LatentFeed:
    """What the generator paints next: the controller stepped from the newest features and the
    live parameters. The threaded worker pulls :meth:`next` (time steps from ``clock``); the
    offline render calls :meth:`step` with its fixed frame interval."""

    def __init__(self, controller: LatentController, features: FeatureSource,
                 params: Callable[[], Mapping[str, Any]], *, clock: Callable[[], float]) -> None:
        self.controller = controller
        self.features = features
        self.params = params  # the live parameters' snapshot (ParamStore.snapshot)
        self.clock = clock
        self._last_step_s: float | None = None

    def step(self, dt_s: float) -> LatentFrame:
        """The next LatentFrame, ``dt_s`` seconds after the previous one."""
        params = self.params()
        return self.controller.step(self.features.latest.get(), controller_settings(params), dt_s,
                                    truncation_scale=float(params["master.truncation"]))

    def next(self) -> LatentFrame:
        """The next LatentFrame in real time (the worker thread)."""
        now = self.clock()
        dt = 1.0 / 30.0 if self._last_step_s is None else min(max(now - self._last_step_s, 1e-4), 0.25)
        self._last_step_s = now
        return self.step(dt)

    def frozen(self) -> bool:
        """True while ``master.freeze`` holds the picture: the worker paints nothing."""
        frozen = bool(self.params()["master.freeze"])
        if frozen:
            self._last_step_s = None  # the walk resumes with one ordinary step, not a jump
        return frozen
