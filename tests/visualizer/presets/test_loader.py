"""The preset format: shipped presets load, every malformed file gives its one-line error."""

from __future__ import annotations

import shutil

import pytest

from tests.visualizer.presets.helpers import FIXTURE_SHADERS, FIXTURES, PRESETS, SHADERS
from visualizer.core.errors import ConfigError
from visualizer.mapping.settings import ControllerSettings
from visualizer.presets.catalog import find_preset, preset_paths, slot_paths
from visualizer.presets.features import FEATURES, feature_values
from visualizer.presets.loader import PresetError, load_preset
from visualizer.presets.schema import Binding
from visualizer.render.library import ShaderLibrary

from .helpers import beat_frame

LIBRARY = ShaderLibrary(None, search_dirs=[FIXTURE_SHADERS, SHADERS])
BINDING_HINT = "or { from = FEATURE, range = [LOW, HIGH] }"

# fixture -> the whole expected error after "PATH:"; GLSL syntax errors need GL (test_check).
MALFORMED = {
    "bad_toml": "3: invalid TOML: Expected ']]' at the end of an array declaration (at line 3, column 5)",
    "unknown_key": "6: [[fx]] #1 'zoom': unknown key 'pulsee'; allowed keys: shader, zoom, pulse, "
                   "ripple, ripple_freq, twist, drift",
    "wrong_type": f"9: [[fx]] #2 'zoom': key 'pulse' = \"big\" has the wrong type; allowed a number "
                  f"0..1, {BINDING_HINT}",
    "out_of_range": f"5: [[fx]] #1 'zoom': key 'pulse' = 2.0 is out of range; allowed a number 0..1, "
                    f"{BINDING_HINT}",
    "unknown_shader": "4: [[fx]] #1: key 'shader' = \"blurr\" is not a shader pass; allowed: bloom, "
                      "broken_syntax, chromatic, crossfade, feedback, flash, grade, grain, "
                      "kaleidoscope, mirror, missing_uniform, mix_input, passthrough, strobe, zoom",
    "missing_uniform": f"4: [[fx]] #1 'missing_uniform': {FIXTURE_SHADERS / 'missing_uniform.glsl'}:2: "
                       "missing uniform: the header declares 'amount' but the shader has no "
                       "`uniform float amount;`",
    "unknown_feature": "5: [[fx]] #1 'zoom': key 'zoom' binds from = \"kick\", which is not a feature; "
                       "allowed: " + ", ".join(FEATURES),
    "bad_transition": "4: key 'transition.mode' = \"wipe\" is not allowed; allowed one of \"mix\", "
                      "\"luma\", \"dip\"",
    "bad_controller": "5: key 'controller.walk.beats_per_seed' = 0.0 is out of range; allowed a number 0.25..256",
}


def test_at_least_eight_distinct_shipped_presets_each_described_in_one_line():
    found = preset_paths([PRESETS])
    assert len(found) >= 8
    presets = [load_preset(path, library=LIBRARY) for path in found.values()]
    for preset in presets:
        assert preset.description and "\n" not in preset.description and len(preset.description) < 100
        assert preset.fx, f"{preset.name} has no shader chain"
    looks = {(p.shaders, tuple(sorted(str(s.params) for s in p.fx))) for p in presets}
    assert len(looks) == len(presets), "two shipped presets share the same chain and parameters"
    assert len({p.controller for p in presets}) == len(presets), "two presets share the latent walk"


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_fixture_gives_its_one_line_error(name):
    path = FIXTURES / f"{name}.toml"
    with pytest.raises(ConfigError) as info:
        load_preset(path, library=LIBRARY)
    assert str(info.value) == f"{path}:{MALFORMED[name]}"


def test_a_binding_maps_the_feature_onto_its_range():
    text = ('description = "d"\n[[fx]]\nshader = "zoom"\n'
            'zoom = { from = "bass", range = [1.0, 1.2] }\npulse = { from = "onset", curve = 2 }\n')
    preset = _parse(text)
    step = preset.fx[0]
    assert step.bindings["zoom"] == Binding("bass", 1.0, 1.2)
    assert step.bindings["pulse"] == Binding("onset", 0.0, 1.0, 2.0)  # range defaults to the declared one
    assert step.start_params() == {"zoom": 1.0, "pulse": 0.0}
    values = step.bound_values({"bass": 0.5, "onset": 0.5})
    assert values["zoom"] == pytest.approx(1.1) and values["pulse"] == pytest.approx(0.25)


@pytest.mark.parametrize("binding, problem", [
    ('{ from = "bass", range = [1.0, 9.0] }', "range = [1.0, 9.0]: 9.0 is out of range; allowed 0.5..4"),
    ('{ from = "bass", range = [1.0] }', "range = [1.0] has the wrong type"),
    ('{ range = [1.0, 1.2] }', "is a binding without from = FEATURE"),
    ('{ from = "bass", speed = 2 }', "has unknown binding key 'speed'"),
    ('{ from = "bass", curve = 0 }', "curve = 0 is not allowed; allowed a number 0.1..8"),
])
def test_bad_bindings_name_the_key_and_what_is_allowed(binding, problem):
    with pytest.raises(PresetError) as info:
        _parse(f'description = "d"\n[[fx]]\nshader = "zoom"\nzoom = {binding}\n')
    assert f"preset.toml:4: [[fx]] #1 'zoom': key 'zoom' {problem}" in str(info.value)


def test_a_bool_parameter_cannot_follow_a_feature():
    with pytest.raises(PresetError, match="key 'radial' is true/false and cannot follow a feature"):
        _parse('description = "d"\n[[fx]]\nshader = "chromatic"\nradial = { from = "bass" }\n')


@pytest.mark.parametrize("text, problem", [
    ('[[fx]]\nshader = "zoom"\n', "key 'description' is missing or empty"),
    ('description = "d"\nfx = { shader = "zoom" }\n', "preset.toml:2: key 'fx' must be an array of tables"),
    ('description = "d"\n[[fx]]\npulse = 0.1\n', "preset.toml:2: [[fx]] #1 has no key 'shader'"),
    ('description = "d"\ncolour = 1\n', "preset.toml:2: unknown key 'colour'; allowed keys in the top "
                                        "level: controller, description, model, transition"),
    ('description = "d"\n[[fx]]\nshader = "mirror"\nmode = 1.5\n', "key 'mode' = 1.5 is not a whole number"),
])
def test_structural_errors(text, problem):
    with pytest.raises(ConfigError) as info:
        _parse(text)
    assert problem in str(info.value)


def test_the_controller_table_is_the_controller_schema():
    preset = _parse('description = "d"\n[controller]\nreactivity = 0.5\n[controller.walk]\n'
                    'seeds = [7, 8]\nbeats_per_seed = 16\n')
    assert isinstance(preset.controller, ControllerSettings)
    assert preset.controller.walk.seeds == (7, 8) and preset.controller.walk.beats_per_seed == 16.0
    assert preset.controller.reactivity == 0.5
    assert preset.controller.pulse == ControllerSettings().pulse  # unset routes keep their defaults


def test_a_preset_may_name_a_models_direction_and_old_ones_keep_the_seeds():
    preset = _parse('description = "d"\n[controller.pulse]\ndirection = "warmth"\n'
                    '[controller.chroma]\ndirections = "sefa"\n')
    assert preset.controller.pulse.direction == "warmth"
    assert preset.controller.chroma.directions == "sefa"
    old = _parse('description = "d"\n[controller.pulse]\ndirection_seed = 9\n')
    assert old.controller.pulse.direction == "" and old.controller.pulse.direction_seed == 9
    assert old.controller.chroma.directions == "pca"  # used only when the model has a file
    with pytest.raises(ConfigError, match="controller.chroma.directions"):
        _parse('description = "d"\n[controller.chroma]\ndirections = "ica"\n')


def test_model_paths_resolve_beside_the_preset_then_in_the_models_folders(tmp_path):
    (tmp_path / "models").mkdir()
    beside = tmp_path / "beside.safetensors"
    beside.write_bytes(b"x")
    shared = tmp_path / "models" / "shared.safetensors"
    shared.write_bytes(b"x")
    for model, expected in (("beside.safetensors", beside), ("shared.safetensors", shared), ("", None)):
        path = tmp_path / "p.toml"
        path.write_text(f'description = "d"\nmodel = "{model}"\n')
        assert load_preset(path, library=LIBRARY, model_dirs=[tmp_path / "models"]).model == expected
    path.write_text('description = "d"\nmodel = "nowhere.safetensors"\n')
    with pytest.raises(PresetError, match=r"p.toml:2: key 'model' = \"nowhere.safetensors\": file not found"):
        load_preset(path, library=LIBRARY, model_dirs=[tmp_path / "models"])


def test_names_resolve_user_folder_first_and_slots_default_to_the_first_nine(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    shutil.copy(PRESETS / "drift.toml", user / "drift.toml")
    dirs = [user, PRESETS]
    assert find_preset("drift", dirs=dirs) == user / "drift.toml"
    assert find_preset(str(PRESETS / "tunnel.toml"), dirs=dirs) == PRESETS / "tunnel.toml"
    with pytest.raises(ConfigError.__mro__[1], match="unknown preset 'nope'; available: "):
        find_preset("nope", dirs=dirs)
    assert slot_paths((), dirs=dirs) == list(preset_paths(dirs).values())[:9]
    assert slot_paths(("tunnel", "drift"), dirs=dirs) == [PRESETS / "tunnel.toml", user / "drift.toml"]


def test_feature_values_read_the_frame_and_stay_in_range():
    frame = beat_frame(0.25, bass=0.7, onset_envelope=1.0, chroma=(0.0,) * 4 + (1.0,) + (0.0,) * 7)
    values = feature_values(frame, bar_phase=0.3)
    assert values["bass"] == 0.7 and values["onset"] == 1.0 and values["bar_phase"] == 0.3
    assert values["beat_phase"] == pytest.approx(0.5)  # 120 BPM: half a beat at 0.25 s
    assert values["beat"] == pytest.approx(0.25)
    assert values["pitch"] == pytest.approx(4 / 12)  # E
    assert feature_values(beat_frame(0.25, bpm=0.0))["beat"] == 0.0  # no tempo, no beat pulse
    assert set(feature_values(None).values()) == {0.0}


def _parse(text: str):
    from pathlib import Path

    from visualizer.presets.loader import parse_preset

    return parse_preset(text, path=Path("preset.toml"), library=LIBRARY)


def test_the_readme_example_is_a_valid_preset():
    from tests.visualizer.presets.helpers import REPO

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Presets and shaders"):]
    start = section.index("```toml") + len("```toml")
    example = section[start:section.index("```\n", start)]
    preset = _parse(example)
    assert preset.shaders == ("kaleidoscope", "bloom") and preset.controller.walk.seeds == (7, 77, 777)
    assert preset.transition.beats == 8.0 and preset.transition.mode == "luma"
