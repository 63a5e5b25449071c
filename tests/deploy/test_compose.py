"""compose.yaml, without a Docker engine: valid against the Compose Specification's JSON schema
(the copy check-jsonschema ships; nothing is downloaded), and by our rules: Redis, the web
server and one worker per GPU, each worker with its own GPU (compute, EGL, NVENC), all on one
queue and one studio folder; the commands are ones our CLI accepts. `docker compose config`
runs too where the docker client has its compose plugin."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

ruamel_yaml = pytest.importorskip("ruamel.yaml")
pytest.importorskip("check_jsonschema")

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose.yaml"


@pytest.fixture(scope="module")
def services() -> dict:
    return ruamel_yaml.YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))["services"]


def workers(services: dict) -> dict:
    return {name: service for name, service in services.items() if name.startswith("worker")}


def interpolated(args: list[str]) -> list[str]:
    """Compose's ${VAR:-default} as the default, ${VAR:?error} as a stand-in value."""
    def value(match: re.Match) -> str:
        return match.group(3) if match.group(2) == ":-" else f"<{match.group(1)}>"
    return [re.sub(r"\$\{(\w+)(:[-?])([^}]*)\}", value, arg) for arg in args]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_valid_against_the_compose_specification():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_misspelt_key(tmp_path):
    bad = tmp_path / "compose.yaml"
    bad.write_text(COMPOSE.read_text(encoding="utf-8").replace("stop_grace_period:",
                                                               "stop_grace_perod:"))
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.compose-spec", str(bad)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and "stop_grace_perod" in result.stdout


def test_docker_compose_config_accepts_it(tmp_path):
    docker = shutil.which("docker")
    has_plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True,
                                           timeout=30).returncode == 0
    if not has_plugin:
        pytest.skip("no `docker compose` here (the docker client lacks its compose plugin)")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "GANSMANIA_TOKEN": "test-token"})
    assert result.returncode == 0, result.stderr


def test_redis_web_and_one_worker_per_gpu(services):
    assert {"redis", "web"} <= services.keys() and len(workers(services)) >= 2
    gpus = []
    for name, service in workers(services).items():
        devices = service["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1 and len(devices[0]["device_ids"]) == 1, name
        assert devices[0]["driver"] == "nvidia"
        assert {"gpu", "compute", "graphics", "video"} <= set(devices[0]["capabilities"]), name
        gpus.append(devices[0]["device_ids"][0])
        # the container sees only its reserved GPU, as GPU 0
        assert option(service["command"], "--gpus") == "0", name
    assert len(set(gpus)) == len(gpus), f"two workers on one GPU: {gpus}"
    assert "deploy" not in services["web"]  # the web server needs no GPU


def test_one_queue_one_studio_folder_and_health_checks(services):
    broker = option(interpolated(services["web"]["command"]), "--broker")
    assert broker == "redis://redis:6379/0"
    data = option(services["web"]["command"], "--data")
    for name, service in [("web", services["web"]), *workers(services).items()]:
        command = interpolated(service["command"])
        assert option(command, "--broker") == broker and option(command, "--data") == data, name
        assert f"studio:{data}" in service["volumes"], name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
    assert "healthcheck" in services["web"] and "healthcheck" in services["redis"]
    for service in services.values():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), image


def test_the_commands_are_accepted_by_the_cli(services):
    from visualizer.cli import cli

    for name, service in [("web", services["web"]), *workers(services).items()]:
        subcommand, *args = interpolated(service["command"])
        command = cli.commands[subcommand]
        known = {opt for param in command.params for opt in param.opts}
        missing = [arg for arg in args if arg.startswith("--") and arg not in known]
        if missing and set(missing) <= {"--broker", "--gpus"}:
            pytest.skip(f"this CLI has no {' '.join(missing)} yet (the Redis job broker adds them)")
        try:
            command.make_context(subcommand, list(args))
        except click.ClickException as exc:
            pytest.fail(f"{name}: gansmania {' '.join(service['command'])}: {exc.format_message()}")


def test_the_image_builds_from_the_repository_with_the_deploy_dockerfile():
    """The compose file lives in deploy/; its build context is the repository (the Dockerfile
    copies the packages, and .dockerignore sits at the context's root)."""
    document = ruamel_yaml.YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    build = document["x-gansmania"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == REPO
    assert (context / build["dockerfile"]).resolve() == REPO / "deploy" / "Dockerfile"
    assert (context / ".dockerignore").is_file()
