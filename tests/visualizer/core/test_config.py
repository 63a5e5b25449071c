"""Typed config: TOML in, frozen dataclasses out, one-line errors naming file, key and range."""

from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import Literal

import pytest

from visualizer.core.config import (
    load_config, override, parse_assignment, resolved_config_path, section, setting, to_toml,
    write_resolved)
from visualizer.core.errors import ConfigError
from visualizer.settings import ShowConfig


@dataclass(frozen=True)
class Inner:
    rate: int = setting(48000, doc="Hz", min=8000, max=96000)
    gain_db: float = setting(0.0, doc="dB", min=-60, max=12)
    mode: Literal["a", "b"] = setting("a", doc="mode")
    size: tuple[int, int] = setting((64, 64), doc="px", min=1, max=4096)
    name: str = setting("x", doc="name", choices=("x", "y"))


@dataclass(frozen=True)
class Outer:
    inner: Inner = section(Inner, doc="inner")
    out: Path | None = setting(None, doc="path")
    flag: bool = setting(False, doc="flag")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "show.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file():
    config = load_config(Outer)
    assert config.inner.rate == 48000 and config.out is None


def test_file_values_are_typed_and_frozen(tmp_path):
    config = load_config(Outer, write(tmp_path, 'out = "~/x.mp4"\n[inner]\nrate = 44100\n'
                                                'gain_db = -3\nsize = [320, 240]\n'))
    assert config.inner.rate == 44100
    assert config.inner.gain_db == -3.0 and isinstance(config.inner.gain_db, float)
    assert config.inner.size == (320, 240)
    assert config.out == Path.home() / "x.mp4"
    with pytest.raises(FrozenInstanceError):
        config.inner.rate = 1  # type: ignore[misc]


def test_unknown_key_names_file_line_and_allowed_keys(tmp_path):
    path = write(tmp_path, "flag = true\n\n[inner]\nrate = 44100\nrtae = 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(Outer, path)
    message = str(err.value)
    assert message.startswith(f"{path}:5: unknown key 'inner.rtae'")
    assert "rate" in message and "\n" not in message


@pytest.mark.parametrize("text, key, allowed", [
    ("[inner]\nrate = 1000\n", "inner.rate", "8000..96000"),
    ("[inner]\ngain_db = 20.5\n", "inner.gain_db", "-60..12"),
    ("[inner]\nsize = [0, 10]\n", "inner.size", "1..4096"),
    ('[inner]\nmode = "c"\n', "inner.mode", '"a", "b"'),
    ('[inner]\nname = "z"\n', "inner.name", '"x", "y"'),
    ('[inner]\nrate = "fast"\n', "inner.rate", "8000..96000"),
    ("flag = 1\n", "flag", "true or false"),
    ("inner = 3\n", "inner", "a table"),
])
def test_bad_values_name_key_value_and_allowed(tmp_path, text, key, allowed):
    with pytest.raises(ConfigError) as err:
        load_config(Outer, write(tmp_path, text))
    message = str(err.value)
    assert f"key '{key}'" in message and allowed in message and "\n" not in message
    assert message.startswith(str(tmp_path / "show.toml"))


def test_malformed_toml_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"show.toml: invalid TOML"):
        load_config(Outer, write(tmp_path, "[inner\nrate = 3\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(Outer, tmp_path / "nope.toml")


def test_overrides_apply_after_the_file_and_are_validated(tmp_path):
    path = write(tmp_path, "[inner]\nrate = 44100\n")
    config = load_config(Outer, path, overrides={"inner.rate": 96000, "flag": True, "out": None})
    assert config.inner.rate == 96000 and config.flag is True
    with pytest.raises(ConfigError, match=r"command line: key 'inner.rate' = 5 is out of range"):
        override(config, "inner.rate", 5)
    with pytest.raises(ConfigError, match="unknown key 'inner.nope'"):
        override(config, "inner.nope", 5)


def test_parse_assignment_reads_toml_literals():
    assert parse_assignment("inner.rate=44100") == ("inner.rate", 44100)
    assert parse_assignment("inner.size=[1,2]") == ("inner.size", [1, 2])
    assert parse_assignment("inner.name=y") == ("inner.name", "y")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("novalue")


def test_resolved_config_round_trips(tmp_path):
    config = load_config(Outer, overrides={"inner.size": [8, 16], "out": "/tmp/a.mp4"})
    written = write_resolved(config, tmp_path / "render.mp4")
    assert written == tmp_path / "render.config.toml"
    assert load_config(Outer, written) == config
    assert resolved_config_path(tmp_path) == tmp_path / "config.toml"


def test_show_config_defaults_serialise():
    text = to_toml(ShowConfig())
    assert "[audio]" in text and "[display]" in text


def test_a_renamed_ms_key_is_read_as_seconds_for_one_release(tmp_path, caplog):
    path = tmp_path / "old.toml"
    path.write_text("[audio]\nattack_ms = 20\nrelease_ms = 300.0\n")
    with caplog.at_level("WARNING", logger="visualizer.core.config"):
        config = load_config(ShowConfig, path, overrides={"audio.onset_min_ioi_ms": 30})
    assert (config.audio.attack_s, config.audio.release_s, config.audio.onset_min_ioi_s) == (0.02, 0.3, 0.03)
    warned = [r.getMessage() for r in caplog.records]
    assert f"{path}:2: key 'audio.attack_ms' is deprecated and goes in the next release; read as " \
           "audio.attack_s = 0.02" in warned
    assert any("'audio.onset_min_ioi_ms' is deprecated" in line for line in warned)
    with pytest.raises(ConfigError, match="unknown key 'audio.attack_us'"):
        override(config, "audio.attack_us", 1)
