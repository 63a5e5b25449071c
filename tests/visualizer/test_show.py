"""The one show assembly: the opening look and its model, thread settings, the model lookup,
and build_app with parts handed in (the same code live, render and replay go through)."""

from __future__ import annotations

import os

import pytest

from tests.visualizer.live_helpers import click_track, show_config, small_model
from visualizer.core.config import override
from visualizer.core.errors import GansmaniaError
from visualizer.settings import ModelSettings
from visualizer.show import build_app, configure_threads, offline, open_model, prepare_show


def test_the_opening_look_is_parsed_once_and_brings_its_model(tmp_path):
    model = tmp_path / "abstract.safetensors"
    model.write_bytes(b"")  # only its path matters here
    look = tmp_path / "mine.toml"
    look.write_text(f'description = "mine"\nmodel = "{model.name}"\n')
    show = prepare_show(show_config(tmp_path / "a.wav"), preset=str(look))
    assert show.look.name == "mine" and show.look.path == look
    assert show.config.model.path == model
    given = override(show_config(tmp_path / "a.wav"), "model.path", tmp_path / "given.safetensors")
    assert prepare_show(given, preset=str(look)).config.model.path == tmp_path / "given.safetensors"


def test_the_look_is_the_preset_else_the_set_lists_first_else_the_default(tmp_path):
    config = show_config(tmp_path / "a.wav")
    assert prepare_show(config).look.name == config.presets.default
    assert prepare_show(config, default="prism").look.name == "prism"
    assert prepare_show(config, preset="tunnel", default="prism").look.name == "tunnel"
    listed = override(config, "setlist.looks", ("symmetry", "prism"))
    assert prepare_show(listed).look.name == "symmetry"
    with pytest.raises(GansmaniaError, match="--preset tunnel: the set list starts"):
        prepare_show(listed, preset="tunnel")
    with pytest.raises(GansmaniaError, match="nope"):
        prepare_show(config, preset="nope")


def test_offline_is_headless_without_a_hud(tmp_path):
    show = offline(prepare_show(show_config(tmp_path / "a.wav", **{"display.hud": True})))
    assert show.config.display.headless and not show.config.display.hud


def test_build_app_shows_the_look_with_the_parts_handed_in(tmp_path):
    from visualizer.backends.worker import SyncWorker
    from visualizer.render.headless import HeadlessOutput

    audio, _ = click_track(tmp_path / "click.wav", duration_s=2.0)
    show = prepare_show(show_config(audio), preset="prism")
    output = HeadlessOutput((128, 72))
    app = build_app(show, model=small_model(), worker=SyncWorker, output=output)
    try:
        assert app.preset_name == "prism" and app.output is output
        assert isinstance(app.worker, SyncWorker) and app.worker.frames_generated == 0
        app.worker.paint(dt_s=1 / 30)  # the worker paints from the app's own latent feed
        res = app.generator.resolution
        assert app.worker.latest.get().image.shape == (res, res, 3)
        app.params.post("preset", "drift", source="test")  # keys 1-9 and OSC reach the deck
        app.step_frame(0, now_s=0.0, dt_s=1 / 30, time_s=0.0)
        assert "drift" in app.preset_name
    finally:
        app.close()


def test_a_broken_set_list_stops_the_build_and_releases_the_model(tmp_path):
    from visualizer.render.headless import HeadlessOutput

    config = override(show_config(tmp_path / "a.wav"), "setlist.looks", ("drift", "nope"))
    model = small_model()
    closed = []
    model.backend.close = lambda: closed.append("backend")
    with pytest.raises(GansmaniaError, match="nope"):
        build_app(prepare_show(config), model=model, output=HeadlessOutput((64, 64)))
    assert closed == ["backend"]


def test_thread_settings_leave_the_users_choice_alone(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert configure_threads(ModelSettings(), cores=2) == 1  # a core left for the display
    assert configure_threads(ModelSettings(), cores=8) == 6
    assert configure_threads(ModelSettings(threads=4), cores=2) == 4
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE" and os.environ["OMP_NUM_THREADS"] == "3"


def test_a_missing_model_file_is_one_line(tmp_path):
    with pytest.raises(GansmaniaError, match=r"model .*nope.safetensors: file not found"):
        open_model(ModelSettings(path=tmp_path / "nope.safetensors"))


def test_the_models_directions_are_found_beside_it_and_reach_the_controller(tmp_path):
    from tests.training.generators import TINY, randomised
    from tests.visualizer.backends.models import small_generator
    from training.checkpoint import save_generator
    from training.direction_files import save_directions
    from training.directions import find_directions
    from visualizer.backends.worker import SyncWorker
    from visualizer.render.headless import HeadlessOutput

    generator = small_generator(seed=1)
    path = save_generator(tmp_path / "m.safetensors", generator)
    plain = open_model(ModelSettings(path=path))
    plain.backend.close()
    assert plain.directions is None
    save_directions(path, find_directions(generator, methods=("pca",), count=12, samples=300),
                    samples=300)
    model = open_model(ModelSettings(path=path))
    assert [d.name for d in model.directions.of_method("pca")] == [f"pca-{i}" for i in range(12)]
    audio, _ = click_track(tmp_path / "click.wav", duration_s=1.0)
    app = build_app(prepare_show(show_config(audio)), model=model, worker=SyncWorker,
                    output=HeadlessOutput((128, 72)))
    try:
        assert app.worker.latents.controller.directions is model.directions
    finally:
        app.close()
    # Directions made for another model (w_dim 8, not 64) are refused, naming the file.
    save_directions(path, find_directions(randomised(TINY), count=2, samples=200), samples=200)
    with pytest.raises(GansmaniaError, match=r"m\.directions\.safetensors: directions for w_dim 8"):
        open_model(ModelSettings(path=path))
