"""`gansmania presets list|check`: exit 0 for the shipped presets, exit 2 with one line per bad file."""

from __future__ import annotations

import pytest

from tests.visualizer.presets.helpers import FIXTURE_SHADERS, FIXTURES, PRESETS
from tests.visualizer.presets.test_loader import MALFORMED
from visualizer.cli import main

SHIPPED = sorted(path.stem for path in PRESETS.glob("*.toml"))


@pytest.fixture(autouse=True)
def no_user_presets(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # only the bundled folders


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["presets", *args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_check_passes_every_shipped_preset_with_the_glsl_compiled(capsys):
    code, out, err = run(capsys, "check")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [str(PRESETS / f"{n}.toml") for n in SHIPPED]
    assert all(": ok (" in line and "GLSL compiled on " in line for line in lines)


def test_check_takes_names_and_can_skip_compiling(capsys):
    code, out, _ = run(capsys, "check", "tunnel", "--no-compile")
    assert code == 0
    assert out.strip() == (f"{PRESETS / 'tunnel.toml'}: ok (zoom, feedback, chromatic, grade; "
                           "GLSL not compiled: --no-compile)")


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_check_prints_the_one_line_error_and_exits_2(capsys, name):
    path = FIXTURES / f"{name}.toml"
    code, out, err = run(capsys, "check", str(path), "--shader-dir", str(FIXTURE_SHADERS))
    assert code == 2 and out == ""
    assert err == f"{path}:{MALFORMED[name]}\n"


def test_a_glsl_syntax_error_is_found_by_compiling_and_names_both_files(capsys):
    path = FIXTURES / "glsl_syntax.toml"
    code, _, err = run(capsys, "check", str(path), "--shader-dir", str(FIXTURE_SHADERS))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"{path}:4: [[fx]] #1 'broken_syntax': "
                          f"{FIXTURE_SHADERS / 'broken_syntax.glsl'}:6: GLSL: ")
    assert "syntax error" in err
    code, _, _ = run(capsys, "check", str(path), "--shader-dir", str(FIXTURE_SHADERS), "--no-compile")
    assert code == 0  # the header parses: only the compiler sees it


def test_check_reports_every_bad_file_and_the_good_ones(capsys):
    code, out, err = run(capsys, "check", "drift", str(FIXTURES / "out_of_range.toml"),
                         str(FIXTURES / "unknown_key.toml"))
    assert code == 2
    assert out.startswith(f"{PRESETS / 'drift.toml'}: ok")
    assert err.count("\n") == 2


def test_check_of_a_missing_file_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["presets", "check", "no/such/look.toml"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "gansmania: error: preset file no/such/look.toml not found"


def test_list_names_every_preset_with_its_key_and_description(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for number, name in enumerate(SHIPPED[:9], start=1):
        row = next(line for line in out.splitlines() if f" {name} " in line)
        assert row.split()[1] == str(number)
    assert "Six-fold kaleidoscope" in out


def test_list_shaders_shows_parameters_and_features(capsys):
    code, out, _ = run(capsys, "list", "--shaders")
    assert code == 0
    assert "zoom: Zoom and warp" in out
    assert "  pulse            float 0..1" in out
    assert "  bass_smooth" in out and "features a parameter may follow" in out


def test_live_with_a_broken_preset_stops_before_the_show_with_its_one_line_error(capsys):
    path = FIXTURES / "out_of_range.toml"
    with pytest.raises(SystemExit) as exit_info:
        main(["live", "--headless", "--preset", str(path)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"gansmania: error: {path}:{MALFORMED['out_of_range']}\n"
