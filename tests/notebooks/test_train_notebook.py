"""notebooks/train.ipynb, executed top to bottom by a real Jupyter kernel (nbclient) on the CPU
with tiny settings put after its `parameters` cell (as papermill does): it paints a dataset,
trains, shows the fakes grid and exports a model that loads; run again with more kimg it
resumes the run on its storage instead of starting over; with a lineage recipe it grows the
model through the recipe's stages and exports the last."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.training.training_runs import BATCH, TICK_KIMG, TINY_SETS, tiny_lineage_recipe
from training import run_state
from training.checkpoint import load_generator

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "train.ipynb"
REPO = NOTEBOOK.parents[1]


def tiny_parameters(storage: Path, *, ticks: int) -> dict:
    sets = [arg for item in TINY_SETS for arg in ("--set", item)]
    return {"INSTALL": False, "STORAGE": str(storage), "DATASET": "synth", "SYNTH_COUNT": 16,
            "SYNTH_RES": 24, "CONFIG": "cpu", "KIMG": TICK_KIMG * ticks, "TICK_KIMG": TICK_KIMG,
            "SNAP": 1, "TRAIN_ARGS": ["--batch", str(BATCH), *sets], "SAMPLE_SEEDS": "0-3"}


def with_parameters(notebook, parameters: dict):
    """A copy with a cell setting ``parameters`` right after the one tagged `parameters`."""
    notebook = nbformat.from_dict(notebook)
    index = next(i for i, cell in enumerate(notebook.cells)
                 if "parameters" in cell.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(
        source, metadata={"tags": ["injected-parameters"]}))
    return notebook


def execute(notebook, workdir: Path):
    """Run every cell in a fresh kernel in ``workdir``; a cell that raises fails the test."""
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute(env={**os.environ, "PYTHONPATH": pythonpath})
    return notebook


def output_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs)


def cell_running(notebook, text: str):
    return next(cell for cell in notebook.cells if cell.cell_type == "code" and text in cell.source)


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_the_notebook_is_valid_clean_and_parameterised(notebook):
    nbformat.validate(notebook)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and "INSTALL = True" in tagged[0].source
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.slow
def test_runs_top_to_bottom_on_a_cpu_and_resumes_when_run_again(notebook, tmp_path):
    storage = tmp_path / "storage"
    first = execute(with_parameters(notebook, tiny_parameters(storage, ticks=1)), tmp_path)

    install = output_text(cell_running(first, "nvidia-smi"))
    if shutil.which("nvidia-smi") is None:  # never a CUDA torch on a machine without a GPU
        assert "torch>=2.3 --index-url https://download.pytorch.org/whl/cpu" in install
    assert "tick 1" in output_text(cell_running(first, '"train"'))
    fakes = cell_running(first, "fakes-*.png")
    assert any("image/png" in output.get("data", {}) for output in fakes.outputs)
    model = load_generator(storage / "export" / "abstract.safetensors")
    assert model.config.img_resolution == 16
    assert (storage / "export" / "abstract.onnx").stat().st_size > 0
    assert (storage / "export" / "abstract-samples" / "grid.png").is_file()

    second = execute(with_parameters(notebook, tiny_parameters(storage, ticks=2)), tmp_path)
    assert "dataset already on storage" in output_text(cell_running(second, "synth-dataset"))
    assert "resumed from" in output_text(cell_running(second, '"train"'))
    newest = run_state.load_state(run_state.list_states(storage / "runs" / "abstract")[-1])
    assert newest.counters.cur_tick == 2


@pytest.mark.slow
def test_a_lineage_recipe_grows_the_model_and_the_last_stage_is_exported(notebook, tmp_path):
    storage = tmp_path / "storage"
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(tiny_lineage_recipe(), encoding="utf-8")
    parameters = {**tiny_parameters(storage, ticks=1), "LINEAGE": str(recipe)}
    done = execute(with_parameters(notebook, parameters), tmp_path)

    trained = output_text(cell_running(done, '"train-lineage"'))
    assert "stage big grows from" in trained and "last stage:" in trained
    assert run_state.list_states(storage / "runs" / "abstract" / "small")
    model = load_generator(storage / "export" / "abstract.safetensors")
    assert model.config.img_resolution == 32  # the big stage, grown from the small one
