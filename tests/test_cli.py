"""The `gansmania` root command: help, registration, one-line errors."""

import subprocess
import sys

import pytest

from visualizer.cli import cli, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "visualizer.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_registered_subcommand():
    result = run("--help")
    assert result.returncode == 0
    for name in cli.commands:
        assert f"  {name}" in result.stdout


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_subcommand_has_help_with_an_example(name):
    result = run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example:" in result.stdout
    assert "gansmania " + name in result.stdout


def test_no_arguments_prints_help_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 0
    assert "Commands:" in capsys.readouterr().out


def test_unknown_subcommand_is_one_line_exit_2():
    result = run("frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "frobnicate" in result.stderr


def test_bad_option_is_one_line_exit_2():
    result = run("devices", "--no-such-option")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--no-such-option" in result.stderr


def test_console_script_is_installed():
    import shutil

    assert shutil.which("gansmania") or (
        __import__("pathlib").Path(sys.executable).with_name("gansmania").exists())
