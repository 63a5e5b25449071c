"""Show replay: control events logged with their audio times land on the same frame offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.signals import chord
from tests.visualizer.record.media import decode
from tests.visualizer.record.shows import first_frame_seeing, show_config, write_wav
from visualizer.core.config import to_dict
from visualizer.offline import RenderJob, render_song
from visualizer.record.showlog import ShowEvent, ShowLogHeader, read_show_log, write_show_log
from visualizer.show import prepare_show

FPS = 24.0
BANK_AT_S = 1.234  # off the frame and hop grids


def replay(tmp_path: Path, model: Path, song: Path, events: list[ShowEvent], name: str, *,
           size: tuple[int, int]) -> np.ndarray:
    # Lossless (CRF 0): x264 looks ahead, so lossy frames before a change would differ a little.
    show = show_config(model, size=size, fps=FPS, sets={"record.quality": 0})
    log = write_show_log(tmp_path / f"{name}.gmlog", ShowLogHeader(
        audio=str(song), preset="drift", config=to_dict(show)), events)
    out = tmp_path / f"{name}.mp4"
    render_song(prepare_show(show, preset="drift"),
                RenderJob(audio=song, out=out, replay=read_show_log(log)))
    return decode(out, audio=False).frames.astype(np.int16)


def test_a_logged_event_lands_on_the_same_frame_at_any_size(tmp_path: Path, tiny_model: Path,
                                                            isolated_threads) -> None:
    # A steady chord: no onsets, so the only sudden change is the seed bank switching at once.
    song = write_wav(tmp_path / "pad.wav", chord([57, 61, 64], duration_s=2.5))
    cut = ShowEvent(t_s=0.0, kind="set", name="walk.bank_change_s", value=0.0, source="osc")
    switch = ShowEvent(t_s=BANK_AT_S, kind="set", name="walk.bank", value=7, source="midi")
    expected = first_frame_seeing(BANK_AT_S, fps=FPS)

    for size in ((96, 64), (64, 48)):
        without = replay(tmp_path, tiny_model, song, [cut], f"plain{size[0]}", size=size)
        with_switch = replay(tmp_path, tiny_model, song, [cut, switch], f"switch{size[0]}",
                             size=size)
        change = np.abs(with_switch - without).reshape(len(without), -1).max(axis=1)
        assert not change[:expected].any(), f"{size}: frames before {expected} changed"
        assert change[expected] > 40, f"{size}: frame {expected} did not change"
        # And inside the replayed video, frame `expected` is where the picture jumps.
        steps = np.abs(np.diff(with_switch, axis=0)).reshape(len(without) - 1, -1).mean(axis=1)
        assert int(np.argmax(steps)) + 1 == expected


def test_every_action_is_replayed_or_skipped_on_purpose() -> None:
    from visualizer.control.params import ACTIONS
    from visualizer.offline import REPLAYED_ACTIONS, SKIPPED_ACTIONS

    assert REPLAYED_ACTIONS | SKIPPED_ACTIONS == set(ACTIONS)
    assert not REPLAYED_ACTIONS & SKIPPED_ACTIONS


def test_a_replayed_fx_reset_hands_the_shader_back_to_the_preset(tmp_path: Path, tiny_model: Path,
                                                                  isolated_threads) -> None:
    song = write_wav(tmp_path / "pad.wav", chord([57, 61, 64], duration_s=2.5))
    grey = ShowEvent(t_s=0.0, kind="set", name="shader.grade.saturation", value=0.0, source="osc")
    reset = ShowEvent(t_s=BANK_AT_S, kind="action", name="fx_reset", value=None, source="osc")
    plain = replay(tmp_path, tiny_model, song, [], "plain", size=(64, 48))
    overridden = replay(tmp_path, tiny_model, song, [grey, reset], "reset", size=(64, 48))
    change = np.abs(overridden - plain).reshape(len(plain), -1).max(axis=1)
    expected = first_frame_seeing(BANK_AT_S, fps=FPS)
    assert change[:expected].min() > 40  # grey while overridden
    assert not change[expected:].any()  # the preset's own colours from the reset on


def test_a_seed_step_and_the_bank_it_set_step_once(tmp_path: Path, tiny_model: Path,
                                                   isolated_threads) -> None:
    # What the show log holds for a seed_next: the action, then the walk.bank write it made
    # (logged as its own event), a few milliseconds later: the same frame, offline.
    song = write_wav(tmp_path / "pad.wav", chord([57, 61, 64], duration_s=2.5))
    cut = ShowEvent(t_s=0.0, kind="set", name="walk.bank_change_s", value=0.0, source="osc")
    step = ShowEvent(t_s=BANK_AT_S, kind="action", name="seed_next", value=None, source="keyboard")
    bank = ShowEvent(t_s=BANK_AT_S + 0.004, kind="set", name="walk.bank", value=1,
                     source="keyboard")
    logged = replay(tmp_path, tiny_model, song, [cut, step, bank], "logged", size=(64, 48))
    absolute = replay(tmp_path, tiny_model, song, [cut, bank], "absolute", size=(64, 48))
    assert np.array_equal(logged, absolute)
