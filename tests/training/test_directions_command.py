"""`gansmania directions`: a table and the files beside the model, names kept on a re-run,
one-line errors for a missing or broken model."""

from __future__ import annotations

from PIL import Image

from tests.training.generators import TINY, randomised
from tests.training.training_runs import gansmania
from training.checkpoint import save_generator
from training.direction_files import load_directions, names_file


def test_directions_writes_the_files_prints_a_table_and_keeps_names(tmp_path):
    model = save_generator(tmp_path / "tiny.safetensors", randomised(TINY))
    result = gansmania("directions", str(model), "--count", "3", "--samples", "500")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "method", "index", "layers", "share", "scale"]
    assert [line.split()[:3] for line in lines[1:7]] == [
        [f"{m}-{i}", m, str(i)] for m in ("sefa", "pca") for i in range(3)]
    assert "found in" in lines[-1] and " s " in lines[-1]
    sheet = Image.open(tmp_path / "tiny.directions.png")
    assert sheet.size[1] == 16 + 6 * 96
    names = names_file(model)
    names.write_text(names.read_text().replace('name = "pca-0"', 'name = "warmth"'))
    again = gansmania("directions", str(model), "--method", "pca", "--count", "2",
                      "--samples", "500", "--sheet", str(tmp_path / "sheet.png"))
    assert again.returncode == 0, again.stderr
    assert "warmth" in again.stdout and (tmp_path / "sheet.png").is_file()
    stored = load_directions(model, w_dim=TINY.w_dim)
    assert [d.name for d in stored.entries] == ["warmth", "pca-1"]


def test_a_missing_or_broken_model_is_one_line(tmp_path):
    missing = gansmania("directions", str(tmp_path / "nope.safetensors"))
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1
    assert "nope.safetensors: file not found" in missing.stderr
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00" * 64)
    result = gansmania("directions", str(broken))
    assert result.returncode != 0 and result.stderr.count("\n") == 1
    assert "broken.safetensors" in result.stderr
