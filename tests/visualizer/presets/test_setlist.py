"""Set lists on headless EGL: a look a phrase through the deck's cross-fades, an intro before the
first phrase, a hand switch holding the list, one-line errors; and the same set list in
`gansmania render`, where the video changes look on the phrase boundaries."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tests.signals import click_train
from tests.visualizer.presets.helpers import beat_frame
from tests.visualizer.presets.showreel import tiny_generator
from tests.visualizer.record.media import decode
from tests.visualizer.record.shows import show_config, write_wav
from visualizer.core.config import load_config
from visualizer.core.errors import ConfigError
from visualizer.presets.deck import PresetDeck
from visualizer.presets.setlist import SetList, start_look
from visualizer.settings import PresetSettings, SetlistSettings, ShowConfig

FPS = 60.0  # display frames a second; the frames are 120 BPM: a bar of 4 beats is 2 s
# The frame that reaches a boundary starts the fade from it; the next one is the first to show it.
ON_TIME = 2.5 / FPS


def make_setlist(rig, looks=("drift", "prism", "symmetry"), **settings) -> SetList:
    deck = PresetDeck(rig.renderer, settings=PresetSettings(watch=False),
                      preset_dirs=[rig.presets])
    return SetList(deck, SetlistSettings(looks=looks, **settings))


def play(setlist: SetList, start_s: float, end_s: float) -> list[tuple[float, str]]:
    """Run the deck and the set list at 60 fps over [start_s, end_s): when each fade starts,
    [(t, incoming look)]."""
    starts = []
    for t in np.arange(start_s, end_s, 1.0 / FPS):
        fading = setlist.deck.progress > 0.0
        setlist.deck.update(beat_frame(float(t)), now_s=float(t))
        setlist.update()
        if setlist.deck.progress > 0.0 and not fading:
            starts.append((round(float(t), 3), setlist.deck.incoming.name))
    return starts


def test_the_show_starts_on_the_first_look_and_moves_on_every_phrase(rig):
    setlist = make_setlist(rig, phrase_bars=2)  # a phrase: 8 beats, 4 s
    assert setlist.start().name == "drift" and setlist.deck.current.name == "drift"
    starts = play(setlist, 0.0, 16.5)
    # Each fade starts on its boundary (the first frame after it), in list order, looping round.
    assert [name for _, name in starts] == ["prism", "symmetry", "drift", "prism"]
    np.testing.assert_allclose([t for t, _ in starts], [4.0, 8.0, 12.0, 16.0], atol=ON_TIME)
    assert setlist.deck.current.name == "drift"  # prism fades over 4 beats from 16 s


def test_first_bars_lets_the_first_look_play_an_intro(rig):
    setlist = make_setlist(rig, phrase_bars=4, first_bars=1)
    setlist.start()
    starts = play(setlist, 0.0, 19.0)
    np.testing.assert_allclose([t for t, _ in starts], [2.0, 10.0, 18.0], atol=ON_TIME)


def test_without_loop_the_last_look_stays(rig):
    setlist = make_setlist(rig, looks=("drift", "prism"), phrase_bars=1, loop=False)
    setlist.start()
    assert [name for _, name in play(setlist, 0.0, 9.0)] == ["prism"]
    assert setlist.deck.current.name == "prism"


def test_a_switch_by_hand_holds_the_list_for_a_phrase(rig):
    setlist = make_setlist(rig, phrase_bars=2)
    setlist.start()
    play(setlist, 0.0, 5.0)  # prism from 4 s
    assert setlist.deck.select("tunnel")  # the VJ's pick, from the next bar (6 s)
    setlist.hold()
    starts = play(setlist, 5.0, 15.0)
    # The boundary at 8 s passes; at 12 s the list goes on where it was.
    assert starts == [(pytest.approx(6.0, abs=ON_TIME), "tunnel"),
                      (pytest.approx(12.0, abs=ON_TIME), "symmetry")]


def test_the_live_show_runs_the_set_list_and_a_key_press_holds_it(rig, monkeypatch):
    import dataclasses

    from tests.visualizer.presets.helpers import PRESETS
    from tests.visualizer.presets.test_live_presets import FakeApp
    from visualizer.app import Tick
    from visualizer.control.params import Action
    from visualizer.presets.live_presets import LivePresets
    from visualizer.render.uniforms import AudioUniforms

    monkeypatch.setattr("visualizer.presets.catalog.default_preset_dirs", lambda: (PRESETS,))
    app = FakeApp(rig.renderer)
    app.show = dataclasses.replace(app.show, setlist=SetlistSettings(
        looks=("prism", "symmetry", "drift"), phrase_bars=1))
    presets = LivePresets(app)
    assert presets.install("ignored: the set list starts the show").name == "prism"
    showing = []
    for t in np.arange(0.0, 9.0, 1.0 / FPS).tolist():
        if abs(t - 2.5) < 0.5 / FPS:  # key 2 (tunnel) in the second bar
            app.handlers["preset"](Action(kind="preset", value=2, source="keyboard", t_s=t))
        for hook in app.hooks:
            hook(Tick(0, t, 1 / FPS, t, beat_frame(t), AudioUniforms(), app.params.snapshot()))
        showing.append(presets.deck.current.name)
    # A bar is 2 s and a fade 4 beats (2 s). Symmetry fades in from 2 s, landing at once when
    # tunnel is picked by hand (2.5 s); tunnel fades from the next bar (4 s), holding the list
    # past its boundary there; drift from 6 s; the list loops to prism from 8 s (its keyframes
    # take over as its fade starts).
    changes = [(round(i / FPS, 2), name) for i, name in enumerate(showing)
               if i == 0 or name != showing[i - 1]]
    assert changes == [(0.0, "prism"), (pytest.approx(2.5, abs=ON_TIME), "symmetry"),
                       (pytest.approx(6.0, abs=ON_TIME), "tunnel"),
                       (pytest.approx(8.0, abs=ON_TIME), "drift")]
    assert app.params.get("walk.seeds") == (12, 24, 36, 48, 60)


@pytest.mark.parametrize(("looks", "message"), [
    (("drift",), "setlist.looks has 1 look(s); a set list switches between at least 2"),
    (("drift", "no_such_look"), "setlist.looks: no_such_look: unknown preset 'no_such_look'"),
])
def test_a_bad_set_list_is_a_one_line_error_before_the_show(rig, looks, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        make_setlist(rig, looks=looks).start()
    assert "\n" not in str(caught.value)
    assert rig.renderer.chain.names == ()  # nothing was put on screen


def test_the_readme_set_list_is_a_valid_show_config():
    from tests.visualizer.presets.helpers import REPO
    from visualizer.core.config import from_dict

    readme = (REPO / "README.md").read_text()
    start = readme.index("```toml\n[setlist]") + len("```toml")
    show = from_dict(ShowConfig, tomllib.loads(readme[start:readme.index("```\n", start)]))
    assert show.setlist.looks[0] == "symmetry" and show.setlist.phrase_bars == 8


def test_set_list_settings_are_validated_and_choose_the_start_look(tmp_path: Path):
    config = tmp_path / "show.toml"
    config.write_text('[setlist]\nlooks = ["prism", "tunnel"]\nphrase_bars = 0\n')
    with pytest.raises(ConfigError, match=re.escape(
            f"{config}:3: key 'setlist.phrase_bars' = 0 is out of range; allowed an integer 1..64")):
        load_config(ShowConfig, config)
    setlist = SetlistSettings(looks=("prism", "tunnel"))
    assert start_look(setlist, preset=None, default="drift") == "prism"
    assert start_look(SetlistSettings(), preset="tunnel", default="drift") == "tunnel"
    with pytest.raises(ConfigError, match="--preset drift: the set list starts with its first look"):
        start_look(setlist, preset="drift", default="drift")


# Two looks that cannot be mistaken: grey (no saturation) and oversaturated colour.
GREY = 'description = "grey"\n[[fx]]\nshader = "grade"\nsaturation = 0.0\n'
COLOUR = 'description = "colour"\n[[fx]]\nshader = "grade"\nsaturation = 3.0\n'


def test_render_plays_the_set_list_and_the_video_changes_look_on_the_boundaries(
        tmp_path: Path, isolated_threads) -> None:
    from visualizer.offline import RenderJob, render_song
    from visualizer.show import prepare_show

    tiny_model = tmp_path / "tiny.safetensors"
    tiny_generator(tiny_model)

    for name, text in (("grey", GREY), ("colour", COLOUR)):
        (tmp_path / f"{name}.toml").write_text(text)
    audio, _ = click_train(bpm=120.0, duration_s=7.0, first_s=0.0)
    song = write_wav(tmp_path / "clicks.wav", audio)
    looks = (str(tmp_path / "grey.toml"), str(tmp_path / "colour.toml"))
    show = show_config(tiny_model, fps=20.0, sets={
        "setlist.looks": looks, "setlist.phrase_bars": 1, "presets.fade_beats": 0.0})
    out = tmp_path / "set.mp4"
    render_song(prepare_show(show), RenderJob(audio=song, out=out))  # starts on the first look
    frames = decode(out, audio=False).frames.astype(np.int16)
    colourful = (frames.max(axis=-1) - frames.min(axis=-1)).mean(axis=(1, 2)) > 10.0
    switches = np.flatnonzero(np.diff(colourful.astype(int))) + 1
    # A cut every bar (2 s at 120 BPM, 40 frames): grey, colour, grey, colour.
    assert not colourful[0]
    np.testing.assert_allclose(switches, [40, 80, 120], atol=1)
