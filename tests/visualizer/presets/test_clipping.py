"""Acceptance: no shipped preset washes out to white or sinks to black.

Every preset renders a loud track (a limited club loop at 0 dBFS peaks) and a quiet one (a
-30 dBFS pad) through the real offline path (`render_song`: analyzer, controller, the bundled
model, the preset's shaders, H.264) and the video is read back. A preset fails when, over one
second of consecutive frames, more than 20% of the pixels sit at pure white (all channels
>= 250) or pure black (all <= 5), on average over the window. A window mean rather than every frame: a look that
flickers between white frames and a washed-out picture is still washed out, while short
strobes and flashes (a few frames a beat) stay well under it.

The whole sweep takes minutes on two cores, so it is marked slow; strobe_club on the loud
track, the look with the most light in it, runs in the fast suite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.signals import club_loop, pad, write_wav
from tests.visualizer.presets.helpers import PRESETS
from tests.visualizer.record.media import decode
from tests.visualizer.record.shows import show_config

NAMES = sorted(path.stem for path in PRESETS.glob("*.toml"))
TRACKS = ("loud", "quiet")
FAST = {("strobe_club", "loud")}

SIZE = (160, 90)
FPS = 15.0  # the generator paints every other frame, as a 2-core show does at 60 fps
DURATION_S = 8.0  # two 4-bar phrases at 128 BPM: the auto-gain and the tempo settle in the first
WHITE, BLACK = 250, 5  # 8-bit levels counted as pure white (every channel at or above) / black
MAX_CLIPPED = 0.20  # of the pixels, averaged over any window of WINDOW_S
WINDOW_S = 1.0


def clipped(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractions of pure white and pure black pixels per frame of uint8 ``frames`` (n, H, W, 3):
    two arrays of shape (n,)."""
    white = (frames >= WHITE).all(axis=-1).mean(axis=(1, 2))
    black = (frames <= BLACK).all(axis=-1).mean(axis=(1, 2))
    return white, black


def worst_window(fractions: np.ndarray, *, fps: float, window_s: float = WINDOW_S) -> tuple[float, int]:
    """The highest mean of ``fractions`` (n,) over ``window_s`` of consecutive frames, and the
    index of the window's first frame."""
    size = max(1, round(window_s * fps))
    if fractions.shape[0] < size:
        return 0.0, 0
    means = np.convolve(fractions, np.ones(size) / size, mode="valid")
    first = int(np.argmax(means))
    return float(means[first]), first


def test_worst_window_finds_a_sustained_wash_out_and_lets_short_flashes_pass() -> None:
    fps = 10.0
    steady = np.zeros(40)
    steady[10:22] = 0.3  # 1.2 s with 30% of the picture white
    assert worst_window(steady, fps=fps) == pytest.approx((0.3, 10))
    short = np.zeros(40)
    short[10:18] = 1.0  # 0.8 s of white: the window always sees some picture
    assert worst_window(short, fps=fps)[0] == pytest.approx(0.8)
    strobe = np.zeros(40)
    strobe[::10] = 1.0  # one white frame a second, a 10% duty strobe
    assert worst_window(strobe, fps=fps)[0] == pytest.approx(0.1)
    frames = np.zeros((3, 2, 2, 3), np.uint8)
    frames[0] = 255
    frames[1] = (255, 255, 249)  # one channel short of white: not clipped
    frames[2, :, 0], frames[2, :, 1] = 5, (5, 5, 6)  # black, and one channel above black
    white, black = clipped(frames)
    assert white.tolist() == [1.0, 0.0, 0.0] and black.tolist() == [0.0, 0.0, 0.5]


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tracks")
    loud, _ = club_loop(bpm=128.0, duration_s=DURATION_S)
    quiet = pad([57, 60, 64, 69], duration_s=DURATION_S, peak_db=-30.0)
    return {"loud": write_wav(folder / "loud.wav", loud),
            "quiet": write_wav(folder / "quiet.wav", quiet)}


def _cases():
    for name in NAMES:
        for track in TRACKS:
            marks = () if (name, track) in FAST else (pytest.mark.slow,)
            yield pytest.param(name, track, id=f"{name}-{track}", marks=marks)


@pytest.mark.parametrize(("name", "track"), list(_cases()))
def test_the_preset_neither_washes_out_nor_goes_black(name: str, track: str, tracks, tmp_path: Path,
                                                      isolated_threads) -> None:
    from visualizer.core import paths
    from visualizer.offline import RenderJob, render_song
    from visualizer.show import prepare_show

    model = paths.bundled_model()
    assert model is not None, "models/default.safetensors is missing"
    show = show_config(model, size=SIZE, fps=FPS)
    out = tmp_path / f"{name}-{track}.mp4"
    render_song(prepare_show(show, preset=name),
                RenderJob(audio=tracks[track], out=out, generator_fps=FPS / 2))
    white, black = clipped(decode(out, audio=False).frames)
    assert white.shape[0] == round(DURATION_S * FPS)
    worst, first = worst_window(white + black, fps=FPS)
    window = slice(first, first + round(WINDOW_S * FPS))
    assert worst <= MAX_CLIPPED, (
        f"{name} on the {track} track: {worst:.0%} of the pixels clipped (white "
        f"{white[window].mean():.0%}, black {black[window].mean():.0%}) over the second from "
        f"{first / FPS:.1f} s; limit {MAX_CLIPPED:.0%}")
