"""`gansmania analyze`: the summary, the exact JSON, and one-line errors for bad files."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.signals import SR, click_train, write_wav
from visualizer.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", *args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_json_has_exactly_the_documented_keys(tmp_path, capsys):
    audio, clicks = click_train(bpm=120, duration_s=10.0)
    wav = write_wav(tmp_path / "clicks.wav", audio)
    code, out, _ = run(capsys, str(wav), "--json", str(tmp_path / "out.json"), "--hop", "128")
    assert code == 0
    data = json.loads((tmp_path / "out.json").read_text())
    assert list(data) == ["duration_s", "bpm", "beats_s", "onsets_s", "chroma"]
    assert data["duration_s"] == pytest.approx(10.0)
    assert data["bpm"] == pytest.approx(120.0, abs=1.0)
    assert len(data["onsets_s"]) == len(clicks)
    np.testing.assert_allclose(data["onsets_s"], clicks, atol=128 / SR)
    assert len(data["beats_s"]) >= 10
    assert len(data["chroma"]) == 10 and all(len(row) == 12 for row in data["chroma"])
    assert "120.0 BPM" in out and "hop 128" in out and "chroma per second" in out


@pytest.mark.parametrize("channels, subtype", [(1, "PCM_U8"), (2, "PCM_16"), (6, "PCM_24"),
                                               (2, "PCM_32"), (1, "FLOAT")])
def test_layouts_and_widths_analyse(tmp_path, capsys, channels, subtype):
    audio, _ = click_train(bpm=120, duration_s=2.0)
    wav = write_wav(tmp_path / "x.wav", np.repeat(audio[:, None], channels, axis=1),
                    subtype=subtype)
    code, out, err = run(capsys, str(wav), "--json", str(tmp_path / "x.json"))
    assert code == 0, err
    onsets = np.asarray(json.loads((tmp_path / "x.json").read_text())["onsets_s"])
    for click in (0.5, 1.0, 1.5):
        assert np.min(np.abs(onsets - click)) <= 256 / SR
    assert len(onsets) <= 4  # 8-bit quantisation noise may start with an onset at 0


@pytest.mark.parametrize("content, expected", [
    (None, "file not found"), (b"", "empty file"), (b"RIFF....WAVEjunk" * 8, "not a readable"),
])
def test_bad_files_are_one_line_errors_with_exit_2(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and expected in err and str(path) in err


def test_a_bad_hop_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path / "x.wav"), "--hop", "100")
    assert code == 2 and "--hop" in err


def test_console_script_runs_end_to_end(tmp_path):
    audio, _ = click_train(bpm=128, duration_s=8.0)
    wav = write_wav(tmp_path / "clicks.wav", audio)
    result = subprocess.run([sys.executable, "-m", "visualizer.cli", "analyze", str(wav),
                             "--json", str(tmp_path / "a.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "a.json").read_text())["bpm"] == pytest.approx(128, abs=1)
