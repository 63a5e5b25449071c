"""Show replay: control events logged with their audio times land on the same frame offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.signals import chord
from tests.visualizer.record.media import decode
from tests.visualizer.record.shows import first_frame_seeing, show_config, write_wav
from visualizer.commands.live import _install_look
from visualizer.core.config import to_dict
from visualizer.record.render import RenderJob, render_song
from visualizer.record.showlog import ShowEvent, ShowLogHeader, read_show_log, write_show_log

FPS = 24.0
BANK_AT_S = 1.234  # off the frame and hop grids


def replay(tmp_path: Path, model: Path, song: Path, events: list[ShowEvent], name: str, *,
           size: tuple[int, int]) -> np.ndarray:
    # Lossless (CRF 0): x264 looks ahead, so lossy frames before a change would differ a little.
    show = show_config(model, size=size, fps=FPS, sets={"record.quality": 0})
    log = write_show_log(tmp_path / f"{name}.gmlog", ShowLogHeader(
        audio=str(song), preset="drift", config=to_dict(show)), events)
    out = tmp_path / f"{name}.mp4"
    render_song(show, RenderJob(audio=song, out=out, preset="drift", replay=read_show_log(log)),
                install_look=_install_look)
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
