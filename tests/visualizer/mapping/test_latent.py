"""LatentController: the walk follows the beat, pulses decay, harmony steers, all deterministic."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from tests.visualizer.control.streams import HOP_S, TableSpace, chord_chroma, metronome, pulled
from training.direction_files import Directions
from training.directions import Direction
from visualizer.core.config import from_dict
from visualizer.mapping.latent import LatentController, layer_mask
from visualizer.mapping.settings import ControllerSettings

# Only the route under test moves: everything else off, truncation psi fixed at 1.
QUIET = {"reactivity": 1.0, "pulse": {"strength": 0.0}, "chroma": {"strength": 0.0},
         "jitter": {"strength": 0.0}, "truncation": {"quiet": 1.0, "loud": 1.0},
         "noise": {"base": 0.0, "bass": 0.0}}


def settings(**changes) -> ControllerSettings:
    table = {key: dict(value) if isinstance(value, dict) else value for key, value in QUIET.items()}
    for key, value in changes.items():
        if isinstance(value, dict):
            table.setdefault(key, {}).update(value)
        else:
            table[key] = value
    return from_dict(ControllerSettings, table)


def run(controller, frames, s, *, every: int = 8):
    """Step like the worker (every 8th hop, ~43 ms); returns [(frame, LatentFrame, state)]."""
    return [(frame, controller.step(frame, s, dt), controller.state)
            for frame, dt in pulled(frames, every=every)]


def test_walk_visits_one_keyframe_per_n_beats_in_phase_with_the_beat():
    space = TableSpace()
    s = settings(walk={"seeds": [10, 11, 12, 13], "beats_per_seed": 2.0, "interpolation": "lerp_w"})
    steps = run(LatentController(space), metronome(bpm=120, duration_s=8.0), s)
    for frame, latent, state in steps[len(steps) // 4:]:
        # The beat clock runs in phase with the detected beat...
        assert abs((state.beats - frame.beat_phase + 0.5) % 1.0 - 0.5) < 0.02
        # ...and the walk covers one keyframe per 2 beats (120 BPM: one per second).
        assert state.position == pytest.approx(state.beats / 2.0, abs=1e-9)
        i, t = int(state.position) % 4, state.position % 1.0
        expected = (1 - t) * space.w_of(10 + i) + t * space.w_of(10 + (i + 1) % 4)
        np.testing.assert_allclose(latent.ws[3], expected, atol=1e-5)
    final = steps[-1][2]
    assert final.beats == pytest.approx(16.0, abs=0.1)  # 8 s at 120 BPM
    assert latent.t_audio == steps[-1][0].t_audio and latent.seq == len(steps) - 1


def test_walk_speed_follows_the_tempo_and_never_runs_backwards():
    s = settings(walk={"beats_per_seed": 4.0})
    slow = run(LatentController(TableSpace()), metronome(bpm=60, duration_s=6.0), s)
    fast = run(LatentController(TableSpace()), metronome(bpm=150, duration_s=6.0), s)
    assert slow[-1][2].beats == pytest.approx(6.0, abs=0.1)
    assert fast[-1][2].beats == pytest.approx(15.0, abs=0.1)
    # Started half a beat out of phase: it pulls in within a few lock times, never backwards.
    late = run(LatentController(TableSpace()), metronome(bpm=120, duration_s=4.0, phase0=0.5), s)
    beats = [state.beats for _, _, state in late]
    assert all(b2 >= b1 for b1, b2 in zip(beats, beats[1:]))
    frame, _, state = late[-1]
    assert abs((state.beats - frame.beat_phase + 0.5) % 1.0 - 0.5) < 0.02
    # No tempo detected: the walk keeps going at free_bpm.
    free = run(LatentController(TableSpace()), metronome(bpm=90, duration_s=3.0, tempo_known=False),
               settings(walk={"free_bpm": 100.0}))
    assert free[-1][2].beats == pytest.approx(5.0, abs=0.1)


def test_pulse_kicks_on_each_onset_and_decays_with_the_release_time():
    space = TableSpace()
    s = settings(pulse={"strength": 1.0, "release_s": 0.2, "alternate": False,
                        "direction_seed": 77, "layers": "all"})
    base = settings()
    frames = metronome(bpm=60, duration_s=3.2)  # onsets at 1 s, 2 s, 3 s
    kicked = run(LatentController(space), frames, s, every=4)
    plain = run(LatentController(space), frames, base, every=4)
    direction = space.w_of(77) - space.w_avg
    along = [float(np.dot(k.ws[0] - p.ws[0], direction) / np.dot(direction, direction))
             for (_, k, _), (_, p, _) in zip(kicked, plain)]
    times = [frame.t_audio for frame, _, _ in kicked]
    assert kicked[-1][2].pulses == 3  # every onset seen, though 3 of 4 hops were skipped
    onset_step = next(i for i, t in enumerate(times) if t >= 1.0)
    assert along[onset_step - 1] < 1e-3  # nothing before the first onset
    assert along[onset_step] > 0.9  # the kick lands at once (attack 0)
    later = next(i for i, t in enumerate(times) if t >= times[onset_step] + 0.2)
    expected = math.exp(-(times[later] - times[onset_step] + 2 * HOP_S) / 0.2)
    assert along[later] == pytest.approx(expected, abs=0.05)  # e^-1 after one release time
    assert 0 <= along[onset_step + 40] < 0.05  # and gone before the next onset


def test_alternating_pulses_swing_both_ways():
    controller = LatentController(TableSpace())
    s = settings(pulse={"strength": 1.0, "alternate": True})
    signs, seen = [], 0
    for _, _, state in run(controller, metronome(bpm=120, duration_s=3.0), s):
        if state.pulses > seen:  # a kick began in this step
            seen = state.pulses
            signs.append(math.copysign(1, state.pulse))
    assert len(signs) == 5 and all(a == -b for a, b in zip(signs, signs[1:]))


def test_chroma_steers_along_the_directions_of_the_sounding_pitch_classes():
    space = TableSpace()
    s = settings(chroma={"strength": 1.0, "attack_s": 0.0, "release_s": 0.0,
                         "direction_seed": 500, "layers": "all"})
    directions = np.stack([space.w_of(500 + k) - space.w_avg for k in range(12)])

    def steer(chroma):
        frames = metronome(bpm=120, duration_s=0.5, chroma=chroma, onsets=False)
        with_chroma = run(LatentController(space), frames, s)[-1][1]
        without = run(LatentController(space), frames, settings())[-1][1]
        return (with_chroma.ws[0] - without.ws[0]).astype(np.float64)

    # One clear pitch class (A = 9) moves a full `strength` along exactly its direction.
    np.testing.assert_allclose(steer(chord_chroma(9)), directions[9], atol=1e-4)
    # A-major (A, C#, E) steers along its three notes, a third each; C-major elsewhere.
    a_major, c_major = steer(chord_chroma(9, 1, 4)), steer(chord_chroma(0, 4, 7))
    np.testing.assert_allclose(a_major, directions[[9, 1, 4]].sum(axis=0) / 3, atol=1e-4)
    assert not np.allclose(a_major, c_major, atol=0.1)
    # Silence steers nowhere.
    np.testing.assert_allclose(steer((0.0,) * 12), 0.0, atol=1e-6)


def test_loudness_sets_truncation_and_bass_the_noise_gain():
    s = settings(truncation={"quiet": 0.4, "loud": 1.0, "attack_s": 0.0, "release_s": 0.0},
                 noise={"base": 0.5, "bass": 2.0, "attack_s": 0.0, "release_s": 0.0})
    quiet = run(LatentController(TableSpace()), metronome(bpm=120, duration_s=0.3, level=0.0), s)
    loud = run(LatentController(TableSpace()), metronome(bpm=120, duration_s=0.3, level=1.0,
                                                        bass=0.75), s)
    assert quiet[-1][2].psi == pytest.approx(0.4) and loud[-1][2].psi == pytest.approx(1.0)
    assert quiet[-1][1].noise_gain == pytest.approx(0.5)
    assert loud[-1][1].noise_gain == pytest.approx(0.5 + 2.0 * 0.75)
    # reactivity 0: a pure tempo walk, loudness and bass ignored
    still = dataclasses.replace(s, reactivity=0.0)
    calm = run(LatentController(TableSpace()), metronome(bpm=120, duration_s=0.3, level=1.0,
                                                        bass=1.0), still)
    assert calm[-1][2].psi == pytest.approx(0.4) and calm[-1][1].noise_gain == pytest.approx(0.5)


def test_highs_jitter_only_the_fine_layers():
    space = TableSpace(num_ws=14)  # the cpu config's 256 px generator: fine = layers 8..13
    s = settings(jitter={"strength": 1.0, "attack_s": 0.0, "release_s": 0.0})
    frames = metronome(bpm=120, duration_s=1.0, high=1.0, onsets=False)
    jittered = np.stack([l.ws for _, l, _ in run(LatentController(space), frames, s)])
    calm = np.stack([l.ws for _, l, _ in run(LatentController(space), frames, settings())])
    moved = np.abs(jittered - calm).max(axis=(0, 2))
    fine = layer_mask("fine", 14)[:, 0].astype(bool)
    assert np.all(moved[~fine] == 0.0) and np.all(moved[fine] > 0.1)


def test_same_inputs_give_identical_latents_and_the_jitter_seed_matters():
    s = from_dict(ControllerSettings, {"walk": {"interpolation": "slerp_z"}})  # every route on
    frames = metronome(bpm=128, duration_s=2.0, level=0.7, bass=0.5, high=0.8,
                       chroma=chord_chroma(2, 6, 9))
    first = [l.ws.tobytes() for _, l, _ in run(LatentController(TableSpace()), frames, s)]
    second = [l.ws.tobytes() for _, l, _ in run(LatentController(TableSpace()), frames, s)]
    assert first == second
    other = dataclasses.replace(s, jitter=dataclasses.replace(s.jitter, seed=1))
    third = [l.ws.tobytes() for _, l, _ in run(LatentController(TableSpace()), frames, other)]
    assert third != first


def test_a_new_seed_bank_fades_in_without_a_jump():
    space = TableSpace()
    controller = LatentController(space)
    s = settings(walk={"seeds": [1, 2], "interpolation": "lerp_w", "bank_change_s": 0.5,
                       "beats_per_seed": 64.0})
    frames = metronome(bpm=120, duration_s=2.0, onsets=False)
    half = len(frames) // 2
    before = run(controller, frames[:half], s)
    changed = dataclasses.replace(s, walk=dataclasses.replace(s.walk, bank=1))
    after = run(controller, frames[half:], changed)
    path = [l.ws[0] for _, l, _ in before + after]
    steps = [float(np.abs(b - a).max()) for a, b in zip(path, path[1:])]
    jump = float(np.abs(space.w_of(3) - space.w_of(1)).max())  # bank 1 = seeds 3, 4
    assert max(steps) < jump / 4  # spread over the fade, not one jump
    final = after[-1][2].position
    t = final % 1.0
    expected = (1 - t) * space.w_of(3) + t * space.w_of(4)
    np.testing.assert_allclose(after[-1][1].ws[0], expected, atol=1e-5)


def test_no_audio_yet_still_walks():
    controller = LatentController(TableSpace())
    latent = controller.step(None, settings(), 0.04)
    assert latent.ws.shape == (10, 16) and latent.ws.dtype == np.float32 and latent.t_audio == 0.0
    assert controller.step(None, settings(), 0.5).seq == 1 and controller.state.beats == \
        pytest.approx(0.54 * 2, abs=1e-9)  # free_bpm 120


# ------------------------------------------------------------------ named directions

def model_directions(w_dim: int, *, pca: int = 16, sefa: int = 4, layers: str = "all") -> Directions:
    """Orthonormal directions with distinct scales, as `gansmania directions` stores them."""
    basis = np.linalg.qr(np.random.default_rng(5).standard_normal((w_dim, w_dim)))[0].T
    entries = [Direction(name=f"{method}-{i}", method=method, index=i, layers=layers,
                         vector=basis[row % w_dim].astype(np.float32), value=1.0, scale=0.5 + 0.1 * i,
                         share=0.01)
               for row, (method, i) in enumerate([("pca", i) for i in range(pca)]
                                                 + [("sefa", i) for i in range(sefa)])]
    return Directions(path=Path("m.directions.safetensors"), w_dim=w_dim, samples=100,
                      entries=tuple(entries))


def chroma_steer(controller_of, s, chroma) -> np.ndarray:
    frames = metronome(bpm=120, duration_s=0.5, chroma=chroma, onsets=False)
    with_chroma = run(controller_of(), frames, s)[-1][1]
    without = run(controller_of(), frames, settings())[-1][1]
    return (with_chroma.ws - without.ws).astype(np.float64)


def test_chroma_steers_along_the_models_first_twelve_directions_when_it_has_them():
    space = TableSpace(w_dim=32, num_ws=14)
    directions = model_directions(32)
    s = settings(chroma={"strength": 1.0, "attack_s": 0.0, "release_s": 0.0, "layers": "all"})
    steer = chroma_steer(lambda: LatentController(space, directions=directions), s,
                         chord_chroma(2, 6, 9))
    pca = np.stack([d.vector for d in directions.of_method("pca")]).astype(np.float64)
    # The offset lies in the span of the first 12 PCA directions: nothing along the others.
    assert np.abs(steer @ pca[:12].T).max() > 0.1
    np.testing.assert_allclose(steer @ pca[12:].T, 0.0, atol=1e-5)
    residual = steer - (steer @ pca[:12].T) @ pca[:12]
    np.testing.assert_allclose(residual, 0.0, atol=1e-5)
    # One pitch class (A = 9) moves one scale (std of w) along the 10th direction.
    one = chroma_steer(lambda: LatentController(space, directions=directions), s, chord_chroma(9))
    np.testing.assert_allclose(one, np.broadcast_to(1.4 * pca[9], one.shape), atol=1e-5)
    # sefa picks the other method; a direction found on the fine layers moves only those.
    sefa = settings(chroma={"strength": 1.0, "attack_s": 0.0, "release_s": 0.0, "layers": "all",
                            "directions": "sefa"})
    fine = model_directions(32, layers="fine")
    moved = chroma_steer(lambda: LatentController(space, directions=fine), sefa, chord_chroma(1))
    sefa_1 = fine.of_method("sefa")[1]
    np.testing.assert_allclose(moved, layer_mask("fine", 14) * sefa_1.scale * sefa_1.vector,
                               atol=1e-5)


def test_without_a_directions_file_or_with_random_the_seeded_directions_steer_as_before():
    s = from_dict(ControllerSettings, {"walk": {"interpolation": "slerp_z"}})  # every route on
    frames = metronome(bpm=128, duration_s=2.0, level=0.7, bass=0.5, high=0.8,
                       chroma=chord_chroma(2, 6, 9))

    def ws(controller, settings_):
        return [l.ws.tobytes() for _, l, _ in run(controller, frames, settings_)]

    plain = ws(LatentController(TableSpace()), s)
    with_file = model_directions(16)
    random = dataclasses.replace(s, chroma=dataclasses.replace(s.chroma, directions="random"))
    assert ws(LatentController(TableSpace(), directions=with_file), random) == plain
    named = ws(LatentController(TableSpace(), directions=with_file), s)
    assert named != plain
    assert ws(LatentController(TableSpace(), directions=with_file), s) == named  # deterministic


def test_pulse_kicks_along_a_named_direction_and_falls_back_to_its_seed(caplog):
    space = TableSpace(w_dim=32)
    directions = model_directions(32)
    frames = metronome(bpm=60, duration_s=1.2)  # an onset at 1 s

    def kick(direction: str) -> np.ndarray:
        s = settings(pulse={"strength": 1.0, "release_s": 5.0, "alternate": False,
                            "direction_seed": 77, "layers": "all", "direction": direction})
        kicked = run(LatentController(space, directions=directions), frames, s)[-1][1]
        plain = run(LatentController(space, directions=directions), frames, settings())[-1][1]
        return (kicked.ws[0] - plain.ws[0]).astype(np.float64)

    warmth = directions.named("pca-3")
    along = kick("pca-3")
    cosine = along @ warmth.vector / np.linalg.norm(along)
    assert cosine == pytest.approx(1.0, abs=1e-6) and np.linalg.norm(along) <= warmth.scale + 1e-6
    seeded = kick("")
    np.testing.assert_allclose(seeded / np.linalg.norm(seeded),
                               (space.w_of(77) - space.w_avg) / np.linalg.norm(
                                   space.w_of(77) - space.w_avg), atol=1e-5)
    with caplog.at_level("WARNING", logger="visualizer.mapping.latent"):
        assert kick("no-such").tobytes() == seeded.tobytes()
    assert sum("no-such" in r.getMessage() for r in caplog.records) == 1
